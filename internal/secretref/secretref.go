// Package secretref is what Gatehouse knows about secret references
// outside the vault: how a resource's spec names secrets, who may
// reference a secret, and how secret names are hidden from a principal
// who may not see them (in specs, version diffs and the audit log). The
// directory applies it on every resource write and read and on every
// audit read, itself, with no hook to install: a directory cannot be
// built without it. The vault uses the same parsing for run tokens.
//
// Invariants:
//
//   - A spec references secrets only through its top-level "secrets"
//     member, an array of secret names ([A-Z_][A-Z0-9_]*); they are
//     secrets of the resource's own namespace. Anything else in a spec
//     references nothing.
//   - Names are visible with secrets:list (PermList) in their namespace;
//     the caller decides that (with the decision engine) and this package
//     decides what such a principal sees: a spec without its "secrets"
//     member, a diff without the entries about it, audit entries with the
//     names replaced by Redacted (AuditView).
//   - A namespace that is malformed or unknown is never one whose names a
//     reader may see (fail closed).
//   - Nothing panics on any input, and nothing here reads secret values.
package secretref

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Member is the spec member that lists secret references:
//
//	{"steps": [...], "secrets": ["OPENAI_API_KEY", "DB_PASSWORD"]}
const Member = "secrets"

// CredentialMember is the spec member that says how one of the spec's
// referenced secrets is sent to an upstream (an MCP server's,
// docs/mcp.md): {"secret": "NAME", "header": ..., "format": ...}. It
// references nothing beyond "secrets" (which must list NAME), but it
// names a secret, so it is hidden with "secrets" from a reader who may
// not see secret names.
const CredentialMember = "credential"

// hidden are the members a reader without secrets:list does not see.
var hidden = []string{Member, CredentialMember}

func withoutHidden(doc json.RawMessage) json.RawMessage {
	for _, m := range hidden {
		doc = withoutMember(doc, m)
	}
	return doc
}

// Redacted replaces a secret's name in what a reader may not see.
const Redacted = "[redacted]"

// ActionPrefix starts the action of every entry the vault records for an
// org ("secrets.create", "secrets.run_token", ...).
const ActionPrefix = "secrets."

// PermList is the permission that shows the names of a namespace's
// secrets: without it in a namespace, a principal cannot learn which
// secrets exist there or which ones a spec references.
var PermList = policy.Permission{Resource: "secrets", Action: "list"}

// ErrInvalid is wrapped by every error about a malformed reference. It is
// a kind of errs.Invalid, so it is answered as any invalid input.
var ErrInvalid = errs.NewKind("invalid secret reference", errs.Invalid)

// InvalidError is a malformed secret name or "secrets" member. It wraps
// ErrInvalid.
type InvalidError struct {
	Field  string // "name" for a malformed name, "secrets" for the member
	Reason string // fixed text and the name, quoted and truncated
}

func (e *InvalidError) Error() string { return e.Reason }

// Unwrap returns ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// CheckName validates a secret name: an environment variable name,
// [A-Z_][A-Z0-9_]*, at most store.MaxSecretNameBytes. An *InvalidError
// otherwise.
func CheckName(name string) error {
	ok := len(name) > 0 && len(name) <= store.MaxSecretNameBytes
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9'
	}
	if !ok {
		return &InvalidError{Field: "name", Reason: fmt.Sprintf("secret name %.64q is not an environment variable name ([A-Z_][A-Z0-9_]*, at most %d bytes)",
			name, store.MaxSecretNameBytes)}
	}
	return nil
}

