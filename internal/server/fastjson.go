package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/jsonstr"
)

// A strict, allocation-light JSON decoder for the decision hot path
// (/check and /checks), where profiling showed encoding/json's reflection
// dominating the server's CPU. It accepts exactly the documents
// encoding/json with DisallowUnknownFields would decode into the same
// values, with deliberate differences, all stricter: field names match
// exactly (encoding/json also accepts other casings), strings must be
// valid UTF-8 (encoding/json replaces invalid bytes), and — as on every
// route (strictJSON) — no object names a member twice or two members
// equal but for case, and nothing nests deeper than maxDepth. Every error
// is a 400 problem naming the field where there is one. Context objects
// are located by the scanner and decoded by encoding/json.
//
// FuzzFastDecode checks it against encoding/json on arbitrary input.

// fastDecoder is implemented by request types with a hand-written decoder.
type fastDecoder interface {
	decodeFast(b []byte) error
}

// fastDecoderOf is the hand-written decoder of *req, if it has one: its
// own method, or, for package api's types, an adapter's.
func fastDecoderOf(req any) (fastDecoder, bool) {
	switch r := req.(type) {
	case *CheckRequest:
		return (*checkDecoder)(r), true
	case *BatchCheckRequest:
		return (*batchDecoder)(r), true
	case *api.WriteRequest:
		return (*writesDecoder)(r), true
	}
	fd, ok := req.(fastDecoder)
	return fd, ok
}

// checkDecoder is a CheckRequest (package api's) with the fast decoder.
type checkDecoder CheckRequest

// batchDecoder is a BatchCheckRequest (package api's) with the fast
// decoder.
type batchDecoder BatchCheckRequest

// maxDepth bounds the nesting of a request body (objects and arrays):
// no request needs more, and a bound far below encoding/json's 10,000
// keeps every route's decoding, and whatever later walks a decoded value
// (conditions, the decision log), shallow.
const maxDepth = 100

type scanner struct {
	b      []byte
	i      int
	intern map[string]string // nil: no interning
	// src is b as one string when b is valid UTF-8 (checked once): plain
	// strings are then substrings of it — one allocation for the whole
	// body instead of one per string. Empty: copy and check each string.
	src string
}

// newScanner reads b (which the caller may reuse afterwards: nothing
// returned aliases it).
func newScanner(b []byte, intern map[string]string) *scanner {
	s := &scanner{b: b, intern: intern}
	if utf8.Valid(b) {
		s.src = string(b)
	}
	return s
}

// ws skips whitespace. (The scanning loops here and in str keep their
// index in a local: a loop over s.i stores it to memory at every byte.)
func (s *scanner) ws() {
	i, b := s.i, s.b
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	s.i = i
}

func (s *scanner) syntax() error {
	if s.i >= len(s.b) {
		return invalidField("", "the request body is truncated JSON")
	}
	return invalidField("", "malformed JSON at byte %d", s.i+1)
}

// peek returns the next non-space byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	return s.peek() == 'n' && s.lit("null")
}

// str parses a string at the cursor (after ws).
// more reads what follows an element of an object or array: ',' (more
// follow) or the closing byte (done, err nil); anything else is a syntax
// error.
func (s *scanner) more(closing byte) (bool, error) {
	switch s.peek() {
	case ',':
		s.i++
		return true, nil
	case closing:
		s.i++
		return false, nil
	}
	return false, s.syntax()
}

func (s *scanner) str() (string, error) {
	if s.peek() != '"' {
		return "", s.syntax()
	}
	start := s.i + 1
	// Fast path: no escapes, ASCII or valid UTF-8.
	for i, c := range s.b[start:] {
		switch {
		case c == '"':
			end := start + i
			s.i = end + 1
			if s.src != "" {
				return s.src[start:end], nil
			}
			raw := s.b[start:end]
			if !utf8.Valid(raw) {
				return "", invalidField("", "invalid UTF-8 in a string at byte %d", start)
			}
			return string(raw), nil
		case c == '\\':
			s.i = start + i
			return s.strSlow(start)
		case c < 0x20:
			s.i = start + i
			return "", s.syntax()
		}
	}
	s.i = len(s.b)
	return "", s.syntax()
}

