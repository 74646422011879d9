package cli

// A fast path for decoding an import's lines (issue 19 goal 4, branch
// writes17): the import decodes its whole file before it sends anything,
// and the server and the database wait for it. encoding/json takes
// ≈ 7 µs a line of the peers' load; most lines are one flat object of
// plain ASCII strings, which decodeFast reads without reflection. It
// accepts only input whose decoding is unambiguous — known keys spelled
// exactly, each once, string values without escapes or non-ASCII bytes,
// "actions" an array of such strings, "scope" an object of them — and
// leaves everything else to encoding/json, so that what it decodes is
// what encoding/json would: TestDecodeFast, FuzzReadImportAsSerial.

// decodeFast decodes line, a trimmed line of an import, into l (zero)
// and reports whether it did; on false l may be partly set and the caller
// decodes the line with encoding/json into a fresh value.
func decodeFast(line []byte, l *importLine) bool {
	p := fastParser{b: line}
	if !p.eat('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		p.space()
		if p.eat('}') {
			break
		}
		if !first && !(p.eat(',') && p.spaceThen()) {
			return false
		}
		key, ok := p.str()
		if !ok || !p.colon() {
			return false
		}
		bit, dst := l.field(key)
		if bit == 0 || seen&bit != 0 {
			return false // unknown, another spelling, or twice: encoding/json decides
		}
		seen |= bit
		switch {
		case dst != nil:
			s, ok := p.str()
			if !ok {
				return false
			}
			*dst = string(s)
		case string(key) == "actions":
			a, ok := p.strs()
			if !ok {
				return false
			}
			l.Actions = a
		case string(key) == "scope":
			if !p.scope(l) {
				return false
			}
		}
	}
	p.space()
	return seen != 0 && p.i == len(p.b)
}

// field gives a key's bit and, for a string field, where its value goes.
func (l *importLine) field(key []byte) (uint32, *string) {
	switch string(key) {
	case "org":
		return 1 << 0, &l.Org
	case "op":
		return 1 << 1, &l.Op
	case "namespace":
		return 1 << 2, &l.Namespace
	case "type":
		return 1 << 3, &l.Type
	case "id":
		return 1 << 4, &l.ID
	case "user":
		return 1 << 5, &l.User
	case "email":
		return 1 << 6, &l.Email
	case "display_name":
		return 1 << 7, &l.DisplayName
	case "role":
		return 1 << 8, &l.Role
	case "principal":
		return 1 << 9, &l.Principal
	case "condition":
		return 1 << 10, &l.Condition
	case "binding":
		return 1 << 11, &l.Binding
	case "expires_in":
		return 1 << 12, &l.ExpiresIn
	case "actions":
		return 1 << 13, nil
	case "scope":
		return 1 << 14, nil
	}
	return 0, nil
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\r' || p.b[p.i] == '\n') {
		p.i++
	}
}

// spaceThen skips white space and reports true (for use in conditions).
func (p *fastParser) spaceThen() bool { p.space(); return true }

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) colon() bool {
	p.space()
	ok := p.eat(':')
	p.space()
	return ok
}

// str reads a string of printable ASCII without escapes.
func (p *fastParser) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, false
		}
	}
	return nil, false
}

// strs reads an array of str (an empty one is empty, not nil, as
// encoding/json makes it).
func (p *fastParser) strs() ([]string, bool) {
	if !p.eat('[') {
		return nil, false
	}
	out := []string{}
	for first := true; ; first = false {
		p.space()
		if p.eat(']') {
			return out, true
		}
		if !first && !(p.eat(',') && p.spaceThen()) {
			return nil, false
		}
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, string(s))
	}
}

// scope reads a scope object of namespace, type and id, each at most once.
func (p *fastParser) scope(l *importLine) bool {
	if !p.eat('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		p.space()
		if p.eat('}') {
			return true
		}
		if !first && !(p.eat(',') && p.spaceThen()) {
			return false
		}
		key, ok := p.str()
		if !ok || !p.colon() {
			return false
		}
		var bit uint8
		var dst *string
		switch string(key) {
		case "namespace":
			bit, dst = 1, &l.Scope.Namespace
		case "type":
			bit, dst = 2, &l.Scope.Type
		case "id":
			bit, dst = 4, &l.Scope.ID
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		s, ok := p.str()
		if !ok {
			return false
		}
		*dst = string(s)
	}
}
