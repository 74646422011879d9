package secretref

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Secret names in the audit log. Entries are stored and hashed in full,
// names included; a reader without secrets:list in a namespace sees the
// entries that concern that namespace's secrets with the names taken out
// (seed 002: operators and viewers "don't know which API keys are being
// used"), exactly as it gets ErrNotFound for those secrets and sees specs
// without their "secrets" member. The directory applies an AuditView to
// every entry it answers; this file knows where names are:
//
//   - a target "<ns>/secrets/<NAME>" (the vault's operations and refusals,
//     and "resource/<ns>/secrets/<ID>" decisions) becomes
//     "<ns>/secrets/[redacted]";
//   - a vault entry (action "secrets.*") of such a namespace: the names in
//     its details ("name", "secrets") become "[redacted]", and its before
//     and after objects (the secret's metadata, description included) are
//     dropped;
//   - a resource object (before/after of a resource write) of such a
//     namespace loses its spec's "secrets" member, as RedactSpec does; a
//     resource too large to be kept verbatim loses its digest (a SHA-256
//     of a spec commits to the names in it);
//   - an error message naming `secret "<NAME>"` in such a namespace, or
//     in no namespace the entry names, has the name replaced;
//   - finally every occurrence of every name found above, anywhere in the
//     entry, is replaced (a safety net for shapes not listed here).
//
// Everything else (seq, time, action, actor, result, versions, counts)
// is kept. A reader holding secrets:list at org scope sees the log as
// stored; any other reader's view is incomplete (Missing), and the
// directory also withholds hashes and checkpoints from it.

// AuditView is one reader's view of an org's audit log. It is not safe
// for concurrent use (it caches answers for one read).
type AuditView struct {
	lists    func(ns string) bool
	complete bool            // secrets:list at org scope
	cache    map[string]bool // namespace → secrets:list there
}

// NewAuditView returns the view of a reader for whom lists(ns) reports
// whether it holds secrets:list in namespace ns, and lists("") whether it
// holds it at org scope. A nil lists is a reader that lists nothing.
func NewAuditView(lists func(ns string) bool) *AuditView {
	if lists == nil {
		lists = func(string) bool { return false }
	}
	return &AuditView{lists: lists, complete: lists(""), cache: map[string]bool{}}
}

// Missing is "" when the reader sees every entry of the log as stored
// (then Redact never changes anything); else the permission, at org
// scope, the reader lacks for that ("secrets:list").
func (w *AuditView) Missing() string {
	if w.complete {
		return ""
	}
	return PermList.String()
}

// mayList reports whether the reader holds secrets:list in ns; an unknown
// or malformed namespace is never listable.
func (w *AuditView) mayList(ns string) bool {
	if w.complete {
		return true
	}
	if !ident.IsSlug(ns) {
		return false
	}
	ok, seen := w.cache[ns]
	if !seen {
		ok = w.lists(ns)
		w.cache[ns] = ok
	}
	return ok
}

// Hides reports whether f names something the reader may not see: a
// target naming a secret (of any name, existing or not) in a namespace
// where the reader lacks secrets:list. Entries about such secrets show
// the reader only "<ns>/secrets/[redacted]", which no stored target
// equals, so answering nothing is what filtering the redacted view would
// answer, whether or not the secret exists. The other filters (actor,
// action, result, time) never name a secret.
func (w *AuditView) Hides(f store.AuditFilter) bool {
	if w.complete {
		return false
	}
	ns, _, ok := secretInTarget(f.Target)
	return ok && !w.mayList(ns)
}