// strSlow is str for a string with an escape (at s.i): jsonstr reads it
// from its opening quote, and its value must be valid UTF-8.
func (s *scanner) strSlow(start int) (string, error) {
	out, n, err := jsonstr.Append(nil, s.b[start-1:])
	s.i = start - 1 + n
	if err != nil {
		return "", s.syntax()
	}
	if !utf8.Valid(out) {
		return "", invalidField("", "invalid UTF-8 in a string at byte %d", start)
	}
	return string(out), nil
}

// skip consumes one JSON value of any kind, validating its syntax.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return invalidField("", "the request body nests too deeply")
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return nil
		}
		var names memberNames
		for {
			key, err := s.str()
			if err != nil {
				return err
			}
			if err := names.add(key); err != nil {
				return err
			}
			if s.peek() != ':' {
				return s.syntax()
			}
			s.i++
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			if more, err := s.more('}'); !more {
				return err
			}
		}
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			if more, err := s.more(']'); !more {
				return err
			}
		}
	case c == 't':
		if s.lit("true") {
			return nil
		}
	case c == 'f':
		if s.lit("false") {
			return nil
		}
	case c == 'n':
		if s.lit("null") {
			return nil
		}
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.syntax()
}

// number consumes a JSON number (RFC 8259 grammar).
func (s *scanner) number() error {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case digits() == 0:
		s.i = start
		return s.syntax()
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return s.syntax()
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return s.syntax()
		}
	}
	return nil
}

// typeErr is encoding/json's wrong-type error for field.
func typeErr(field, want string) error {
	return invalidField(field, "field %q must be %s", field, want)
}

// strField reads a string field value (null leaves it empty); the field
// name (prefix+key) is built only for an error. Values that repeat across
// a batch (principals, actions, namespaces) are interned.
func (s *scanner) strField(prefix, key string, dst *string, intern bool) error {
	switch s.peek() {
	case '"':
		if intern && s.intern != nil {
			v, err := s.internStr()
			if err != nil {
				return err
			}
			*dst = v
			return nil
		}
		v, err := s.str()
		if err != nil {
			return err
		}
		*dst = v
		return nil
	case 'n':
		if s.null() {
			return nil
		}
	case 0:
		return s.syntax()
	}
	if err := s.skip(0); err != nil {
		return err
	}
	return typeErr(prefix+key, "a string")
}

// internStr is str through the scanner's intern table (plain strings
// only; anything with escapes takes the slow path).
func (s *scanner) internStr() (string, error) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			if v, ok := s.intern[string(s.b[start:j])]; ok {
				s.i = j + 1
				return v, nil
			}
			break
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	v, err := s.str()
	if err == nil && len(s.intern) < 256 {
		s.intern[v] = v
	}
	return v, err
}

// objectField reads an object field into a map with encoding/json.
func (s *scanner) objectField(prefix, key string, dst *map[string]any) error {
	c := s.peek()
	start := s.i
	if err := s.skip(0); err != nil {
		return err
	}
	switch c {
	case 'n':
		return nil
	case '{':
		var m map[string]any
		if err := json.Unmarshal(s.b[start:s.i], &m); err != nil {
			return typeErr(prefix+key, "an object")
		}
		*dst = m
		return nil
	}
	return typeErr(prefix+key, "an object")
}

// object iterates an object's members, calling fn with each key after the
// colon; fn must consume the value. A null object calls nothing.
func (s *scanner) object(field string, fn func(key string) error) error {
	switch s.peek() {
	case 'n':
		if s.null() {
			return nil
		}
		return s.syntax()
	case '{':
	case 0:
		return s.syntax()
	default:
		if err := s.skip(0); err != nil {
			return err
		}
		if field == "" {
			return invalidField("", "the request body must be a JSON object")
		}
		return typeErr(field, "an object")
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.syntax()
		}
		s.i++
		if err := fn(key); err != nil {
			return err
		}
		if more, err := s.more('}'); !more {
			return err
		}
	}
}

// memberNames tracks the member names of one object that skip reads: a
// name given twice, or two names equal but for case (encoding/json puts
// "role", "Role" and "ROLE" — and "ſ" with "s" — in the same field, and
// another parser may keep either), is refused. Up to len(few) names are
// compared in place (strings.EqualFold, without allocating); more go to a
// map by their folded form (ident.Fold, the same equality), so a large
// object costs linear time.
type memberNames struct {
	few  [8]string
	n    int
	many map[string]struct{}
}

