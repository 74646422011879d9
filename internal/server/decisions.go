package server

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// Decision routes. Every one takes consistency.at_least (the body, or the
// at_least query parameter of GET routes).
//
// The handlers only parse and answer: the caller's right to ask (a member
// asking about itself, or bindings:read in the namespace for asking about
// another), the decision and its audit entry are the directory's
// (directory.Asker, which remembers the right to ask per engine revision,
// so repeated checks go straight to the engine's lock-free,
// allocation-free Check; a batch uses one Asker for all its items).

func (s *Server) decisionRoutes() []*Route {
	atLeast := Param{"at_least", "integer", "answer at a revision ≥ this one (bounded wait, then 503)"}
	return []*Route{
		route("POST", "/v1/orgs/{org}/check", "decisions", "May principal do action on resource? (asking about another principal needs bindings:read in the namespace)", s.check).selfBounded(),
		route("POST", "/v1/orgs/{org}/checks", "decisions", "Up to 1,000 checks in one call, each answered independently.", s.checks).maxBody(4 << 20).selfBounded(),
		route("POST", "/v1/orgs/{org}/explain", "decisions", "A check with the bindings, roles, patterns and conditions that decided it.", s.explain),
		route("POST", "/v1/orgs/{org}/lookup/resources", "decisions", "Which resources may principal do action on? (\"what can Alice run?\")", s.lookupResources),
		route("POST", "/v1/orgs/{org}/lookup/subjects", "decisions", "Who may do action on resource? (\"who can run this chain?\"; needs bindings:read)", s.lookupSubjects),
		route("GET", "/v1/orgs/{org}/principals/{principal}/permissions", "decisions", "What a principal holds in a namespace (for UIs that hide what one cannot do).", s.permissions).
			query(Param{"namespace", "string", "default: \"default\""}, atLeast),
	}
}

// waitFor honours consistency.at_least: it waits at most the server's
// consistency timeout for the engine to reach rev, then fails with
// directory.ErrNotCaughtUp (503).
func (s *Server) waitFor(c *call, rev uint64) error {
	if rev == 0 || s.dir.Revision() >= rev {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, s.consistency)
	defer cancel()
	err := s.dir.WaitFor(ctx, rev)
	if err == nil {
		return nil
	}
	if c.ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, directory.ErrNotCaughtUp)) {
		return &directory.Error{Op: "wait for revision", Kind: directory.ErrNotCaughtUp, Cause: err}
	}
	return err
}

func atLeastOf(c *Consistency) uint64 {
	if c == nil {
		return 0
	}
	return c.AtLeast
}

// parseAction parses "<type>:<action>" (no wildcards).
func parseAction(field, s string) (policy.Permission, error) {
	p, err := policy.ParsePermission(s)
	if err != nil || p.Resource == policy.Wildcard || p.Action == policy.Wildcard {
		return policy.Permission{}, invalidField(field, "%s must be <type>:<action> without wildcards, e.g. \"chains:run\" (got %q)", field, s)
	}
	return p, nil
}

// parseResource parses "<type>/<id>" and checks the type against want.
func parseResource(field, s, wantType string) (string, error) {
	if s == "" {
		return "", nil
	}
	typ, id, ok := strings.Cut(s, "/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", invalidField(field, "%s must be <type>/<id>, e.g. \"chains/escalation-triage\" (got %q)", field, s)
	}
	if !ident.IsResourceID(id) {
		return "", invalidField(field, "%s: %q is not a resource id (1 to 256 bytes of printable characters, no '/', no surrounding spaces)", field, id)
	}
	if typ != wantType {
		return "", invalidField(field, "%s is of type %q but the action is about %q", field, typ, wantType)
	}
	return id, nil
}

