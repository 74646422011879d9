package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
)

// Approvals (DESIGN §1.1 item 8): a check that needs a person's approval
// answers Allowed false with Result "approval_required" and an Approval.
// An agent runtime waits for it (WaitForApproval) and, once granted,
// checks again presenting it (WithApproval) with the same arguments: that
// check is allowed once.

// Approval is a request for people's approval.
type Approval = api.Approval

// Approval statuses (api's).
const (
	ApprovalPending, ApprovalGranted, ApprovalDenied = api.ApprovalPending, api.ApprovalGranted, api.ApprovalDenied
	ApprovalExpired, ApprovalConsumed                = api.ApprovalExpired, api.ApprovalConsumed
)

// NeedsApproval reports whether d is an approval_required answer.
func NeedsApproval(d Decision) bool { return !d.Allowed && d.Result == api.ResultApprovalRequired }

// WithArguments binds a Check to the call's arguments (any value that
// encodes as JSON): an approval covers exactly these arguments.
func WithArguments(args any) CallOption {
	b, err := json.Marshal(args)
	return func(o *callOptions) {
		if err != nil {
			o.argErr = fmt.Errorf("client: arguments: %w", err)
			return
		}
		o.arguments = b
	}
}

// WithApproval presents a granted approval to a Check (allowed once).
func WithApproval(id string) CallOption { return func(o *callOptions) { o.approvalID = id } }

func approvalPath(org, id string) string { return orgPath(org) + "/approvals/" + seg(id) }

// GetApproval reads an approval (404 unless the caller asked for it, is
// its subject, or may approve it).
func (c *Client) GetApproval(ctx context.Context, org, id string) (Approval, error) {
	var out Approval
	err := c.do(ctx, request{method: http.MethodGet, path: approvalPath(org, id)}, &out)
	return out, err
}

// ListApprovals lists the approvals the caller may see ("" status: all),
// newest first, every page.
func (c *Client) ListApprovals(ctx context.Context, org, status string) ([]Approval, error) {
	var all []Approval
	cursor := ""
	for {
		q := url.Values{}
		if status != "" {
			q.Set("status", status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page api.List[Approval]
		if err := c.do(ctx, request{method: http.MethodGet, path: orgPath(org) + "/approvals", query: q}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// Approve approves a pending approval, with an optional comment.
func (c *Client) Approve(ctx context.Context, org, id, comment string) (Approval, error) {
	return c.answer(ctx, org, id, "approve", comment)
}

// Deny denies a pending approval (one deny ends it), with a comment.
func (c *Client) Deny(ctx context.Context, org, id, comment string) (Approval, error) {
	return c.answer(ctx, org, id, "deny", comment)
}

func (c *Client) answer(ctx context.Context, org, id, verb, comment string) (Approval, error) {
	var out Approval
	err := c.do(ctx, request{method: http.MethodPost, path: approvalPath(org, id) + "/" + verb,
		body: api.ApprovalDecisionRequest{Comment: comment}}, &out)
	return out, err
}

// WaitForApproval long-polls an approval until it is no longer pending
// (granted, denied, expired or consumed) or ctx ends (then it returns the
// last state read and ctx's error).
func (c *Client) WaitForApproval(ctx context.Context, org, id string) (Approval, error) {
	var last Approval
	for {
		var out Approval
		// Under the default client timeout (30s), and under ctx's deadline.
		wait := 20 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl)-time.Second)
		}
		q := url.Values{"wait": {strconv.Itoa(max(int(wait/time.Second), 0))}}
		err := c.do(ctx, request{method: http.MethodGet, path: approvalPath(org, id), query: q}, &out)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			return last, err
		}
		last = out
		if out.Status != ApprovalPending {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// SetApprovalSettings replaces how long the org's approvals live (needs
// org:update): PendingTTL 1m to 30d and UseWindow 1m to 24h, as Go
// durations or days ("7d"); "" or "0" is the server's default. New
// approvals get the new times; the org (GetOrg too) shows them.
func (c *Client) SetApprovalSettings(ctx context.Context, org string, s OrgApprovalSettings) (Org, uint64, error) {
	return writeItem[Org](ctx, c, http.MethodPut, orgPath(org)+"/approval-settings", s)
}
