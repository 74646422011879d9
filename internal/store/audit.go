package store

import (
	"context"
	"encoding/json"
	"time"
)

// The audit log as the store keeps it. The store stores rows verbatim and
// keeps three invariants of its own; everything about their meaning (the
// canonical encoding, the hash chain, checkpoint signatures) belongs to
// internal/audit, which computes and verifies them. (It also refuses an
// entry without a target: every entry names what it touched, DESIGN §7.)
//
//   - Append-only. AppendAudit and AppendAuditCheckpoint only insert; the
//     database itself refuses UPDATE and DELETE of audit entries,
//     checkpoints and prune records (triggers in both dialects), except the
//     DELETE that PruneAudit does of entries a prune record covers.
//   - Dense, ordered sequence numbers per org: an entry's Seq is exactly one
//     more than the org's newest entry's (the first is 1), checked in the
//     same statement that inserts it, under the write lock.
//   - Recorded head. AppendAudit also records the entry as its org's head
//     (audit_heads: seq, hash and HeadMAC) in the same statement batch, so
//     the head and the newest entry always agree unless someone edited the
//     database; heads are never deleted. RecordAuditHead records the head
//     of a log written before heads existed, under the same agreement.
//   - Same transaction. Audit rows are written through Tx and commit or
//     roll back with the change they record. A Write whose callback wrote
//     only audit rows (a denied attempt, an authentication failure, an
//     exporter cursor) commits them without a new revision or changelog
//     entry, and returns the current revision.
//   - Settings are in the changelog. SetAuditSettings, unlike the audit
//     rows, is a change like any other: a new revision with one
//     KindAuditSettingsPut entry carrying the settings as stored, so every
//     process following the changelog learns of it at that revision
//     (the decision log's cache; docs/audit.md, "Decisions").
//
// Audit rows are kept per org and have no foreign key to orgs: deleting an
// org keeps its audit log, and an org created again with the same id goes
// on with the same chain.

// AuditRecord is one audit-log entry as stored.
type AuditRecord struct {
	Org    string // the chain the entry belongs to
	Seq    uint64 // 1, 2, 3... per org
	At     int64  // microseconds since the Unix epoch, UTC
	Actor  string // principal, for filtering
	Action string
	Target string
	Result string
	Body   []byte // a JSON object: everything else about the entry
	// BodyEncoded says Body is encoding/json's output for a Go value the
	// caller built (internal/audit's own encoding): a JSON object in
	// valid UTF-8 without NUL, so AppendAudit does not parse it again.
	// Callers passing a body from outside (an import, a test) leave it
	// false and AppendAudit checks the body.
	BodyEncoded bool
	// ContextLen, when not 0, says Body[:ContextLen] is the request
	// context Body begins with: '{', its leading members (roles, key_id,
	// session_id, client_addr, request_id) and the ',' before the next
	// member, which starts at Body[ContextLen] with '"'. A transaction's
	// run of entries (one org, actor and time) with the same context
	// bytes stores them once, in the run's row (audit_runs.ctx, migration
	// 00020), and every reader puts them back: the body read is byte for
	// byte the body written. 0: no shared context (the body is stored
	// whole).
	ContextLen int
	Hash       []byte // the chain hash after this entry (32 bytes)
	// MAC authenticates Hash with a key the database does not hold (32
	// bytes; nil when written without the key, or before migration 00006).
	MAC []byte
	// HeadMAC authenticates the entry as its org's head (32 bytes or nil).
	// Written to the org's AuditHeadRow by AppendAudit; never read back
	// into a record.
	HeadMAC []byte
	// HeadMACOf, when HeadMAC is nil, returns what HeadMAC would be (32
	// bytes or nil): the store calls it only if the entry is still its
	// org's newest when the head row is written, so a transaction that
	// appends a run of entries computes one head MAC, not one per entry
	// (a bulk write's 1,000; issue 19). It must not call the store.
	HeadMACOf func() []byte
}

// AuditHeadRow is an org's head as AppendAudit recorded it with its newest
// entry: internal/audit compares the chain's end with it.
type AuditHeadRow struct {
	Org  string
	Seq  uint64
	Hash []byte
	MAC  []byte // nil if written without the key
}

// AuditCheckpoint is a signed statement "org's chain had head Head at Seq,
// at time At".
type AuditCheckpoint struct {
	Org       string
	Seq       uint64
	Head      []byte // the chain hash of entry Seq
	At        int64  // microseconds since the Unix epoch, UTC
	KeyID     string // which signing key
	Signature []byte
}

// AuditPrune records that the org's entries up to and including Through
// were deleted (after export); Through is always a checkpointed sequence
// number.
type AuditPrune struct {
	Org     string
	Through uint64
	At      int64 // microseconds since the Unix epoch, UTC
}

// AuditHead is where an org's chain stands.
type AuditHead struct {
	Seq        uint64          // newest entry's Seq; 0 if the org has none
	Hash       []byte          // newest entry's Hash
	At         int64           // newest entry's At
	Checkpoint AuditCheckpoint // newest checkpoint; Seq 0 if none
}

// AuditFilter narrows ListAudit. Zero fields do not filter.
type AuditFilter struct {
	Actor  string
	Action string // exact, or a prefix when it ends in '*' ("bindings.*")
	Target string
	Result string
	Since  time.Time // At ≥ Since
	Until  time.Time // At < Until
	After  uint64    // Seq > After (to follow the log)
	// Newest lists newest first (for tail); the default is oldest first.
	Newest bool
}

