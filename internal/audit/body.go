package audit

// The stored body without reflection (issue 19: a bulk write encodes one
// per change, and json.Marshal's reflection and its scanner's pass over
// every before/after payload were ~4 % of a bulk load's server CPU).
//
// appendBody writes exactly the bytes json.Marshal(body{…}) writes, or
// reports that it cannot vouch for them (ok false) and writes nothing
// the caller keeps; encodeBody then falls back to json.Marshal, which
// decides (and words any error) as before. It vouches only for what it
// fully checks:
//
//   - a string field made of printable ASCII other than '"', '\\', '<',
//     '>' and '&' (json.Marshal writes it between quotes unchanged);
//   - a raw JSON field (before, after, details) that is valid JSON
//     already in compact form, with no '<', '>', '&', U+2028 or U+2029
//     anywhere (json.Marshal's compaction, which escapes those, leaves
//     it unchanged) — checked by compactJSON, a validator that accepts
//     a subset of what encoding/json accepts (FuzzCompactJSON: whatever
//     it accepts, json.Valid accepts and json.Marshal copies verbatim).
//
// Everything else (whitespace, escapes, HTML characters, non-ASCII in a
// string field, nesting deeper than maxCompactDepth, invalid JSON) takes
// the json.Marshal path, unchanged.

// appendBody appends e's stored body to dst if it can vouch for it.
func appendBody(dst []byte, e *Entry) ([]byte, bool) {
	dst, _, ok := appendBodyContext(dst, e)
	return dst, ok
}

// appendBodyContext is appendBody, and also says how many of the bytes it
// appended are the body's request context (store.AuditRecord.ContextLen):
// '{', the members roles to request_id, and the ',' before the member
// that follows them; 0 when there is no context or nothing follows it.
func appendBodyContext(dst []byte, e *Entry) ([]byte, int, bool) {
	start := len(dst)
	dst = append(dst, '{')
	sep := false
	ctxEnd := 0 // the context's length, once known
	field := func(name string) {
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
	}
	if len(e.Actor.Roles) > 0 {
		field("roles")
		dst = append(dst, '[')
		for i, r := range e.Actor.Roles {
			if i > 0 {
				dst = append(dst, ',')
			}
			if !plainString(r) {
				return dst, 0, false
			}
			dst = appendQuoted(dst, r)
		}
		dst = append(dst, ']')
	}
	for _, f := range [...]struct{ name, v string }{
		{"key_id", e.Actor.KeyID}, {"session_id", e.Actor.SessionID}, {"client_addr", e.Actor.ClientAddr},
		{"request_id", e.Actor.RequestID}, {"message", e.Message},
	} {
		if f.name == "message" && sep {
			ctxEnd = len(dst) - start + 1 // the ',' the next member writes
		}
		if f.v == "" {
			continue
		}
		if !plainString(f.v) {
			return dst, 0, false
		}
		field(f.name)
		dst = appendQuoted(dst, f.v)
	}
	for _, f := range [...]struct {
		name string
		raw  []byte
	}{{"before", e.Before}, {"after", e.After}, {"details", e.Details}} {
		if len(f.raw) == 0 {
			continue
		}
		if !compactJSON(f.raw) {
			return dst, 0, false
		}
		field(f.name)
		dst = append(dst, f.raw...)
	}
	if start+ctxEnd >= len(dst) {
		ctxEnd = 0 // the context is the whole body: nothing to share it with
	}
	return append(dst, '}'), ctxEnd, true
}

func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainString reports whether json.Marshal writes s as '"' s '"'.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// maxCompactDepth bounds compactJSON's nesting (deeper values take the
// json.Marshal path).
const maxCompactDepth = 64

// compactJSON reports whether b is one JSON value, valid, with no
// whitespace outside strings and no byte that json.Marshal's compaction
// of a json.RawMessage would change ('<', '>', '&', U+2028, U+2029). A
// false answer means only "not vouched for".
func compactJSON(b []byte) bool {
	p := compactParser{b: b}
	return p.value(0) && p.i == len(b)
}

type compactParser struct {
	b []byte
	i int
}

func (p *compactParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *compactParser) value(depth int) bool {
	if depth > maxCompactDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '{':
		p.i++
		if p.peek() == '}' {
			p.i++
			return true
		}
		for {
			if p.peek() != '"' || !p.str() || p.peek() != ':' {
				return false
			}
			p.i++
			if !p.value(depth + 1) {
				return false
			}
			switch p.peek() {
			case ',':
				p.i++
			case '}':
				p.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		p.i++
		if p.peek() == ']' {
			p.i++
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return false
}

func (p *compactParser) literal(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// str consumes a string (p.b[p.i] is its opening quote). Bytes of 0x80
// and above pass as encoding/json passes them (it does not check UTF-8
// in a raw value), except the first byte of U+2028 and U+2029.
func (p *compactParser) str() bool {
	p.i++
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c == '\\':
			if p.i+1 >= len(p.b) {
				return false
			}
			switch p.b[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if len(p.b)-p.i < 6 {
					return false
				}
				for _, h := range p.b[p.i+2 : p.i+6] {
					if !isHex(h) {
						return false
					}
				}
				p.i += 6
			default:
				return false
			}
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			return false
		case c == 0xE2 && p.i+2 < len(p.b) && p.b[p.i+1] == 0x80 && p.b[p.i+2]&^1 == 0xA8:
			return false
		default:
			p.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *compactParser) number() bool {
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return false
	}
	if p.peek() == '.' {
		p.i++
		if !p.digits() {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

// digits consumes one or more digits.
func (p *compactParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
