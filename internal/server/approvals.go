package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Approval routes (DESIGN §1.1 item 8). The directory decides who sees
// and who may answer an approval (directory/approvals.go); these only
// parse and answer. An approval another org's member asks about, or one
// the caller may not see, is 404.

// maxApprovalWait bounds ?wait= on GET .../approvals/{id}.
const maxApprovalWait = 60 * time.Second

func (s *Server) approvalRoutes() []*Route {
	return []*Route{
		route("GET", "/v1/orgs/{org}/approvals", "approvals", "List the approvals the caller may see, newest first: those it asked for or is the subject of, and those of namespaces where it holds decisions:approve.",
			func(c *call, _ *noBody) (List[api.Approval], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Approval]{}, err
				}
				as, next, err := s.dir.ListApprovals(c.ctx, c.actor(), c.org(), c.r.URL.Query().Get("status"), p)
				return listOf(each(as, apiApproval), next), err
			}).query(append([]Param{{"status", "string", "pending, granted, denied, expired or consumed"}}, pageParams...)...),
		route("GET", "/v1/orgs/{org}/approvals/{id}", "approvals", "One approval, with who may approve it now. With ?wait=30s the answer waits (long-poll, at most 60s) until it is no longer pending.",
			func(c *call, _ *noBody) (api.Approval, error) {
				wait, err := parseWait(c.r.URL.Query().Get("wait"), maxApprovalWait)
				if err != nil {
					return api.Approval{}, err
				}
				ctx, done, err := s.followBudget(c, wait)
				if err != nil {
					return api.Approval{}, err
				}
				defer done()
				ap, err := s.dir.WaitApproval(ctx, c.actor(), c.org(), c.path("id"), time.Now().Add(wait))
				if err != nil {
					return api.Approval{}, err
				}
				out := apiApproval(ap)
				if ap.Status == store.ApprovalPending {
					out.Approvers = s.dir.Approvers(c.ctx, ap)
				}
				return out, nil
			}).query(Param{"wait", "string", "how long to wait while pending: seconds (\"30\") or a duration (\"30s\"), at most 60s"}).selfBounded(),
		route("POST", "/v1/orgs/{org}/approvals/{id}/approve", "approvals", "Approve a pending request (a user holding decisions:approve in its namespace, and the rule's from role; never the requester, never an agent). Granted once the quorum of distinct approvers is reached.",
			func(c *call, in *api.ApprovalDecisionRequest) (api.Approval, error) {
				ap, err := s.dir.DecideApproval(c.ctx, c.actor(), c.org(), c.path("id"), true, in.Comment)
				return apiApproval(ap), err
			}).optionalBody(),
		route("PUT", "/v1/orgs/{org}/approval-settings", "approvals", "Set how long the org's approvals live: pending_ttl (1m to 30d) and use_window (1m to 24h), Go durations or days (\"7d\"); \"\" or \"0\" is the server's default. Needs org:update and the policy's top level (owner): the lifetimes govern owner-level approvals too. New approvals get the new times; GET /v1/orgs/{org} shows them.",
			func(c *call, in *api.OrgApprovalSettings) (Written[api.Org], error) {
				if in.PendingTTLDefault || in.UseWindowDefault {
					return Written[api.Org]{}, invalidField("pending_ttl_default", "pending_ttl_default and use_window_default are answers; send \"0\" for the server's default")
				}
				pending, err := parseLifetime("pending_ttl", in.PendingTTL)
				if err != nil {
					return Written[api.Org]{}, err
				}
				window, err := parseLifetime("use_window", in.UseWindow)
				if err != nil {
					return Written[api.Org]{}, err
				}
				o, rev, err := s.dir.SetOrgApprovalSettings(c.ctx, c.actor(), c.org(), store.ApprovalSettings{PendingTTL: pending, UseWindow: window})
				return Written[api.Org]{Revision: rev, Item: s.apiOrg(o)}, err
			}).perm("org:update"),
		route("POST", "/v1/orgs/{org}/approvals/{id}/deny", "approvals", "Deny a pending request (as approve; one deny ends it). The comment is kept in the approval and the audit log.",
			func(c *call, in *api.ApprovalDecisionRequest) (api.Approval, error) {
				ap, err := s.dir.DecideApproval(c.ctx, c.actor(), c.org(), c.path("id"), false, in.Comment)
				return apiApproval(ap), err
			}).optionalBody(),
	}
}

