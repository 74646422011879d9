package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The canonical encoding (docs/audit.md, "Canonical encoding"). Integers
// are big-endian; a string or byte field is its length as a 4-byte
// big-endian integer followed by its bytes, exactly as stored.
//
//	entry message = "gatehouse.audit.entry.v1" 0x00
//	                prev (32 bytes)
//	                seq (8 bytes, unsigned)
//	                at (8 bytes, signed: microseconds since the Unix epoch, UTC)
//	                org, actor, action, target, result, body (length-prefixed)
//	hash          = SHA-256(entry message)
//
//	checkpoint message = "gatehouse.audit.checkpoint.v1" 0x00
//	                     org (length-prefixed), seq (8), head (32), at (8)
//	signature          = Ed25519(private key, checkpoint message)
const (
	entryDomain      = "gatehouse.audit.entry.v1\x00"
	checkpointDomain = "gatehouse.audit.checkpoint.v1\x00"
)

// encoder builds canonical messages in a reused buffer.
type encoder struct{ buf []byte }

func (e *encoder) u64(v uint64) { e.buf = binary.BigEndian.AppendUint64(e.buf, v) }

func (e *encoder) str(s string) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) bytes(b []byte) {
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(len(b)))
	e.buf = append(e.buf, b...)
}

// entryHash is the chain hash of r given its predecessor's hash.
func (e *encoder) entryHash(prev Hash, r *store.AuditRecord) Hash {
	if n := len(entryDomain) + len(prev) + 16 + 6*4 + len(r.Org) + len(r.Actor) + len(r.Action) + len(r.Target) + len(r.Result) + len(r.Body); cap(e.buf) < n {
		e.buf = make([]byte, 0, n) // once, not regrown field by field
	}
	e.buf = append(e.buf[:0], entryDomain...)
	e.buf = append(e.buf, prev[:]...)
	e.u64(r.Seq)
	e.u64(uint64(r.At))
	e.str(r.Org)
	e.str(r.Actor)
	e.str(r.Action)
	e.str(r.Target)
	e.str(r.Result)
	e.bytes(r.Body)
	return sha256.Sum256(e.buf)
}

// checkpointMessage is what a checkpoint's signature signs.
func (e *encoder) checkpointMessage(org string, seq uint64, head []byte, at int64) []byte {
	e.buf = append(e.buf[:0], checkpointDomain...)
	e.str(org)
	e.u64(seq)
	e.buf = append(e.buf, head...)
	e.u64(uint64(at))
	return e.buf
}

// EntryHash computes the chain hash of a stored record after prev; for
// external verifiers of exported copies (docs/audit.md).
func EntryHash(prev Hash, r store.AuditRecord) Hash {
	var e encoder
	return e.entryHash(prev, &r)
}

// CheckpointMessage returns the bytes a checkpoint's signature signs.
func CheckpointMessage(org string, seq uint64, head Hash, at int64) []byte {
	var e encoder
	return e.checkpointMessage(org, seq, head[:], at)
}

// body is the stored JSON object of an entry: everything that is not a
// column of its own. Field order is fixed, so encoding is deterministic.
type body struct {
	Roles      []string        `json:"roles,omitempty"`
	KeyID      string          `json:"key_id,omitempty"`
	SessionID  string          `json:"session_id,omitempty"`
	ClientAddr string          `json:"client_addr,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Message    string          `json:"message,omitempty"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Details    json.RawMessage `json:"details,omitempty"`
}

// checkEntry validates what a caller supplies.
func checkEntry(e *Entry) error {
	fields := [...]struct{ name, v string }{
		{"org", e.Org}, {"actor principal", e.Actor.Principal}, {"action", e.Action}, {"target", e.Target},
		{"key id", e.Actor.KeyID}, {"session id", e.Actor.SessionID}, {"client address", e.Actor.ClientAddr},
		{"request id", e.Actor.RequestID},
	}
	for _, f := range fields {
		if len(f.v) > MaxFieldBytes || !utf8.ValidString(f.v) || strings.IndexByte(f.v, 0) >= 0 {
			return fmt.Errorf("%w: entry %s is not UTF-8 text of at most %d bytes", ErrInvalid, f.name, MaxFieldBytes)
		}
	}
	for _, r := range e.Actor.Roles {
		if len(r) > MaxFieldBytes || !utf8.ValidString(r) || strings.IndexByte(r, 0) >= 0 {
			return fmt.Errorf("%w: entry role is not UTF-8 text of at most %d bytes", ErrInvalid, MaxFieldBytes)
		}
	}
	switch {
	case e.Org == "":
		return fmt.Errorf("%w: entry has no org", ErrInvalid)
	case e.Action == "":
		return fmt.Errorf("%w: entry has no action", ErrInvalid)
	case !e.Result.Valid():
		return fmt.Errorf("%w: entry result %q is not success, denied or error", ErrInvalid, e.Result)
	case !utf8.ValidString(e.Message):
		return fmt.Errorf("%w: entry message is not UTF-8", ErrInvalid)
	}
	// Before, after and details are checked by encodeBody's json.Marshal,
	// which validates (and compacts) raw JSON anyway: parsing them here
	// too was a second pass over every change's payload.
	return nil
}