func (m *memberNames) add(key string) error {
	if m.many != nil {
		folded := ident.Fold(key)
		if _, dup := m.many[folded]; dup {
			return duplicateField(key)
		}
		m.many[folded] = struct{}{}
		return nil
	}
	for _, k := range m.few[:m.n] {
		if strings.EqualFold(k, key) {
			return duplicateField(key)
		}
	}
	if m.n < len(m.few) {
		m.few[m.n] = key
		m.n++
		return nil
	}
	m.many = make(map[string]struct{}, 2*len(m.few))
	for _, k := range m.few {
		m.many[ident.Fold(k)] = struct{}{}
	}
	m.many[ident.Fold(key)] = struct{}{}
	return nil
}

// strictJSON checks that b is one JSON value with nothing after it, no
// object holding a member name twice (or two equal but for case), nested
// at most maxDepth deep — what encoding/json alone lets through (it keeps
// the last of duplicated names and nests 10,000 deep).
func strictJSON(b []byte) error {
	s := newScanner(b, nil)
	if err := s.start(); err != nil {
		return err
	}
	if err := s.skip(0); err != nil {
		return err
	}
	return s.end()
}

func duplicateField(key string) error {
	return invalidField(key, "field %q appears twice", key)
}

// seen tracks the member names of one object (duplicates are refused: two
// parsers reading one document differently is how checks get bypassed).
type seen uint16

func (m *seen) add(bit seen, key string) error {
	if *m&bit != 0 {
		return duplicateField(key)
	}
	*m |= bit
	return nil
}

func unknownField(key string) error {
	return invalidField(key, "unknown field %q", key)
}

// item decodes a BatchItem's members (shared by CheckRequest). It reports
// false for a key that is not one of them.
func (s *scanner) item(key, prefix string, it *BatchItem, m *seen) (bool, error) {
	var bit seen
	var dst *string
	switch key {
	case "principal":
		bit, dst = 1, &it.Principal
	case "action":
		bit, dst = 2, &it.Action
	case "resource":
		bit, dst = 4, &it.Resource
	case "namespace":
		bit, dst = 8, &it.Namespace
	case "on_behalf_of":
		bit, dst = 16, &it.OnBehalfOf
	case "context":
		bit = 32
	case "approval_id":
		bit, dst = 512, &it.ApprovalID
	case "arguments":
		bit = 1024
	default:
		return false, nil
	}
	if *m&bit != 0 {
		return true, duplicateField(prefix + key)
	}
	*m |= bit
	switch bit {
	case 32:
		return true, s.objectField(prefix, key, &it.Context)
	case 1024:
		// Any JSON value, kept as sent (json.RawMessage): the approval is
		// bound to its canonical form, computed by the directory.
		s.ws()
		start := s.i
		if err := s.skip(0); err != nil {
			return true, err
		}
		it.Arguments = append(json.RawMessage(nil), s.b[start:s.i]...)
		return true, nil
	}
	return true, s.strField(prefix, key, dst, bit != 4 && bit != 512)
}

func (s *scanner) consistency(dst **Consistency) error {
	if s.peek() == 'n' && s.null() {
		*dst = nil
		return nil
	}
	c := &Consistency{}
	if *dst != nil {
		c = *dst
	}
	var m seen
	err := s.object("consistency", func(key string) error {
		if key != "at_least" {
			return unknownField("consistency." + key)
		}
		if err := m.add(1, "consistency.at_least"); err != nil {
			return err
		}
		switch s.peek() {
		case 'n':
			if s.null() {
				return nil
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			start := s.i
			if err := s.number(); err != nil {
				return err
			}
			n, err := strconv.ParseUint(string(s.b[start:s.i]), 10, 64)
			if err != nil {
				return typeErr("consistency.at_least", "a non-negative integer")
			}
			c.AtLeast = n
			return nil
		}
		if err := s.skip(0); err != nil {
			return err
		}
		return typeErr("consistency.at_least", "a non-negative integer")
	})
	if err == nil {
		*dst = c
	}
	return err
}

// end requires nothing but whitespace after the value.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return invalidField("", "the request body has data after the JSON value")
	}
	return nil
}

func (s *scanner) start() error {
	switch s.peek() {
	case 0:
		return invalidField("", "the request body is empty; a JSON object is required")
	case 'n':
		return errNullBody()
	}
	return nil
}