// AuditReader reads the audit log.
type AuditReader interface {
	// AuditHead returns where the org's chain stands (zero values for an
	// org without entries; no error for an org that does not exist).
	AuditHead(ctx context.Context, org string) (AuditHead, error)
	// ListAudit lists the org's entries matching f, by Seq (ascending, or
	// descending with f.Newest), with cursor pagination. ErrInvalid for a
	// bad page or filter.
	ListAudit(ctx context.Context, org string, f AuditFilter, p Page) ([]AuditRecord, string, error)
	// ReadAudit returns up to limit of the org's entries with Seq > after,
	// in Seq order (for verification and export). ErrInvalid for a limit
	// outside 1..MaxAuditBatch.
	ReadAudit(ctx context.Context, org string, after uint64, limit int) ([]AuditRecord, error)
	// ListAuditCheckpoints returns up to limit of the org's checkpoints
	// with Seq > after, in Seq order. ErrInvalid for a bad limit.
	ListAuditCheckpoints(ctx context.Context, org string, after uint64, limit int) ([]AuditCheckpoint, error)
	// ListAuditPrunes returns the org's prune records in order.
	ListAuditPrunes(ctx context.Context, org string) ([]AuditPrune, error)
	// AuditHeadRow returns the org's recorded head; false if it has none.
	AuditHeadRow(ctx context.Context, org string) (AuditHeadRow, bool, error)
	// AuditOrgs lists every org that has audit entries, checkpoints, prune
	// records or a recorded head (including deleted orgs), sorted.
	AuditOrgs(ctx context.Context) ([]string, error)
	// AuditCursor returns exporter name's stored position in the org's
	// log: the Seq of the last entry it delivered; 0 if it has none.
	AuditCursor(ctx context.Context, org, name string) (uint64, error)
	// AuditSettings returns the org's audit settings (a JSON object that
	// internal/audit defines); nil if none were set.
	AuditSettings(ctx context.Context, org string) ([]byte, error)
}

// AuditWriter appends to the audit log.
type AuditWriter interface {
	// AppendAudit appends r to its org's log and records it as the org's
	// head (AuditHeadRow, with r.HeadMAC, or what r.HeadMACOf returns if
	// r is still the org's newest entry when the head row is written;
	// within a transaction, before any statement that reads it). ErrInvalid for a malformed
	// record (empty or unstorable org or strings, an empty Target, Seq 0, a Hash that is
	// not 32 bytes, a MAC or HeadMAC that is neither nil nor 32 bytes, a
	// Body that is not a JSON object of at most MaxAuditBody bytes);
	// ErrConflict if r.Seq is not exactly one more than the org's newest
	// entry's.
	AppendAudit(ctx context.Context, r AuditRecord) error
	// RecordAuditHead records h as its org's head (AuditHeadRow), for a log
	// whose newest entry was written before heads were recorded (migration
	// 00006): internal/audit's adopt writes it with its MAC. ErrInvalid for
	// a malformed h (empty org, Seq 0, a Hash not 32 bytes, a MAC neither
	// nil nor 32 bytes); ErrConflict unless h.Seq is the org's newest entry
	// and h.Hash that entry's hash, so a head never disagrees with the log.
	RecordAuditHead(ctx context.Context, h AuditHeadRow) error
	// AppendAuditCheckpoint stores a checkpoint. ErrInvalid for a malformed
	// one; ErrNotFound if the org has no entry c.Seq; ErrConflict if the
	// entry's Hash is not c.Head or a checkpoint at c.Seq exists. The
	// signature is not checked here (the store has no key).
	AppendAuditCheckpoint(ctx context.Context, c AuditCheckpoint) error
	// PruneAudit deletes the org's entries with Seq ≤ through, recording an
	// AuditPrune first. ErrRefused unless a checkpoint at exactly through
	// exists and at least one entry after it remains (the caller records
	// the prune as an entry first). Returns how many entries it deleted.
	PruneAudit(ctx context.Context, org string, through uint64) (int64, error)
	// SetAuditCursor stores exporter name's position in the org's log.
	// ErrInvalid for malformed names.
	SetAuditCursor(ctx context.Context, org, name string, seq uint64) error
	// SetAuditSettings replaces the org's audit settings and records a
	// KindAuditSettingsPut change (the Write makes a new revision).
	// ErrInvalid unless settings is a JSON object of at most MaxJSONBytes.
	SetAuditSettings(ctx context.Context, org string, settings []byte) error
}

// KindAuditSettingsPut is the changelog kind of SetAuditSettings; its
// Org and Key are the org, its payload an AuditSettingsChange. It is not
// decision state: the engine and the public change feed skip it.
const KindAuditSettingsPut Kind = "audit_settings.put"

// AuditSettingsChange is a KindAuditSettingsPut payload: the org's
// settings as SetAuditSettings stored them.
type AuditSettingsChange struct {
	Org      string          `json:"org"`
	Settings json.RawMessage `json:"settings"`
}

// Audit limits.
const (
	MaxAuditBatch = 10000   // ReadAudit, ListAuditCheckpoints
	MaxAuditBody  = 1 << 20 // one entry's Body
	MaxAuditField = 4096    // Org, Actor, Action, Target, Result, KeyID, exporter names
)