// CheckCredential checks a spec's top-level "credential" member against
// the names its "secrets" member references (names, from Names): absent
// or null, nothing to check; otherwise an object whose "secret" is one of
// names. A credential naming a secret that "secrets" does not list would
// have Gatehouse send a secret whose reference was never vetted (the
// writer's secrets:list and the secret's referable_by), so it is an
// *InvalidError (Field "credential").
func CheckCredential(spec json.RawMessage, names []string) error {
	raw, ok := member(spec, CredentialMember)
	if !ok {
		return nil
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil || c == nil {
		return &InvalidError{Field: CredentialMember, Reason: `"credential" must be an object naming one of the spec's "secrets"`}
	}
	var name string
	if err := json.Unmarshal(c["secret"], &name); err != nil || name == "" {
		return &InvalidError{Field: CredentialMember, Reason: `"credential" must name its secret in "secret"`}
	}
	if !slices.Contains(names, name) {
		return &InvalidError{Field: CredentialMember, Reason: fmt.Sprintf(`"credential" names secret %.64q, which the spec's "secrets" does not list`, name)}
	}
	return nil
}

// Names returns the sorted, unique secret names a spec references. A
// spec that is empty, null, not an object, or has no "secrets" member
// references none. An *InvalidError when "secrets" is not an array of
// secret names, or names more than store.MaxRunTokenSecrets.
func Names(spec json.RawMessage) ([]string, error) {
	raw, ok := member(spec, Member)
	if !ok {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, &InvalidError{Field: Member, Reason: `"secrets" must be an array of secret names`}
	}
	if len(names) > store.MaxRunTokenSecrets {
		return nil, &InvalidError{Field: Member, Reason: fmt.Sprintf(`"secrets" names more than %d secrets`, store.MaxRunTokenSecrets)}
	}
	for _, n := range names {
		if err := CheckName(n); err != nil {
			return nil, err
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// RedactSpec returns spec without its secret references, as a principal
// without secrets:list in the resource's namespace sees it (seed 002:
// operators and viewers "don't see secret names in chain configs").
// Anything that is not a JSON object is returned unchanged.
func RedactSpec(spec json.RawMessage) json.RawMessage {
	if spec == nil {
		return nil
	}
	return withoutHidden(spec)
}

// RedactDiff returns a version diff as a principal without secrets:list
// in the resource's namespace sees it: the entries about "secrets" (and
// "credential") are dropped, and whole specs or version documents in it
// are redacted.
func RedactDiff(d []store.DiffEntry) []store.DiffEntry {
	out := make([]store.DiffEntry, 0, len(d))
	for _, e := range d {
		switch {
		case aboutHidden(e.Path):
			continue
		case e.Path == "/spec":
			e.Old, e.New = withoutHidden(e.Old), withoutHidden(e.New)
		case e.Path == "":
			e.Old, e.New = redactDoc(e.Old), redactDoc(e.New)
		}
		out = append(out, e)
	}
	return out
}

func aboutHidden(path string) bool {
	for _, m := range hidden {
		at := "/spec/" + m
		if path == at || strings.HasPrefix(path, at+"/") {
			return true
		}
	}
	return false
}

// redactDoc removes spec.secrets (and spec.credential) from a whole
// version document.
func redactDoc(doc json.RawMessage) json.RawMessage {
	spec, ok := member(doc, "spec")
	if !ok {
		return doc
	}
	red := withoutHidden(spec)
	if bytes.Equal(red, spec) {
		return doc
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil
	}
	m["spec"] = red
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// member returns the raw value of a top-level member of a JSON object.
func member(doc json.RawMessage, name string) (json.RawMessage, bool) {
	d := bytes.TrimSpace(doc)
	if len(d) == 0 || d[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(d, &m); err != nil {
		return nil, false
	}
	raw, ok := m[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, false
	}
	return raw, true
}

// withoutMember returns a JSON object without one top-level member,
// keeping the other members in their order; anything that is not an
// object without errors is returned unchanged.
func withoutMember(doc json.RawMessage, name string) json.RawMessage {
	d := bytes.TrimSpace(doc)
	if len(d) == 0 || d[0] != '{' {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(d))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return doc
	}
	var out bytes.Buffer
	out.WriteByte('{')
	found, first := false, true
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return doc
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return doc
		}
		if key == name {
			found = true
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(key) // a string: cannot fail
		out.Write(kb)
		out.WriteByte(':')
		out.Write(val)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return doc
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return doc
	}
	if !found {
		return doc
	}
	out.WriteByte('}')
	return out.Bytes()
}
