package store

import (
	"context"
	"time"
)

// Approvals and runs (DESIGN §1.1 item 8, §1.4). Like run tokens they are
// records, not directory state: the engine never sees them, so their
// writes commit without a new revision or changelog entry (as audit rows
// do), and they commit or roll back with the audit entry that records
// them, written in the same Write.
//
// Invariants the conformance suite checks:
//
//   - Org isolation: every read and write names the org; another org's id
//     is ErrNotFound.
//   - Compare-and-set state changes: UpdateApproval and UpdateRun name the
//     status they change from and fail with ErrConflict when the stored
//     status differs. Writers are serialized (the write lock), so of any
//     number of transactions consuming one granted approval exactly one
//     succeeds, and it commits with its audit entry or not at all.
//   - Records are never deleted: an approval ends denied, expired or
//     consumed; a run ends succeeded or failed.

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalGranted  = "granted"
	ApprovalDenied   = "denied"
	ApprovalExpired  = "expired"
	ApprovalConsumed = "consumed"
)

// Approval is a request for people's approval of one exact question.
type Approval struct {
	ID  string `json:"id"` // 32 lower-case hex digits, time-ordered
	Org string `json:"org"`
	// Key is the lower-case hex SHA-256 of the question: org, principal,
	// on_behalf_of, action, resource, namespace, the resource's spec
	// version and ArgsDigest. A request is bound to the approval iff its
	// key is equal.
	Key          string `json:"key"`
	Principal    string `json:"principal"`
	OnBehalfOf   string `json:"on_behalf_of,omitempty"`
	Namespace    string `json:"namespace"`
	ResourceType string `json:"type"`
	ResourceID   string `json:"resource_id,omitempty"`
	Action       string `json:"action"`
	SpecVersion  uint64 `json:"spec_version,omitempty"`
	ArgsDigest   string `json:"arguments_sha256"`
	Status       string `json:"status"`
	Quorum       int    `json:"quorum"`
	// From lists, per ask rule that restricts its approvers, the roles of
	// which an approver must hold one.
	From        [][]string     `json:"from,omitempty"`
	Rules       []string       `json:"rules"` // the ask rules, as written, with file:line
	Votes       []ApprovalVote `json:"votes,omitempty"`
	RequestedBy string         `json:"requested_by"` // the caller that asked
	// RequestedVia is who minted the credential the approval was asked
	// with, when not the caller itself (a service key's creator, an agent
	// token's minter; "" otherwise): it stands behind the request and may
	// not approve it. Set at creation, never changed.
	RequestedVia string    `json:"requested_via,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"` // pending until then
	GrantedAt    time.Time `json:"granted_at,omitzero"`
	UseBy        time.Time `json:"use_by,omitzero"` // a granted approval must be used before
	DecidedAt    time.Time `json:"decided_at,omitzero"`
	ConsumedAt   time.Time `json:"consumed_at,omitzero"`
	ConsumedBy   string    `json:"consumed_by,omitempty"`
}

// ApprovalVote is one person's answer.
type ApprovalVote struct {
	By      string    `json:"by"`
	Approve bool      `json:"approve"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ApprovalFilter narrows ListApprovals; empty fields match everything.
type ApprovalFilter struct {
	Status    string
	Principal string // the requester (principal or on_behalf_of)
}

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// Run is one recorded execution of a runnable resource.
type Run struct {
	ID           string    `json:"id"` // 32 lower-case hex digits, time-ordered
	Org          string    `json:"org"`
	Namespace    string    `json:"namespace"`
	ResourceType string    `json:"type"`
	ResourceID   string    `json:"resource_id"`
	SpecVersion  uint64    `json:"spec_version"`
	Principal    string    `json:"principal"`
	OnBehalfOf   string    `json:"on_behalf_of,omitempty"`
	TriggeredBy  string    `json:"triggered_by"` // the caller
	ApprovalID   string    `json:"approval_id,omitempty"`
	Runtime      string    `json:"runtime,omitempty"` // who may finish it ("" : the caller)
	Secrets      []string  `json:"secrets,omitempty"` // names a run token of this run releases
	InputDigest  string    `json:"input_sha256"`
	InputSize    int64     `json:"input_size"`
	InputSummary string    `json:"input_summary,omitempty"`
	Status       string    `json:"status"`
	Error        string    `json:"error,omitempty"`
	OutputDigest string    `json:"output_sha256,omitempty"`
	OutputSize   int64     `json:"output_size,omitempty"`
	OutputSum    string    `json:"output_summary,omitempty"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	DurationMS   int64     `json:"duration_ms,omitempty"`
}

// RunFilter narrows ListRuns; empty fields match everything.
type RunFilter struct {
	Status    string
	Namespace string
	Type      string
	ID        string // the resource id (with Namespace and Type)
}

// MaxRecordBytes bounds an approval or run record (its JSON).
const MaxRecordBytes = 64 << 10

// ApprovalReader reads approvals and runs.
type ApprovalReader interface {
	// GetApproval returns an approval. ErrNotFound.
	GetApproval(ctx context.Context, org, id string) (Approval, error)
	// ListApprovals lists the org's approvals matching f, newest first.
	ListApprovals(ctx context.Context, org string, f ApprovalFilter, p Page) ([]Approval, string, error)
	// FindApprovals returns the org's approvals with this key whose status
	// is pending or granted, newest first (at most a few).
	FindApprovals(ctx context.Context, org, key string) ([]Approval, error)
	// GetRun returns a run. ErrNotFound.
	GetRun(ctx context.Context, org, id string) (Run, error)
	// ListRuns lists the org's runs matching f, newest first.
	ListRuns(ctx context.Context, org string, f RunFilter, p Page) ([]Run, string, error)
}

// ApprovalWriter writes approvals and runs (bookkeeping: no revision).
type ApprovalWriter interface {
	// CreateApproval stores a (CreatedAt is the transaction's time).
	// ErrInvalid for malformed fields; ErrNotFound if the org does not
	// exist; ErrConflict if the id is taken.
	CreateApproval(ctx context.Context, a Approval) (Approval, error)
	// UpdateApproval replaces the approval's state (status, votes, times,
	// consumer) if its stored status is from. ErrNotFound; ErrConflict if
	// the status is not from; ErrInvalid.
	UpdateApproval(ctx context.Context, a Approval, from string) (Approval, error)
	// CreateRun stores r (StartedAt is the transaction's time). Errors as
	// CreateApproval.
	CreateRun(ctx context.Context, r Run) (Run, error)
	// UpdateRun replaces the run's outcome if its stored status is from.
	// ErrNotFound; ErrConflict; ErrInvalid.
	UpdateRun(ctx context.Context, r Run, from string) (Run, error)
}