// request builds an engine request from a check item.
func (c *call) request(it *BatchItem) (authz.Request, error) {
	perm, err := parseAction("action", it.Action)
	if err != nil {
		return authz.Request{}, err
	}
	id, err := parseResource("resource", it.Resource, perm.Resource)
	if err != nil {
		return authz.Request{}, err
	}
	if err := checkAsked(it.Principal, c.id.Principal, it.OnBehalfOf, it.Namespace); err != nil {
		return authz.Request{}, err
	}
	req := authz.Request{
		Org: c.org(), Principal: it.Principal, Namespace: it.Namespace,
		ResourceType: perm.Resource, ResourceID: id, Action: perm.Action,
		Context: it.Context, OnBehalfOf: it.OnBehalfOf,
	}
	if req.Principal == "" {
		req.Principal = c.id.Principal
	}
	if req.Namespace == "" {
		req.Namespace = authz.DefaultNamespace
	}
	return req, nil
}

// warningsOut is a decision's warnings as the API answers them (nil for
// none).
func warningsOut(ws []directory.Warning) []api.CheckWarning {
	if len(ws) == 0 {
		return nil
	}
	out := make([]api.CheckWarning, len(ws))
	for i, w := range ws {
		out[i] = api.CheckWarning{Code: w.Code, Message: w.Message}
	}
	return out
}

// checkOut is a decision as /check answers it (the approval object, when
// there is one, is the caller's to add).
func checkOut(d authz.Decision) CheckResponse {
	out := CheckResponse{Allowed: d.Allowed, Revision: d.Revision, Obligations: rulesOut(d.Obligations), Advice: rulesOut(d.Advice), Reason: string(d.Reason)}
	if d.ApprovalRequired {
		out.Result = api.ResultApprovalRequired
	}
	return out
}

func (s *Server) check(c *call, in *CheckRequest) (CheckResponse, error) {
	dm := s.dmCheck
	if err := s.waitFor(c, atLeastOf(in.Consistency)); err != nil {
		return CheckResponse{}, err
	}
	var (
		out     CheckResponse
		allowed bool
		err     error
	)
	if at := atOf(in); at != (directory.At{}) {
		// The past, rebuilt from the changelog: nothing is requested or
		// consumed, so an ask before rule answers approval_required alone.
		var req authz.Request
		if req, err = c.request(&BatchItem{Principal: in.Principal, Action: in.Action, Resource: in.Resource, Namespace: in.Namespace, Context: in.Context, OnBehalfOf: in.OnBehalfOf}); err == nil {
			var d authz.Decision
			if d, err = s.dir.CheckAt(c.ctx, c.actor(), req, at); err == nil {
				out, allowed = checkOut(d), d.Allowed
			}
		}
	} else {
		a := s.dir.Asker(c.actor())
		a.Gated(c.gate)
		out, allowed, err = s.checkApproval(c, in, &a) // approvals.go
	}
	if err != nil {
		dm.errs.Inc()
		return CheckResponse{}, err
	}
	dm.record(allowed)
	return out, nil
}

