package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/gatehouse-dev/gatehouse/api"
)

// The body of POST /v1/orgs/{org}/writes (up to 1,000 changes) without
// encoding/json's reflection, for the bulk load (issue 19 goal 4).
//
// Invariant: the result is exactly encoding/json's. The fast path takes
// only the shape a client's encoder sends — an object with "changes", an
// array of objects whose members are the string fields of api.WriteChange,
// "actions" (an array of strings) and "scope" (an object of strings), each
// named exactly as its tag, at most once, with plain strings (no escapes,
// valid UTF-8) — and anything else at all (other casings, duplicates,
// labels, attributes, spec, expiry fields, numbers, nulls, escapes, any
// error) makes it give up and decode the whole body with encoding/json as
// every other route does (decodeStd), errors included. So no error comes
// from the fast path, and a field path in an error is encoding/json's.
// Every string is copied (or interned from a copy): the changes outlive
// the request (the engine keeps principals and ids), and must not pin its
// body. FuzzWritesDecode checks the invariant on arbitrary input.

// writesDecoder is a WriteRequest (package api's) with the fast decoder.
type writesDecoder api.WriteRequest

func (r *writesDecoder) decodeFast(b []byte) error {
	intern := internPool.Get().(map[string]string)
	defer func() { clear(intern); internPool.Put(intern) }()
	// src stays empty: every string is a copy.
	s := &scanner{b: b, intern: intern}
	if changes, ok := s.writes(); ok {
		r.Changes = changes
		return nil
	}
	*r = writesDecoder{}
	return decodeStd(b, (*api.WriteRequest)(r))
}

// decodeStd is call.decode on a body already read (and bounded): null is
// refused, unknown fields too, and nothing may follow the value.
func decodeStd(b []byte, v any) error {
	br := bufio.NewReader(bytes.NewReader(b))
	if isNull(br) {
		return errNullBody()
	}
	if err := strictJSON(b); err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err, 0)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalidField("", "the request body has data after the JSON value")
	}
	return nil
}

// writes is the fast path: the changes, or false for anything it does not
// take (the caller then decodes with encoding/json).
func (s *scanner) writes() ([]api.WriteChange, bool) {
	if s.peek() != '{' {
		return nil, false
	}
	s.i++
	var changes []api.WriteChange
	if s.peek() == '}' {
		s.i++
		return nil, s.trailing()
	}
	seenChanges := false
	for {
		key, ok := s.plainKey()
		if !ok || string(key) != "changes" || seenChanges || s.peek() != ':' {
			return nil, false
		}
		seenChanges = true
		s.i++
		if s.peek() != '[' {
			return nil, false
		}
		s.i++
		// Sized once for the changes the body seems to hold (a change
		// is ~350 bytes: regrowing the slice was most of the bytes
		// allocated), never beyond what a batch may have.
		changes = make([]api.WriteChange, 0, min(bytes.Count(s.b[s.i:], []byte(`"op"`)), api.MaxWrites))
		if s.peek() == ']' {
			s.i++
		} else {
			for {
				changes = append(changes, api.WriteChange{})
				if !s.writeChange(&changes[len(changes)-1]) {
					return nil, false
				}
				more, err := s.more(']')
				if err != nil {
					return nil, false
				}
				if !more {
					break
				}
			}
		}
		more, err := s.more('}')
		if err != nil {
			return nil, false
		}
		if !more {
			return changes, s.trailing()
		}
	}
}

// trailing reports whether only whitespace follows.
func (s *scanner) trailing() bool {
	s.ws()
	return s.i == len(s.b)
}

// plainKey reads a member name without escapes or control bytes and
// returns its bytes (aliasing the body: compare, never keep); false for
// anything else. Invalid UTF-8 matches no member name, so it falls back.
func (s *scanner) plainKey() ([]byte, bool) {
	if s.peek() != '"' || !s.plainAhead() {
		return nil, false
	}
	start := s.i + 1
	end := start + bytes.IndexByte(s.b[start:], '"')
	s.i = end + 1
	return s.b[start:end], true
}