func (r *checkDecoder) decodeFast(b []byte) error {
	s := newScanner(b, nil)
	if err := s.start(); err != nil {
		return err
	}
	var it BatchItem
	var m seen
	err := s.object("", func(key string) error {
		switch key {
		case "consistency":
			if err := m.add(64, key); err != nil {
				return err
			}
			return s.consistency(&r.Consistency)
		}
		if key == "at_time" || key == "at_revision" {
			return s.asOf(key, (*CheckRequest)(r), &m)
		}
		ok, err := s.item(key, "", &it, &m)
		if !ok {
			return unknownField(key)
		}
		return err
	})
	if err != nil {
		return err
	}
	r.Principal, r.Action, r.Resource, r.Namespace, r.Context, r.OnBehalfOf = it.Principal, it.Action, it.Resource, it.Namespace, it.Context, it.OnBehalfOf
	r.Arguments, r.ApprovalID = it.Arguments, it.ApprovalID
	return s.end()
}

func (r *batchDecoder) decodeFast(b []byte) error {
	intern := internPool.Get().(map[string]string)
	defer func() { clear(intern); internPool.Put(intern) }()
	s := newScanner(b, intern)
	if err := s.start(); err != nil {
		return err
	}
	var top seen
	err := s.object("", func(key string) error {
		switch key {
		case "consistency":
			if err := top.add(1, key); err != nil {
				return err
			}
			return s.consistency(&r.Consistency)
		case "checks":
			if err := top.add(2, key); err != nil {
				return err
			}
		default:
			return unknownField(key)
		}
		switch s.peek() {
		case 'n':
			if s.null() {
				r.Checks = nil
				return nil
			}
			return s.syntax()
		case '[':
		case 0:
			return s.syntax()
		default:
			if err := s.skip(0); err != nil {
				return err
			}
			return typeErr("checks", "an array")
		}
		s.i++
		r.Checks = r.Checks[:0]
		if s.peek() == ']' {
			s.i++
			if r.Checks == nil {
				r.Checks = []BatchItem{}
			}
			return nil
		}
		for {
			if len(r.Checks) > MaxBatch {
				return invalidField("checks", "a batch holds at most %d checks", MaxBatch)
			}
			r.Checks = append(r.Checks, BatchItem{})
			it := &r.Checks[len(r.Checks)-1]
			var m seen
			if err := s.object("checks", func(key string) error {
				ok, err := s.item(key, "checks.", it, &m)
				if !ok {
					return unknownField("checks." + key)
				}
				return err
			}); err != nil {
				return err
			}
			if more, err := s.more(']'); !more {
				return err
			}
		}
	})
	if err != nil {
		return err
	}
	return s.end()
}

// readBody reads the whole body, bounded, into a pooled buffer; the
// caller gives the buffer back with putBody once nothing aliases it. It
// reads the body directly (no io.LimitReader, no release closure: two
// allocations per request on the check path), and closes it when it has
// read it to its end.
func (c *call) readBody(limit int64) (*bytes.Buffer, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	for {
		if buf.Available() == 0 {
			buf.Grow(bytes.MinRead)
		}
		b := buf.AvailableBuffer()
		b = b[:cap(b)]
		if room := limit + 1 - int64(buf.Len()); int64(len(b)) > room {
			b = b[:room] // read at most one byte past the limit
		}
		n, err := c.r.Body.Read(b)
		buf.Write(b[:n])
		if int64(buf.Len()) > limit {
			putBody(buf)
			return nil, problem(ProblemTooLarge, "the request body is larger than %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			// Closed once read to its end: net/http then keeps the
			// connection without draining the body itself after the
			// handler (chunkWriter.writeHeader's io.CopyN into
			// io.Discard: an allocation, a pooled 8 KiB buffer and one
			// more read a request). Closing a body at EOF reads nothing
			// and does not close the connection.
			_ = c.r.Body.Close()
			return buf, nil
		}
		if err != nil {
			putBody(buf)
			return nil, decodeProblem(err, limit)
		}
	}
}

// putBody returns a readBody buffer to the pool (unless it grew large).
func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= 4<<20 {
		bufPool.Put(buf)
	}
}

// fastEncoder is implemented by response types with a hand-written
// encoder (the decision hot path).
type fastEncoder interface {
	appendJSON(b []byte) []byte
}

// marshal is json.Marshal without HTML escaping (as writeJSON encodes),
// without the trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func appendRules(b []byte, name string, rs []RuleOut) []byte {
	if len(rs) == 0 {
		return b
	}
	raw, _ := marshal(rs) // strings only: cannot fail
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return append(b, raw...)
}

// checkEncoder is a CheckResponse (package api's) with the fast encoder.
type checkEncoder CheckResponse

