package sqlcore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Identifier shapes. Every key the store accepts is checked here before any
// statement runs; a violation is store.ErrInvalid naming the field.

// slug: org ids, namespaces, team slugs. Lower case, digits, '-', '_'.
func validSlug(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// name: agent and service names, role names, resource types, actions,
// condition names. A letter, then letters, digits, '_', '-', '.'.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

// key: user ids, binding ids. A letter or digit, then letters, digits and
// ._@+- (so emails and UUIDs fit).
func validKey(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '@' || c == '+' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// text: display names, org names: printable UTF-8 up to max bytes.
func validText(s string, maxLen int) bool {
	if len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// principal ids: "<kind>:<name>" with kind user, team, agent or service.
func splitPrincipal(p string) (kind, name string, ok bool) {
	kind, name, found := strings.Cut(p, ":")
	if !found {
		return "", "", false
	}
	switch kind {
	case authz.KindUser:
		return kind, name, validKey(name)
	case authz.KindTeam:
		return kind, name, validSlug(name)
	case authz.KindAgent, authz.KindService:
		return kind, name, validName(name)
	}
	return "", "", false
}

func validEmail(s string) bool {
	if s == "" {
		return true
	}
	at := strings.IndexByte(s, '@')
	return len(s) <= 254 && at > 0 && at < len(s)-1 && validText(s, 254) && !strings.ContainsAny(s, " \t")
}

func invalid(op, format string, args ...any) error {
	return store.Errorf(store.ErrInvalid, op, fmt.Sprintf(format, args...), nil)
}

// checks collects the first failed check of an input.
type checks struct {
	op  string
	err error
}

func (c *checks) need(ok bool, format string, args ...any) {
	if c.err == nil && !ok {
		c.err = invalid(c.op, format, args...)
	}
}

// fail is need(false, …): for a check whose message arguments are boxed
// only once it has failed.
func (c *checks) fail(format string, args ...any) { c.need(false, format, args...) }

// The checks below box their arguments for the message only when the check
// fails: a batch of 1,000 changes runs them per change (issue 19).

func (c *checks) org(org string) {
	if !validSlug(org) {
		c.fail("org id %q is not a slug (a-z, 0-9, '-', '_'; at most 63 bytes)", org)
	}
}

func (c *checks) ref(r authz.ResourceRef) {
	if !validSlug(r.Namespace) {
		c.fail("namespace %q is not a slug", r.Namespace)
	}
	if !validName(r.Type) {
		c.fail("resource type %q is not a name", r.Type)
	}
	if !ident.IsResourceID(r.ID) {
		c.fail("resource id %q is malformed (1-256 printable bytes, no '/')", r.ID)
	}
}

// encodeObject marshals a map for a JSON column: "{}" for nil.
func encodeObject[M ~map[string]V, V any](c *checks, field string, m M) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		c.fail("%s are not JSON: %v", field, err)
		return ""
	}
	c.need(len(b) <= store.MaxJSONBytes, "%s are larger than %d bytes", field, store.MaxJSONBytes)
	// PostgreSQL's jsonb cannot hold U+0000; refuse it on every backend.
	c.need(!bytes.Contains(b, []byte(`\u0000`)), "%s contain U+0000", field)
	return string(b)
}

// labels: keys and values are printable text up to 256 bytes, keys
// non-empty.
func (c *checks) labels(m map[string]string) string {
	for k, v := range m {
		c.need(k != "" && validText(k, 256) && validText(v, 256), "label %q=%q is malformed", k, v)
	}
	return encodeObject(c, "labels", m)
}

func (c *checks) attributes(m map[string]any) string {
	for k := range m {
		c.need(k != "" && validText(k, 256), "attribute name %q is malformed", k)
	}
	return encodeObject(c, "attributes", m)
}

// spec compacts a spec for storage; nil or JSON null is "no spec".
func (c *checks) spec(raw json.RawMessage) (s string, null bool) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return "", true
	}
	c.need(len(raw) <= store.MaxSpecBytes, "spec is larger than %d bytes", store.MaxSpecBytes)
	if !utf8.Valid(trimmed) || !json.Valid(trimmed) {
		c.fail("spec is not valid JSON")
		return "", true
	}
	var b bytes.Buffer
	if err := json.Compact(&b, trimmed); err != nil {
		c.fail("spec is not valid JSON")
		return "", true
	}
	return b.String(), false
}

// unstorable reports whether some string argument can never match a stored
// value (invalid UTF-8 or NUL, which every write refuses and PostgreSQL
// cannot even compare): such a read finds nothing instead of failing.
func unstorable(args []any) bool {
	for _, a := range args {
		if s, ok := a.(string); ok && (!utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0) {
			return true
		}
	}
	return false
}