// plainStr reads a string without escapes or control bytes, valid UTF-8,
// copied; false for anything else (including a non-string).
func (s *scanner) plainStr() (string, bool) {
	if s.peek() != '"' || !s.plainAhead() {
		return "", false
	}
	v, err := s.str() // src is empty: a checked copy
	return v, err == nil
}

// plainInterned is plainStr through the intern table.
func (s *scanner) plainInterned() (string, bool) {
	if s.peek() != '"' || !s.plainAhead() {
		return "", false
	}
	v, err := s.internStr()
	return v, err == nil
}

// plainAhead reports whether the string at the cursor ends before any
// backslash or control byte (str then takes its fast path).
func (s *scanner) plainAhead() bool {
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			return true
		case c == '\\' || c < 0x20:
			return false
		}
	}
	return false
}

// Members of a WriteChange the fast path takes, as bits of a seen set.
const (
	wOp seen = 1 << iota
	wNamespace
	wType
	wID
	wUser
	wEmail
	wDisplayName
	wRole
	wPrincipal
	wCondition
	wBinding
	wActions
	wScope
)

// writeChange reads one change object; false for anything the fast path
// does not take.
func (s *scanner) writeChange(w *api.WriteChange) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	var m seen
	for {
		key, ok := s.plainKey()
		if !ok || s.peek() != ':' {
			return false
		}
		s.i++
		var bit seen
		var dst *string
		interned := false
		switch string(key) {
		case "op":
			bit, dst, interned = wOp, &w.Op, true
		case "namespace":
			bit, dst, interned = wNamespace, &w.Namespace, true
		case "type":
			bit, dst, interned = wType, &w.Type, true
		case "id":
			bit, dst = wID, &w.ID
		case "user":
			bit, dst = wUser, &w.User
		case "email":
			bit, dst = wEmail, &w.Email
		case "display_name":
			bit, dst = wDisplayName, &w.DisplayName
		case "role":
			bit, dst, interned = wRole, &w.Role, true
		case "principal":
			bit, dst = wPrincipal, &w.Principal
		case "condition":
			bit, dst = wCondition, &w.Condition
		case "binding":
			bit, dst = wBinding, &w.Binding
		case "actions":
			bit = wActions
		case "scope":
			bit = wScope
		default:
			return false
		}
		if m&bit != 0 {
			return false
		}
		m |= bit
		switch {
		case dst != nil:
			var v string
			if interned {
				v, ok = s.plainInterned()
			} else {
				v, ok = s.plainStr()
			}
			if !ok {
				return false
			}
			*dst = v
		case bit == wActions:
			if w.Actions, ok = s.strings(); !ok {
				return false
			}
		default:
			if w.Scope, ok = s.scope(); !ok {
				return false
			}
		}
		more, err := s.more('}')
		if err != nil {
			return false
		}
		if !more {
			return true
		}
	}
}

// strings reads an array of plain strings (interned); [] is an empty,
// non-nil slice, as encoding/json makes it.
func (s *scanner) strings() ([]string, bool) {
	if s.peek() != '[' {
		return nil, false
	}
	s.i++
	out := []string{}
	if s.peek() == ']' {
		s.i++
		return out, true
	}
	for {
		v, ok := s.plainInterned()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		more, err := s.more(']')
		if err != nil {
			return nil, false
		}
		if !more {
			return out, true
		}
	}
}

// scope reads a scope object of plain strings.
func (s *scanner) scope() (api.Scope, bool) {
	var sc api.Scope
	if s.peek() != '{' {
		return sc, false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return sc, true
	}
	var m seen
	for {
		key, ok := s.plainKey()
		if !ok || s.peek() != ':' {
			return sc, false
		}
		s.i++
		var bit seen
		var dst *string
		switch string(key) {
		case "namespace":
			bit, dst = 1, &sc.Namespace
		case "type":
			bit, dst = 2, &sc.Type
		case "id":
			bit, dst = 4, &sc.ID
		default:
			return sc, false
		}
		if m&bit != 0 {
			return sc, false
		}
		m |= bit
		if *dst, ok = s.plainInterned(); !ok {
			return sc, false
		}
		more, err := s.more('}')
		if err != nil {
			return sc, false
		}
		if !more {
			return sc, true
		}
	}
}
