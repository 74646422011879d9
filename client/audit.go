package client

import (
	"context"
	"github.com/gatehouse-dev/gatehouse/api"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The audit log (DESIGN §7): read, follow and verify an org's log, export
// its signed checkpoints, see a resource's history, and set which
// decisions are recorded.

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

type auditVerifyRequest = api.AuditVerifyRequest

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
func (c *Client) ResourceHistory(ctx context.Context, org string, ref ResourceRef) ([]VersionHistory, error) {
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