func (s *Server) checks(c *call, in *BatchCheckRequest) (BatchCheckResponse, error) {
	dm := s.dm["checks"]
	if len(in.Checks) > MaxBatch {
		return BatchCheckResponse{}, invalidField("checks", "a batch holds at most %d checks (got %d)", MaxBatch, len(in.Checks))
	}
	if err := s.waitFor(c, atLeastOf(in.Consistency)); err != nil {
		return BatchCheckResponse{}, err
	}
	out := BatchCheckResponse{Results: c.batchResults(len(in.Checks)), Revision: s.dir.Revision()}
	var nAllow, nDeny float64
	a := s.dir.Asker(c.actor())
	a.Gated(c.gate)
	// One request for the whole batch: a.Check's pointer escapes, so a
	// request per item was an allocation per item; nothing keeps it after
	// the call returns (the engine's eval lives on the stack, the audit
	// entry copies what it records).
	var req authz.Request
	for i := range in.Checks {
		var err error
		req, err = c.request(&in.Checks[i])
		if err == nil {
			// As /check: approval_required answers carry the approval; a
			// presented approval is consumed once (directory/approvals.go),
			// so two items presenting one approval get one allow.
			it := &in.Checks[i]
			var d authz.Decision
			var ap *store.Approval
			if d, ap, err = a.CheckApproval(c.ctx, &req, directory.ApprovalInput{Arguments: it.Arguments, ApprovalID: strings.TrimSpace(it.ApprovalID)}); err == nil {
				out.Results[i] = BatchResult{Allowed: d.Allowed, Obligations: rulesOut(d.Obligations), Advice: rulesOut(d.Advice), Reason: string(d.Reason)}
				if d.ApprovalRequired || d.Allowed && ap != nil {
					co := checkOut(d)
					out.Results[i].Result, out.Results[i].Approval = co.Result, approvalOut(ap)
				} else if !d.Allowed {
					out.Results[i].Warnings = warningsOut(a.DecisionWarnings(&req, d))
				}
				if d.Allowed {
					nAllow++
				} else {
					nDeny++
				}
				out.Revision = max(out.Revision, d.Revision)
				continue
			}
		}
		p := toProblem(err)
		if p.Status >= 500 {
			// An item cannot be half-answered with an internal error: the
			// whole batch fails closed, so a client never mistakes it.
			return BatchCheckResponse{}, err
		}
		item := apiProblem(p)
		item.Field = prefixField(i, p.Field)
		out.Results[i] = BatchResult{Error: &item}
		dm.errs.Inc()
	}
	dm.allow.Add(nAllow)
	dm.deny.Add(nDeny)
	return out, nil
}