// Redact rewrites e as the reader may see it and reports whether it
// changed anything.
func (w *AuditView) Redact(e *audit.Entry) bool {
	if w.complete {
		return false
	}
	r := &redaction{names: map[string]bool{}}
	ns := EntryNamespace(e)
	hidden := !w.mayList(ns)

	if tns, name, ok := secretInTarget(e.Target); ok && !w.mayList(tns) {
		r.names[name] = true
		e.Target = e.Target[:len(e.Target)-len(name)] + Redacted
		r.changed = true
	}
	if strings.HasPrefix(e.Action, ActionPrefix) && hidden {
		r.collectDetails(e.Details)
		for _, doc := range []json.RawMessage{e.Before, e.After} {
			r.collectMember(doc, "name")
		}
		if e.Before != nil || e.After != nil {
			e.Before, e.After = nil, nil
			r.changed = true
		}
	}
	e.Before = r.resourceObject(w, e.Before, ns, hidden, strings.HasPrefix(e.Target, "resource/"))
	e.After = r.resourceObject(w, e.After, ns, hidden, strings.HasPrefix(e.Target, "resource/"))
	for _, m := range secretInMessage.FindAllStringSubmatch(e.Message, -1) {
		mns := m[2]
		if mns == "" {
			mns = ns
		}
		if !w.mayList(mns) {
			r.names[m[1]] = true
		}
	}
	if len(r.names) > 0 {
		e.Target = r.scrub(e.Target)
		e.Message = r.scrub(e.Message)
		e.Details = r.scrubJSON(e.Details)
		e.Before = r.scrubJSON(e.Before)
		e.After = r.scrubJSON(e.After)
	}
	return r.changed
}

// secretInMessage finds `secret "<NAME>"`, optionally followed by
// ` in namespace "<ns>"`, as the vault's and the directory's messages
// write them.
var secretInMessage = regexp.MustCompile(`secret "([^"\\]+)"(?: in namespace "([^"\\]*)")?`)

// secretInTarget parses a target ending in "<ns>/secrets/<name>": the
// vault's "<ns>/secrets/<NAME>", a decision's "resource/<ns>/secrets/<id>",
// a refusal's "scope/<ns>/secrets/<id>".
func secretInTarget(t string) (ns, name string, ok bool) {
	segs := strings.Split(t, "/")
	n := len(segs)
	if n < 3 || segs[n-2] != "secrets" || segs[n-1] == "" {
		return "", "", false
	}
	return segs[n-3], segs[n-1], true
}

// EntryNamespace is the namespace an entry is about, or "" for an entry
// about the org as a whole (or whose namespace cannot be told, which
// readers treat as org-level: fail closed). It is the one reading of an
// entry's namespace: the directory decides with it which entries a reader
// confined to namespaces reads, and an AuditView which namespace's
// secrets:list an entry's names need. From the target:
//
//   - "<ns>/secrets/<NAME>" (the vault's operations and refusals), and
//     "resource/<ns>/secrets/<ID>", "scope/<ns>/secrets/<ID>";
//   - "resource/<ns>/<type>[/<id>]" (a resource write, a decision);
//   - "scope/ns/<ns>" and "scope/<ns>/<type>/<id>" (a refusal there);
//   - "namespace/<ns>" (the namespace's creation or deletion);
//   - "<ns>/<type>/<id>" of the vault's "secrets.*" entries (the resource
//     of a run token);
//   - "binding/<id>": the scope of the binding in the entry's after (or
//     before) object; an org-scope binding is org-level.
//
// A namespace that is not a well-formed slug is "".
func EntryNamespace(e *audit.Entry) string {
	ns := ""
	segs := strings.Split(e.Target, "/")
	if tns, _, ok := secretInTarget(e.Target); ok {
		ns = tns
	} else {
		switch {
		case segs[0] == "resource" && len(segs) >= 3:
			ns = segs[1]
		case segs[0] == "scope" && len(segs) == 3 && segs[1] == "ns":
			ns = segs[2]
		case segs[0] == "scope" && len(segs) == 4:
			ns = segs[1]
		case segs[0] == "namespace" && len(segs) == 2:
			ns = segs[1]
		case strings.HasPrefix(e.Action, ActionPrefix) && len(segs) == 3:
			ns = segs[0]
		case segs[0] == "binding" && len(segs) == 2:
			obj := e.After
			if len(obj) == 0 {
				obj = e.Before
			}
			var b struct {
				Scope struct {
					Namespace string `json:"namespace"`
				} `json:"scope"`
			}
			if json.Unmarshal(obj, &b) == nil {
				ns = b.Scope.Namespace
			}
		}
	}
	if !ident.IsSlug(ns) {
		return ""
	}
	return ns
}