func apiApproval(a store.Approval) api.Approval {
	out := api.Approval{
		ID: a.ID, Org: a.Org, Status: a.Status, Principal: a.Principal, OnBehalfOf: a.OnBehalfOf,
		Action: a.ResourceType + ":" + a.Action, Namespace: a.Namespace, SpecVersion: a.SpecVersion, ArgsDigest: a.ArgsDigest,
		Quorum: a.Quorum, From: a.From, Rules: a.Rules, RequestedBy: a.RequestedBy,
		CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, UseBy: a.UseBy, ConsumedAt: a.ConsumedAt,
	}
	if a.ResourceID != "" {
		out.Resource = a.ResourceType + "/" + a.ResourceID
	}
	for _, v := range a.Votes {
		out.Votes = append(out.Votes, api.ApprovalVote{By: v.By, Approve: v.Approve, Comment: v.Comment, At: v.At})
	}
	return out
}

// approvalOut is the approval part of a check's answer.
func approvalOut(ap *store.Approval) *api.Approval {
	if ap == nil {
		return nil
	}
	out := apiApproval(*ap)
	return &out
}

// checkApproval decides a check that may involve approvals.
func (s *Server) checkApproval(c *call, in *CheckRequest, a *directory.Asker) (CheckResponse, bool, error) {
	req := &c.areq // its pointer escapes into the engine: the call's, not an allocation
	var err error
	if *req, err = c.request(&BatchItem{Principal: in.Principal, Action: in.Action, Resource: in.Resource, Namespace: in.Namespace, Context: in.Context, OnBehalfOf: in.OnBehalfOf}); err != nil {
		return CheckResponse{}, false, err
	}
	d, ap, err := a.CheckApproval(c.ctx, req, directory.ApprovalInput{Arguments: in.Arguments, ApprovalID: strings.TrimSpace(in.ApprovalID)})
	if err != nil {
		return CheckResponse{}, false, err
	}
	out := checkOut(d)
	if d.ApprovalRequired {
		out.Approval = approvalOut(ap)
	} else if d.Allowed && ap != nil {
		out.Approval = approvalOut(ap) // the approval this allow consumed
	} else if !d.Allowed {
		// At most one warning, converted without the directory's slice.
		if w, ok := a.DecisionWarning(req, d); ok {
			out.Warnings = []api.CheckWarning{{Code: w.Code, Message: w.Message}}
		}
	}
	return out, d.Allowed, nil
}

// parseLifetime reads an approval lifetime: a Go duration ("15m", "24h")
// or whole days ("7d"); "" and "0" are 0 (the server's default). The
// directory checks the bounds.
func parseLifetime(field, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, invalidField(field, "%s must be a duration such as \"15m\", \"24h\" or \"7d\" (got %q)", field, v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, invalidField(field, "%s must be a duration such as \"15m\", \"24h\" or \"7d\" (got %q)", field, v)
	}
	return d, nil
}

// approvalWarnings are the member-aware warnings of the policy just
// written at rev (directory.ApprovalWarnings). The write has committed:
// when they cannot be computed (the engine is slow to catch up, a store
// read fails) the answer has none, and the failure is logged.
func (s *Server) approvalWarnings(c *call, rev uint64) []api.Diagnostic {
	err := s.waitFor(c, rev)
	var diags token.List
	if err == nil {
		diags, err = s.dir.ApprovalWarnings(c.ctx, c.org())
	}
	if err != nil {
		s.log.Warn("server: the policy's approval warnings could not be computed", "org", c.org(), "err", err)
		return nil
	}
	return each(diags, apiDiagnostic)
}