// checkObjects names the first of e's raw JSON fields that is not JSON
// (encodeBody's error, when json.Marshal refused one).
func checkObjects(e *Entry) error {
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
	}{{"before", e.Before}, {"after", e.After}, {"details", e.Details}} {
		if len(f.raw) > 0 && !json.Valid(f.raw) {
			return fmt.Errorf("%w: entry %s is not JSON", ErrInvalid, f.name)
		}
	}
	return nil
}

// encodeBody encodes the stored body of e (everything that is not a
// column of its own): json.Marshal's bytes, by appendBody where it can
// vouch for them (body.go).
func encodeBody(e *Entry) ([]byte, error) {
	b, _, err := encodeBodyContext(e)
	return b, err
}

// encodeBodyContext is encodeBody, and the length of the body's leading
// request context (store.AuditRecord.ContextLen; 0 when the body took the
// json.Marshal path: it is then stored whole).
func encodeBodyContext(e *Entry) ([]byte, int, error) {
	if b, n, ok := appendBodyContext(make([]byte, 0, bodySize(e)), e); ok {
		if len(b) > MaxBodyBytes {
			return nil, 0, fmt.Errorf("%w: entry is larger than %d bytes", ErrInvalid, MaxBodyBytes)
		}
		return b, n, nil
	}
	b, err := json.Marshal(body{
		Roles: e.Actor.Roles, KeyID: e.Actor.KeyID, SessionID: e.Actor.SessionID, ClientAddr: e.Actor.ClientAddr,
		RequestID: e.Actor.RequestID, Message: e.Message, Before: e.Before, After: e.After, Details: e.Details,
	})
	if err != nil {
		if cerr := checkObjects(e); cerr != nil {
			return nil, 0, cerr
		}
		return nil, 0, fmt.Errorf("%w: entry: %v", ErrInvalid, err)
	}
	if len(b) > MaxBodyBytes {
		return nil, 0, fmt.Errorf("%w: entry is larger than %d bytes", ErrInvalid, MaxBodyBytes)
	}
	return b, 0, nil
}

// FromRecord decodes a stored record. It does not verify anything; a body
// that is not the JSON object Gatehouse writes is ErrInvalid.
func FromRecord(r store.AuditRecord) (Entry, error) {
	var b body
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return Entry{}, fmt.Errorf("%w: entry %d of org %q has a malformed body", ErrInvalid, r.Seq, r.Org)
	}
	e := Entry{
		Org: r.Org, Seq: r.Seq, Time: time.UnixMicro(r.At).UTC(),
		Actor: Actor{Principal: r.Actor, Roles: b.Roles, KeyID: b.KeyID, SessionID: b.SessionID,
			ClientAddr: b.ClientAddr, RequestID: b.RequestID},
		Action: r.Action, Target: r.Target, Result: Result(r.Result), Message: b.Message,
		Before: b.Before, After: b.After, Details: b.Details,
	}
	copy(e.Hash[:], r.Hash)
	e.body = r.Body
	return e, nil
}

// bodySize is room for e's body without escapes: one allocation in the
// common case.
func bodySize(e *Entry) int {
	n := 128 + len(e.Actor.KeyID) + len(e.Actor.SessionID) + len(e.Actor.ClientAddr) + len(e.Actor.RequestID) +
		len(e.Message) + len(e.Before) + len(e.After) + len(e.Details)
	for _, r := range e.Actor.Roles {
		n += len(r) + 3
	}
	return n
}
