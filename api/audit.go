package api

import (
	"encoding/json"
	"time"
)

// AuditEntry is one entry of an org's audit log.
type AuditEntry struct {
	Org     string          `json:"org"`
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Actor   AuditActor      `json:"actor"`
	Action  string          `json:"action"` // "bindings.create", "secrets.read", "decision"
	Target  string          `json:"target,omitempty"`
	Result  string          `json:"result"` // "success", "denied", "error"
	Message string          `json:"message,omitempty"`
	Before  json.RawMessage `json:"before,omitempty"`
	After   json.RawMessage `json:"after,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
	// Hash is the chain hash after this entry, hex; empty when the server
	// withholds it (a caller without secrets:list at org scope).
	Hash string `json:"hash,omitempty"`
	// Redacted: the server took secret names out of this entry for the
	// caller; what it shows is not what was hashed.
	Redacted bool `json:"redacted,omitempty"`
}

// AuditActor is who acted.
type AuditActor struct {
	Principal  string   `json:"principal"`
	Roles      []string `json:"roles,omitempty"`
	KeyID      string   `json:"key_id,omitempty"`
	SessionID  string   `json:"session_id,omitempty"`
	ClientAddr string   `json:"client_addr,omitempty"`
	RequestID  string   `json:"request_id,omitempty"`
}

// Checkpoint is a signed checkpoint of an org's log, as exported.
type Checkpoint struct {
	Org       string    `json:"org"`
	Seq       uint64    `json:"seq"`
	Head      string    `json:"head"` // hex
	At        int64     `json:"at"`   // microseconds since the Unix epoch: what is signed
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

// AuditReport summarises a verification.
type AuditReport struct {
	Org         string `json:"org"`
	First       uint64 `json:"first"`
	Last        uint64 `json:"last"`
	Entries     uint64 `json:"entries"`
	Head        string `json:"head"`
	Pruned      uint64 `json:"pruned_through,omitempty"`
	Checkpoints int    `json:"checkpoints"`
	Anchored    uint64 `json:"anchored"`
	// MACsChecked: the server checked every entry's MAC (it holds the key).
	MACsChecked bool `json:"macs_checked"`
	// RecordedHead is the head recorded with the newest entry, where the
	// log was found to end (0 if none).
	RecordedHead uint64 `json:"recorded_head,omitempty"`
}

// AuditProblem is the first problem a verification found.
type AuditProblem struct {
	Org     string
	Seq     uint64 // the first bad entry
	Problem string // "hash mismatch", "gap", "forged entry", "truncated", "log missing", ...
	Detail  string
}

// AuditVerifyResult is the outcome of an audit verification: OK, or Problem names
// the first bad entry.
type AuditVerifyResult struct {
	OK      bool          `json:"ok"`
	Report  AuditReport   `json:"report"`
	Problem *AuditProblem `json:"problem,omitempty"`
}

// VersionHistory is one version of a resource with who made it, the diff
// from the version before, and the audit entry that recorded it.
type VersionHistory struct {
	Version   uint64      `json:"version"`
	Author    string      `json:"author"`
	CreatedAt time.Time   `json:"created_at"`
	Diff      []DiffEntry `json:"diff,omitempty"`
	Audit     *AuditEntry `json:"audit,omitempty"`
}

// AuditSettings say which decisions an org records.
type AuditSettings struct {
	Decisions  string  `json:"decisions"` // "off", "denies" or "all"
	SampleRate float64 `json:"sample_rate,omitempty"`
}
