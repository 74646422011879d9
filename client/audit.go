package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
)

// The audit log (DESIGN §7): read, follow and verify an org's log, export
// its signed checkpoints, see a resource's history, and set which
// decisions are recorded.

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

// AuditFilter narrows ListAudit; zero fields match everything.
type AuditFilter struct {
	Actor  string // exact principal
	Action string // exact, or a prefix ending in '*' ("bindings.*")
	Target string
	Result string // "success", "denied" or "error"
	Since  time.Time
	Until  time.Time
	After  uint64 // entries with a sequence number above it (to follow)
	Newest bool   // newest first
	// Wait, with After, long-polls up to this long (at most 30s) for new
	// entries when there are none yet.
	Wait time.Duration
}

func (f AuditFilter) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("actor", f.Actor)
	set("action", f.Action)
	set("target", f.Target)
	set("result", f.Result)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatUint(f.After, 10))
	}
	if f.Newest {
		q.Set("order", "newest")
	}
	if f.Wait > 0 {
		q.Set("wait", strconv.Itoa(int(min(f.Wait, 30*time.Second)/time.Second)))
	}
	return q
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

// AuditVerification is the outcome of VerifyAudit: OK, or Problem names
// the first bad entry.
type AuditVerification struct {
	OK      bool          `json:"ok"`
	Report  AuditReport   `json:"report"`
	Problem *AuditProblem `json:"problem,omitempty"`
}

type auditVerifyRequest struct {
	Checkpoints []Checkpoint `json:"checkpoints,omitempty"`
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

// ListAudit lists one page of the org's audit log (audit:read).
func (c *Client) ListAudit(ctx context.Context, org string, f AuditFilter, o *ListOptions) (List[AuditEntry], error) {
	return list[AuditEntry](ctx, c, orgPath(org)+"/audit", f.values(), o)
}

// VerifyAudit verifies the org's log against its stored checkpoints and
// the exported ones given. A tampered log is not an error: the answer has
// OK false and the Problem.
func (c *Client) VerifyAudit(ctx context.Context, org string, checkpoints []Checkpoint) (AuditVerification, error) {
	var out AuditVerification
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/audit/verify", body: auditVerifyRequest{Checkpoints: checkpoints}}, &out)
	return out, err
}

// AuditCheckpoints lists the org's signed checkpoints above sequence after.
func (c *Client) AuditCheckpoints(ctx context.Context, org string, after uint64) ([]Checkpoint, error) {
	var q url.Values
	if after > 0 {
		q = url.Values{"after": {strconv.FormatUint(after, 10)}}
	}
	l, err := get[List[Checkpoint]](ctx, c, orgPath(org)+"/audit/checkpoints", q)
	return l.Items, err
}

// ResourceHistory lists every version of a resource, oldest first, with
// its audit entry.
func (c *Client) ResourceHistory(ctx context.Context, org string, ref authz.ResourceRef) ([]VersionHistory, error) {
	l, err := get[List[VersionHistory]](ctx, c, resourcePath(org, ref)+"/history", nil)
	return l.Items, err
}

// GetAuditSettings gets which decisions the org records.
func (c *Client) GetAuditSettings(ctx context.Context, org string) (AuditSettings, error) {
	return get[AuditSettings](ctx, c, orgPath(org)+"/audit/settings", nil)
}

// SetAuditSettings sets which decisions the org records (audit:update).
func (c *Client) SetAuditSettings(ctx context.Context, org string, s AuditSettings) (uint64, error) {
	return writeRev(ctx, c, http.MethodPut, orgPath(org)+"/audit/settings", nil, s)
}

// DeleteMe deletes the caller's own user and every membership (409 while
// it is the last owner of an org; a personal key or session only).
func (c *Client) DeleteMe(ctx context.Context) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, "/v1/me", nil, nil)
}