func prefixField(i int, f string) string {
	p := "checks[" + itoa(i) + "]"
	if f == "" {
		return p
	}
	return p + "." + f
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

func (s *Server) explain(c *call, in *CheckRequest) (ExplainResponse, error) {
	if err := s.waitFor(c, atLeastOf(in.Consistency)); err != nil {
		return ExplainResponse{}, err
	}
	req, err := c.request(&BatchItem{Principal: in.Principal, Action: in.Action, Resource: in.Resource, Namespace: in.Namespace, Context: in.Context, OnBehalfOf: in.OnBehalfOf})
	if err != nil {
		return ExplainResponse{}, err
	}
	ex, err := s.dir.ExplainAt(c.ctx, c.actor(), req, atOf(in))
	if err != nil {
		return ExplainResponse{}, err
	}
	s.dm["explain"].record(ex.Decision.Allowed)
	return ExplainResponse{
		Allowed: ex.Decision.Allowed, Revision: ex.Decision.Revision, Reason: string(ex.Decision.Reason), Summary: ex.Summary,
		Grants: tracesOut(ex.Grants), Near: tracesOut(ex.Near),
		Obligations: rulesOut(ex.Decision.Obligations), Advice: rulesOut(ex.Decision.Advice),
	}, nil
}

func (s *Server) lookupResources(c *call, in *LookupResourcesRequest) (LookupResourcesResponse, error) {
	if err := s.waitFor(c, atLeastOf(in.Consistency)); err != nil {
		return LookupResourcesResponse{}, err
	}
	perm, err := parseAction("action", in.Action)
	if err != nil {
		return LookupResourcesResponse{}, err
	}
	if err := checkAsked(in.Principal, c.id.Principal, in.OnBehalfOf, in.Namespace); err != nil {
		return LookupResourcesResponse{}, err
	}
	if in.PageSize < 0 || in.PageSize > 10000 {
		return LookupResourcesResponse{}, invalidField("page_size", "page_size must be from 1 to 10000")
	}
	q := authz.LookupResourcesRequest{
		Org: c.org(), Principal: in.Principal, Type: perm.Resource, Action: perm.Action, Namespace: in.Namespace,
		Context: in.Context, OnBehalfOf: in.OnBehalfOf, PageSize: in.PageSize, PageToken: in.Cursor,
		IncludeConditional: in.IncludeConditional,
	}
	if q.Principal == "" {
		q.Principal = c.id.Principal
	}
	page, err := s.dir.LookupResourcesAt(c.ctx, c.actor(), q, directory.At{Revision: in.AtRevision, Time: in.AtTime})
	if err != nil {
		return LookupResourcesResponse{}, err
	}
	items := page.Resources
	if items == nil {
		items = []authz.ResourceRef{}
	}
	out := LookupResourcesResponse{Items: each(items, apiRef), NextCursor: page.NextPageToken, Revision: page.Revision,
		ApprovalRequired: each(page.ApprovalRequired, apiRef), Reason: string(page.Reason)}
	for _, c := range page.Conditional {
		out.Conditional = append(out.Conditional, api.ConditionalRef{ResourceRef: apiRef(c.ResourceRef), Conditions: c.Conditions})
	}
	return out, nil
}

func (s *Server) lookupSubjects(c *call, in *LookupSubjectsRequest) (LookupSubjectsResponse, error) {
	if err := s.waitFor(c, atLeastOf(in.Consistency)); err != nil {
		return LookupSubjectsResponse{}, err
	}
	perm, err := parseAction("action", in.Action)
	if err != nil {
		return LookupSubjectsResponse{}, err
	}
	id, err := parseResource("resource", in.Resource, perm.Resource)
	if err != nil {
		return LookupSubjectsResponse{}, err
	}
	if in.Namespace != "" && !validSlug(in.Namespace) {
		return LookupSubjectsResponse{}, badNamespace("namespace", in.Namespace)
	}
	ns := in.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	subs, reason, rev, err := s.dir.LookupSubjectsAt(c.ctx, c.actor(), authz.LookupSubjectsRequest{
		Org: c.org(), Namespace: ns, Type: perm.Resource, ID: id, Action: perm.Action, Context: in.Context,
		IncludeConditional: in.IncludeConditional,
	}, directory.At{Revision: in.AtRevision, Time: in.AtTime})
	if err != nil {
		return LookupSubjectsResponse{}, err
	}
	if subs == nil {
		subs = []authz.Subject{}
	}
	return LookupSubjectsResponse{Items: each(subs, apiSubject), Revision: rev, Reason: string(reason)}, nil
}

func (s *Server) permissions(c *call, _ *noBody) (PermissionsResponse, error) {
	rev, err := c.queryUint("at_least")
	if err != nil {
		return PermissionsResponse{}, err
	}
	if err := s.waitFor(c, rev); err != nil {
		return PermissionsResponse{}, err
	}
	ns := c.r.URL.Query().Get("namespace")
	if ns == "" {
		ns = authz.DefaultNamespace
	} else if !validSlug(ns) {
		return PermissionsResponse{}, badNamespace("namespace", ns)
	}
	principal := c.path("principal")
	if err := checkSubject("principal", principal); err != nil {
		return PermissionsResponse{}, err
	}
	gs, reason, at, err := s.dir.PermissionsWithReason(c.ctx, c.actor(), c.org(), principal, ns, 0)
	if err != nil {
		return PermissionsResponse{}, err
	}
	return PermissionsResponse{Principal: principal, Namespace: ns, Items: grantsOut(gs), Revision: at, Reason: string(reason)}, nil
}

// validatePolicy compiles and lints a text as the directory would store
// it. It needs policy:read (checked by reading the policy through the
// directory).
func (s *Server) validatePolicy(c *call, in *ValidateRequest) (ValidateResponse, error) {
	if _, err := s.dir.GetPolicy(c.ctx, c.actor(), c.org()); err != nil {
		return ValidateResponse{}, err
	}
	_, diags := policy.Load(directory.PolicyFile, []byte(in.Text), templates.LintOptions())
	diags.Sort()
	out := ValidateResponse{Valid: !diags.HasErrors(), Diagnostics: each(diags, apiDiagnostic)}
	if out.Diagnostics == nil {
		out.Diagnostics = []api.Diagnostic{}
	}
	return out, nil
}