// redaction collects the names found in one entry.
type redaction struct {
	names   map[string]bool
	changed bool
}

// collectDetails collects a vault entry's "name" and "secrets" (names, or
// objects with a name).
func (r *redaction) collectDetails(doc json.RawMessage) {
	r.collectMember(doc, "name")
	raw, ok := member(doc, "secrets")
	if !ok {
		return
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return
	}
	for _, it := range list {
		var s string
		if json.Unmarshal(it, &s) == nil {
			r.names[s] = true
			continue
		}
		r.collectMember(it, "name")
	}
}

// collectMember collects a string member of an object.
func (r *redaction) collectMember(doc json.RawMessage, name string) {
	raw, ok := member(doc, name)
	if !ok {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		r.names[s] = true
	}
}

// resourceObject redacts a resource's before or after object: without
// secrets:list in the resource's namespace (its "namespace" member, else
// the entry's), the spec's secret references go. A digest kept instead of
// a large object goes too when the entry's target is a resource of a
// hidden namespace.
func (r *redaction) resourceObject(w *AuditView, doc json.RawMessage, ns string, hidden, resourceTarget bool) json.RawMessage {
	if len(doc) == 0 {
		return doc
	}
	if sum, ok := member(doc, "sha256"); ok && resourceTarget && hidden {
		if _, isBytes := member(doc, "bytes"); isBytes && !bytes.Equal(sum, []byte(`"`+Redacted+`"`)) {
			var m map[string]json.RawMessage
			if json.Unmarshal(doc, &m) == nil {
				m["sha256"] = json.RawMessage(`"` + Redacted + `"`)
				if out, err := json.Marshal(m); err == nil {
					r.changed = true
					return out
				}
			}
		}
		return doc
	}
	spec, ok := member(doc, "spec")
	if !ok || !bytes.Contains(spec, []byte(`"`+Member+`"`)) {
		return doc
	}
	var owner struct {
		Namespace string `json:"namespace"`
	}
	if json.Unmarshal(doc, &owner) == nil && owner.Namespace != "" {
		ns = owner.Namespace
	}
	if w.mayList(ns) {
		return doc
	}
	if raw, ok := member(spec, Member); ok {
		var names []string
		_ = json.Unmarshal(raw, &names) // not names: scrubbed by removal only
		for _, n := range names {
			if n != "" {
				r.names[n] = true
			}
		}
	}
	out := redactDoc(doc)
	if !bytes.Equal(out, doc) {
		r.changed = true
	}
	return out
}

// scrub replaces every whole-word occurrence of a collected name in s (a
// name is [A-Z_][A-Z0-9_]*: an occurrence is not preceded or followed by
// a letter, digit or underscore).
func (r *redaction) scrub(s string) string {
	for name := range r.names {
		if out := replaceWord(s, name, Redacted); out != s {
			s = out
			r.changed = true
		}
	}
	return s
}

// scrubJSON scrubs a JSON document; if that left it invalid (a name
// outside a string), the whole document is replaced by "[redacted]".
func (r *redaction) scrubJSON(doc json.RawMessage) json.RawMessage {
	if len(doc) == 0 {
		return doc
	}
	out := r.scrub(string(doc))
	if out == string(doc) {
		return doc
	}
	if !json.Valid([]byte(out)) {
		return json.RawMessage(`"` + Redacted + `"`)
	}
	return json.RawMessage(out)
}

func wordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// replaceWord replaces the whole-word occurrences of word in s.
func replaceWord(s, word, with string) string {
	if word == "" {
		return s
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(s[i:], word)
		if j < 0 {
			break
		}
		j += i
		end := j + len(word)
		if (j == 0 || !wordByte(s[j-1])) && (end == len(s) || !wordByte(s[end])) {
			b.WriteString(s[i:j])
			b.WriteString(with)
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	if i == 0 {
		return s
	}
	b.WriteString(s[i:])
	return b.String()
}
