package api

import (
	"encoding/json"
	"time"
)

// Runs (DESIGN §1.4).

// RunStartRequest is the body of POST /v1/orgs/{org}/runs.
type RunStartRequest struct {
	Resource   string          `json:"resource"` // "<type>/<id>"
	Namespace  string          `json:"namespace,omitempty"`
	OnBehalfOf string          `json:"on_behalf_of,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"` // any JSON; an approval is bound to it
	ApprovalID string          `json:"approval_id,omitempty"`
	// IssueToken also issues the vault's run token (secret injection);
	// Runtime names the only service that may exchange it (and finish the
	// run).
	IssueToken bool   `json:"issue_token,omitempty"`
	Runtime    string `json:"runtime,omitempty"`
}

// RunStartResponse answers a start: 201 with the run (and its token), or
// 202 with result approval_required and the approval (no run).
type RunStartResponse struct {
	Result   string    `json:"result"` // "started" or "approval_required"
	Run      *Run      `json:"run,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
	RunToken *RunGrant `json:"run_token,omitempty"`
}

// RunFinishRequest is the body of POST .../runs/{id}/finish. Output is
// the run's output (at most 1 MiB; send its tail): the server redacts
// every value of a secret released to the run before storing its tail.
type RunFinishRequest struct {
	Status string `json:"status"` // succeeded or failed
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
}

// Run is one recorded execution.
type Run struct {
	ID            string    `json:"id"`
	Org           string    `json:"org"`
	Namespace     string    `json:"namespace"`
	Resource      string    `json:"resource"` // "<type>/<id>"
	SpecVersion   uint64    `json:"spec_version"`
	Principal     string    `json:"principal"`
	OnBehalfOf    string    `json:"on_behalf_of,omitempty"`
	TriggeredBy   string    `json:"triggered_by"`
	ApprovalID    string    `json:"approval_id,omitempty"`
	Runtime       string    `json:"runtime,omitempty"`
	Status        string    `json:"status"` // running, succeeded, failed
	InputDigest   string    `json:"input_sha256"`
	InputSize     int64     `json:"input_size"`
	InputSummary  string    `json:"input_summary,omitempty"`
	Error         string    `json:"error,omitempty"`
	OutputDigest  string    `json:"output_sha256,omitempty"`
	OutputSize    int64     `json:"output_size,omitempty"`
	OutputSummary string    `json:"output_summary,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	DurationMS    int64     `json:"duration_ms,omitempty"`
}
