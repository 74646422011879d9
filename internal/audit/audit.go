// Package audit is Gatehouse's tamper-evident audit log: what is recorded
// (Entry), the per-org SHA-256 hash chain over a canonical encoding of each
// entry, per-entry MACs and recorded heads, Ed25519-signed checkpoints,
// verification, reading, retention, and exporters to SIEMs (JSON Lines,
// CEF, syslog RFC 5424, webhook).
// docs/audit.md documents the format byte for byte.
//
// Invariants:
//
//   - Same transaction. Record appends an entry inside the caller's
//     store.Tx: if the entry cannot be written the caller's Write fails
//     and nothing the action changed is kept; if the action's transaction
//     rolls back, its entry is gone too. There is no "log afterwards".
//   - One chain per org, dense and ordered: entry n's hash is
//     SHA-256(domain ‖ hash(n-1) ‖ canonical(entry n)); the first entry's
//     predecessor hash is 32 zero bytes. Writers are serialized by the
//     store, so the chain never forks.
//   - Checkpoints are signed with a key the database does not hold
//     (Signer: a key file or an environment variable). A checkpoint
//     covers (org, sequence, chain head, time); with a trusted public key
//     a verifier detects any change, deletion, insertion, reordering or
//     truncation up to the newest checkpoint, and with an exported copy
//     of the checkpoints it also detects wholesale rewriting and
//     truncation of the stored checkpoints themselves.
//   - Authenticated against a database writer. A Log with a Signer MACs
//     every entry (HMAC-SHA-256 of its hash under a key derived from the
//     signing key, MACKey) and records the org's head with its own MAC in
//     the same transaction. Verify with the MAC key reports an entry
//     without a valid MAC that no checkpoint covers (forged), a log that
//     ends before its recorded head (truncated) and an org that exists
//     without a log. The checkpointer never signs over an entry it cannot
//     authenticate: it re-verifies every entry since the previous
//     checkpoint (signed by its own or a trusted key; a previous
//     checkpoint byte for byte the one this Log signed last is not
//     verified again, signedHere) first — in the
//     transaction of the entry that made it due, or, for a DecisionLog's
//     entries, just after that transaction commits, signing only if the
//     newest checkpoint and the entry's stored hash are still those it
//     checked (checkpointer.go). What stays
//     undetectable without exported checkpoints: a rollback of an org's
//     rows to a state saved earlier, and the removal of a deleted org's
//     whole log (docs/audit.md, "Guarantees").
//   - Append-only. Nothing in this package updates or deletes an entry;
//     the only deletion is Prune of whole checkpointed segments after
//     export, and the prune is itself an entry in the chain.
//   - A secret's value is never recorded: callers put names and versions
//     in Details, never values (the vault's contract).
//   - Nothing panics on any input; Verify reports the first bad entry
//     and never trusts a stored row beyond what it checks.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors; every error of the package wraps one of them or a
// store error.
var (
	// ErrInvalid: the entry, option or argument is malformed.
	ErrInvalid = errors.New("invalid")
	// ErrTampered: verification found the log or its checkpoints altered
	// (the error is a *VerifyError naming the first bad entry).
	ErrTampered = errors.New("audit log does not verify")
	// ErrNoKey: signing or verifying needs a key that was not given.
	ErrNoKey = errors.New("no audit signing key")
)

// Result is an entry's outcome.
type Result string

// Results.
const (
	Success Result = "success"
	Denied  Result = "denied"
	Failure Result = "error" // the action was allowed but failed; Message says why
)

// Valid reports whether r is one of the three results.
func (r Result) Valid() bool { return r == Success || r == Denied || r == Failure }

// SystemOrg is the chain of deployment-wide events that belong to no org
// (users, authentication failures without an org). It is not a valid org
// id, so no org can collide with it.
const SystemOrg = "_system"

// Actor is who did it.
type Actor struct {
	Principal  string   `json:"principal"`             // "user:alice"; "" if unauthenticated
	Roles      []string `json:"roles,omitempty"`       // the roles it held at the time, at the target's scope
	KeyID      string   `json:"key_id,omitempty"`      // API key used
	SessionID  string   `json:"session_id,omitempty"`  // console session used
	ClientAddr string   `json:"client_addr,omitempty"` // remote address
	RequestID  string   `json:"request_id,omitempty"`
}

// Entry is one audit-log entry. Record fills Seq, Time and Hash.
type Entry struct {
	Org    string    `json:"org"`
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"` // RFC 3339 with zone (UTC), microseconds
	Actor  Actor     `json:"actor"`
	Action string    `json:"action"` // "bindings.create", "auth.failure", "secrets.read", "decision"
	Target string    `json:"target,omitempty"`
	Result Result    `json:"result"`
	// Message is the error or denial reason (empty on success).
	Message string `json:"message,omitempty"`
	// Before and After are the edited object's JSON before and after the
	// change (absent for creations and deletions respectively).
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	// Details is any other JSON object about the event (a decision's
	// outcome, a secret's name and version).
	Details json.RawMessage `json:"details,omitempty"`
	// Hash is the chain hash after this entry (hex in JSON). It is
	// withheld (zero, absent from JSON) from a reader whose view of the log
	// is redacted (WithholdHash): a hash commits to the whole entry, and
	// with the entries around it would let that reader test guesses of
	// what was hidden.
	Hash Hash `json:"hash,omitzero"`
	// Redacted is set on an entry shown to a reader without everything it
	// holds (a secret's name to a reader without secrets:list): what the
	// reader sees is not what was hashed. Never part of the stored entry
	// or of the hash.
	Redacted bool `json:"redacted,omitempty"`

	// body is the stored body, exactly (set by FromRecord); exporters
	// include it so that a copy can be verified byte for byte.
	body []byte
}

// MarkRedacted marks e as redacted for its reader and drops its hash and
// stored body, which commit to what was removed.
func (e *Entry) MarkRedacted() {
	e.Redacted = true
	e.WithholdHash()
}

// WithholdHash drops e's hash and stored body (for a reader whose view of
// the log is redacted anywhere).
func (e *Entry) WithholdHash() {
	e.Hash = Hash{}
	e.body = nil
}

// StoredBody returns the entry's body exactly as stored and hashed (nil
// for an entry that was not read from the store).
func (e *Entry) StoredBody() []byte { return e.body }

// Exported is an entry as the exporters write it: the entry, plus the
// stored body as a JSON string (the exact bytes that are hashed) and the
// time in microseconds, so that an exported copy can be verified without
// Gatehouse (docs/audit.md).
type Exported struct {
	Entry
	At   int64  `json:"at"`
	Body string `json:"body"`
}

// Export returns e as exported.
func Export(e Entry) Exported {
	return Exported{Entry: e, At: e.Time.UnixMicro(), Body: string(e.body)}
}

// Hash is a SHA-256 chain hash.
type Hash [32]byte

// String renders the hash in lower-case hex.
func (h Hash) String() string { return fmt.Sprintf("%x", h[:]) }

// MarshalText renders the hash in lower-case hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("%w: hash %q is not 64 hex digits", ErrInvalid, b)
	}
	var out Hash
	for i := 0; i < 32; i++ {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: hash %q is not 64 hex digits", ErrInvalid, b)
		}
		out[i] = hi<<4 | lo
	}
	*h = out
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// Limits of an entry's parts, enforced with ErrInvalid (the store's limits
// are larger).
const (
	MaxFieldBytes = 1024      // org, principal, action, target, and each actor string
	MaxBodyBytes  = 256 << 10 // the stored body (message, before, after, details, actor details)
)
