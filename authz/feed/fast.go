package feed

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// Hand-written paths for the two lines that make up nearly all of a large
// snapshot: binding.put and a principal.put of an id alone. A replica's
// cold start of 1,000,000 bindings is mostly these lines; encoding/json
// costs ~1.5 µs a line, these a few hundred ns. They produce and accept
// exactly what encoding/json does: the encoder writes the same bytes as
// json.Marshal (TestFastEncodeMatchesJSON) and the decoder either gives
// the value json.Unmarshal would or declines, and the line is decoded by
// encoding/json (FuzzFastDecode compares the two on every input).

const (
	bindingPrefix   = `{"op":"binding.put","binding":{`
	principalPrefix = `{"op":"principal.put","principal":{`
)

// plain reports whether s needs no escaping in JSON (and is valid UTF-8,
// which encoding/json would otherwise rewrite).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

func appendString(buf []byte, s string) []byte {
	if plain(s) {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
	var bb bytes.Buffer
	enc := json.NewEncoder(&bb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(buf, bytes.TrimSuffix(bb.Bytes(), []byte("\n"))...)
}

// appendBindingLine appends the binding.put line of b (with its newline).
func appendBindingLine(buf []byte, b *authz.Binding) []byte {
	buf = append(buf, bindingPrefix...)
	buf = append(buf, `"id":`...)
	buf = appendString(buf, b.ID)
	buf = append(buf, `,"principal":`...)
	buf = appendString(buf, b.Principal)
	if b.Role != "" {
		buf = append(buf, `,"role":`...)
		buf = appendString(buf, b.Role)
	}
	if len(b.Actions) > 0 {
		buf = append(buf, `,"actions":[`...)
		for i, a := range b.Actions {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, a)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, `,"scope":{`...)
	sep := false
	for _, f := range [3]struct{ k, v string }{{"namespace", b.Scope.Namespace}, {"type", b.Scope.Type}, {"id", b.Scope.ID}} {
		if f.v == "" {
			continue
		}
		if sep {
			buf = append(buf, ',')
		}
		sep = true
		buf = append(buf, '"')
		buf = append(buf, f.k...)
		buf = append(buf, `":`...)
		buf = appendString(buf, f.v)
	}
	buf = append(buf, '}')
	if b.Condition != "" {
		buf = append(buf, `,"condition":`...)
		buf = appendString(buf, b.Condition)
	}
	if !b.ExpiresAt.IsZero() {
		t, err := b.ExpiresAt.MarshalJSON()
		if err != nil {
			t = []byte(`null`)
		}
		buf = append(buf, `,"expires_at":`...)
		buf = append(buf, t...)
	}
	return append(buf, "}}\n"...)
}

// scanner reads the JSON the fast paths accept: strings without escapes,
// arrays of them, and flat objects of them. Anything else declines.
type scanner struct {
	b      []byte
	i      int
	intern map[string]string // low-cardinality strings, shared
}

func (p *scanner) next(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// raw reads a string without escapes and returns its bytes.
func (p *scanner) raw() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	start := p.i
	hi := false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if hi && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			hi = true
		}
		p.i++
	}
	return nil, false
}

func (p *scanner) str() (string, bool) {
	s, ok := p.raw()
	return string(s), ok
}

// shared is str for strings that repeat (roles, scopes, principals):
// one copy each, as the engine keeps what it is given.
func (p *scanner) shared() (string, bool) {
	s, ok := p.raw()
	if !ok {
		return "", false
	}
	if v, found := p.intern[string(s)]; found {
		return v, true
	}
	v := string(s)
	if len(p.intern) < 1<<20 {
		p.intern[v] = v
	}
	return v, true
}

func (p *scanner) strs() ([]string, bool) {
	if !p.next('[') {
		return nil, false
	}
	out := []string{}
	if p.next(']') {
		return out, true
	}
	for {
		s, ok := p.shared()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if p.next(']') {
			return out, true
		}
		if !p.next(',') {
			return nil, false
		}
	}
}

// object reads a flat object, calling field for each member; field reads
// the value and reports success.
func (p *scanner) object(field func(key []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		k, ok := p.raw()
		if !ok || !p.next(':') || !field(k) {
			return false
		}
		if p.next('}') {
			return true
		}
		if !p.next(',') {
			return false
		}
	}
}

// fastBinding decodes a binding.put line, or declines (false).
func fastBinding(line []byte, intern map[string]string, out *authz.Binding) bool {
	if !bytes.HasPrefix(line, []byte(bindingPrefix)) {
		return false
	}
	p := &scanner{b: line, i: len(bindingPrefix) - 1, intern: intern}
	ok := p.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "id":
			out.ID, ok = p.str()
		case "principal":
			out.Principal, ok = p.shared()
		case "role":
			out.Role, ok = p.shared()
		case "condition":
			out.Condition, ok = p.shared()
		case "actions":
			out.Actions, ok = p.strs()
		case "scope":
			ok = p.object(func(k []byte) bool {
				var ok bool
				switch string(k) {
				case "namespace":
					out.Scope.Namespace, ok = p.shared()
				case "type":
					out.Scope.Type, ok = p.shared()
				case "id":
					out.Scope.ID, ok = p.str()
				}
				return ok
			})
		case "expires_at":
			// Exactly as encoding/json: time.Time's own UnmarshalJSON.
			start := p.i
			if _, ok = p.raw(); ok {
				ok = out.ExpiresAt.UnmarshalJSON(p.b[start:p.i]) == nil
			}
		}
		return ok
	})
	return ok && p.next('}') && p.i == len(line)
}

// fastPrincipal decodes a principal.put line of an id alone, or declines.
func fastPrincipal(line []byte, out *authz.Principal) bool {
	if !bytes.HasPrefix(line, []byte(principalPrefix)) {
		return false
	}
	p := &scanner{b: line, i: len(principalPrefix) - 1}
	ok := p.object(func(k []byte) bool {
		if string(k) != "id" {
			return false
		}
		var ok bool
		out.ID, ok = p.str()
		return ok
	})
	return ok && p.next('}') && p.i == len(line)
}
