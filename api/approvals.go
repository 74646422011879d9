package api

import "time"

// Approvals and runs (DESIGN §1.1 item 8, §1.4).

// ProblemApprovalRequired is the problem type the SDK's middleware answers
// when a check needs approval (its detail names the approval id).
const ProblemApprovalRequired = "approval-required"

// Approval statuses: an approval is pending until quorum approvers grant
// it or one denies it; granted until used (consumed) or its use window
// ends; pending and granted ones expire.
const (
	ApprovalPending, ApprovalGranted, ApprovalDenied = "pending", "granted", "denied"
	ApprovalExpired, ApprovalConsumed                = "expired", "consumed"
)

// ResultApprovalRequired is CheckResponse.Result for a request that needs
// a person's approval; Allowed is then false.
const ResultApprovalRequired = "approval_required"

// Approval is a request for people's approval of one exact question.
type Approval struct {
	ID          string `json:"id"`
	Org         string `json:"org"`
	Status      string `json:"status"` // pending, granted, denied, expired, consumed
	Principal   string `json:"principal"`
	OnBehalfOf  string `json:"on_behalf_of,omitempty"`
	Action      string `json:"action"` // "<type>:<action>"
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace"`
	SpecVersion uint64 `json:"spec_version,omitempty"`
	ArgsDigest  string `json:"arguments_sha256"`
	Quorum      int    `json:"quorum"`
	// From lists, per rule restricting its approvers, the roles of which
	// an approver must hold one.
	From        [][]string     `json:"from,omitempty"`
	Rules       []string       `json:"rules,omitempty"`
	Approvers   []string       `json:"approvers,omitempty"` // who may approve now (on reads of one approval)
	Votes       []ApprovalVote `json:"votes,omitempty"`
	RequestedBy string         `json:"requested_by"`
	CreatedAt   time.Time      `json:"created_at"`
	ExpiresAt   time.Time      `json:"expires_at"`
	UseBy       time.Time      `json:"use_by,omitzero"`
	ConsumedAt  time.Time      `json:"consumed_at,omitzero"`
}

// ApprovalVote is one approver's answer.
type ApprovalVote struct {
	By      string    `json:"by"`
	Approve bool      `json:"approve"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ApprovalDecisionRequest is the body of POST .../approvals/{id}/approve
// and .../deny.
type ApprovalDecisionRequest struct {
	Comment string `json:"comment,omitempty"`
}