func (r checkEncoder) appendJSON(b []byte) []byte { return appendCheckResponse(b, CheckResponse(r)) }

// appendCheckResponse is the hand-written encoder of a decision (the
// check hot path); writeJSON uses it for every CheckResponse.
func appendCheckResponse(b []byte, r CheckResponse) []byte {
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, r.Allowed)
	b = append(b, `,"revision":`...)
	b = strconv.AppendUint(b, r.Revision, 10)
	b = appendRules(b, "obligations", r.Obligations)
	b = appendRules(b, "advice", r.Advice)
	b = appendReason(b, r.Reason)
	if r.Result != "" { // approval_required: rare, off the hot path
		rb, _ := json.Marshal(r.Result)
		b = append(append(b, `,"result":`...), rb...)
	}
	if r.Approval != nil {
		ab, _ := json.Marshal(r.Approval)
		b = append(append(b, `,"approval":`...), ab...)
	}
	if len(r.Warnings) > 0 { // a deny's hint to a policy reader
		b = appendWarnings(append(b, `,"warnings":`...), r.Warnings)
	}
	return append(b, "}\n"...)
}

// appendWarnings appends ws as encoding/json (HTML not escaped) would
// (TestAppendWarningsAsEncodingJSON): a deny of an action the policy does
// not name carries one, so loadgen's mix sends it on ≈ 38 % of checks, and
// the reflective encoder cost more than the rest of the answer.
func appendWarnings(b []byte, ws []api.CheckWarning) []byte {
	b = append(b, '[')
	for i, w := range ws {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"code":`...)
		b = appendJSONText(b, w.Code)
		b = append(b, `,"message":`...)
		b = appendJSONText(b, w.Message)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONText appends s as a JSON string the way encoding/json (HTML
// not escaped) does: printable ASCII other than '"' and '\' as is, and
// anything else — control bytes, non-ASCII, quotes — through
// encoding/json itself, so the bytes are the same whatever s holds.
func appendJSONText(b []byte, s string) []byte {
	if !plainJSONText(s) {
		q, _ := marshal(s) // a string: cannot fail
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainJSONText reports whether every byte of s is printable ASCII other
// than '"' and '\\' (what appendJSONText copies as is). It tests eight
// bytes at a time: the unknown_action warning's message, on every warned
// deny, is ≈ 140 of them (TestPlainJSONText compares it with the byte
// loop for every byte value at every position of a word).
func plainJSONText(s string) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := x^('"'*ones), x^('\\'*ones)
		// A byte < 0x20, a byte ≥ 0x7f, a zero byte of q ('"') or of bs ('\\'):
		// each term has a byte's high bit set iff that byte is one.
		if ((x-0x20*ones)&^x|(x+0x01*ones)|x|(q-ones)&^q|(bs-ones)&^bs)&high != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendReason adds a deny's reason: one of authz.Reasons(), plain ASCII
// that needs no escaping.
func appendReason[R ~string](b []byte, reason R) []byte {
	if reason == "" {
		return b
	}
	b = append(b, `,"reason":"`...)
	b = append(b, reason...)
	return append(b, '"')
}

// batchEncoder is a BatchCheckResponse (package api's) with the fast
// encoder.
type batchEncoder BatchCheckResponse

func (r batchEncoder) appendJSON(b []byte) []byte {
	b = append(b, `{"results":[`...)
	for i, it := range r.Results {
		if i > 0 {
			b = append(b, ',')
		}
		if it.Error == nil && len(it.Obligations) == 0 && len(it.Advice) == 0 && it.Result == "" && it.Approval == nil {
			switch {
			case len(it.Warnings) > 0: // a deny's unknown_action hint to a policy reader
				b = append(b, `{"allowed":`...)
				b = strconv.AppendBool(b, it.Allowed)
				b = appendReason(b, it.Reason)
				b = appendWarnings(append(b, `,"warnings":`...), it.Warnings)
				b = append(b, '}')
			case it.Allowed:
				b = append(b, `{"allowed":true}`...)
			default:
				b = append(b, `{"allowed":false`...)
				b = appendReason(b, it.Reason)
				b = append(b, '}')
			}
			continue
		}
		raw, err := marshal(it)
		if err != nil { // cannot happen: strings, bools and ints only
			raw = []byte(`{"allowed":false}`)
		}
		b = append(b, raw...)
	}
	b = append(b, `],"revision":`...)
	b = strconv.AppendUint(b, r.Revision, 10)
	return append(b, "}\n"...)
}
