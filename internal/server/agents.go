package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Agent lifecycles (docs/agents.md): attestation, the org's suspension
// rules, and each agent's status as the engine sees it now.

// agentOut converts an agent of org with its current status.
func (s *Server) agentOut(org string) func(store.Agent) api.Agent {
	return func(a store.Agent) api.Agent {
		out := apiAgent(a)
		out.Status = s.dir.AgentStatus(org, a)
		return out
	}
}

// serviceOut converts a service of org with its current status.
func (s *Server) serviceOut(org string) func(store.Service) api.Service {
	return func(sv store.Service) api.Service {
		out := apiService(sv)
		out.Status = s.dir.ServiceStatus(org, sv)
		return out
	}
}

func (s *Server) lifecycleRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/agents/{agent}/attest", "agents",
			"Attest an agent: a sponsor (a sponsoring user, or a member of a sponsoring team) vouches for it now, which lifts attestation_due and inactive.",
			func(c *call, _ *noBody) (Written[api.Agent], error) {
				touched := auth.Touched{Raised: []string{authz.KindAgent + ":" + c.path("agent")}}
				before := s.refusedBefore(touched)
				a, rev, err := s.dir.AttestAgent(c.ctx, c.actor(), c.org(), c.path("agent"))
				// Lifting inactive or attestation_due raises its tokens' principal.
				return warnedWritten(s, c, "agent.attest", touched, before, s.agentOut(c.org())(a), rev, err)
			}),
		route("POST", "/v1/orgs/{org}/agents/{agent}/tokens", "agents",
			"Mint a short-lived agent token for the agent, optionally on behalf of a member user, bound to one audience (the absolute URL of the endpoint that will accept it, e.g. an MCP gateway endpoint). Needs apikeys:create and the escalation rules for acting as the agent; a user may name only itself as on_behalf_of. The token is shown once, lives ttl (default 5m, at most 1h), is refused by every other route, and stops at once when the agent is suspended, expires or is deleted, or the user leaves the org.",
			func(c *call, req *api.AgentTokenRequest) (api.AgentToken, error) {
				t, rev, err := s.auth.MintAgentToken(c.ctx, c.caller(), c.org(), c.path("agent"),
					auth.AgentTokenSpec{OnBehalfOf: req.OnBehalfOf, Audience: req.Audience, TTL: req.TTL})
				if err != nil {
					return api.AgentToken{}, err
				}
				return api.AgentToken{Revision: rev, Token: t.Token, TokenType: "Bearer", TokenID: t.ID, Agent: t.Agent,
					OnBehalfOf: t.OnBehalfOf, Audience: t.Audience, ExpiresAt: t.ExpiresAt}, nil
			}).created(),
		route("GET", "/v1/orgs/{org}/agents/{agent}/tokens", "agents",
			"List the agent's unexpired agent tokens, newest first, with who minted each and, once revoked, when and by whom; never a token itself. Needs apikeys:read. Tokens minted before this list existed are not in it (they expire within an hour).",
			func(c *call, _ *noBody) (List[api.AgentTokenInfo], error) {
				p, err := c.page()
				if err != nil {
					return List[api.AgentTokenInfo]{}, err
				}
				ts, next, err := s.auth.ListAgentTokens(c.ctx, c.caller(), c.org(), c.path("agent"), p)
				return listOf(each(ts, apiAgentToken), next), err
			}).perm("apikeys:read").query(pageParams...),
		route("GET", "/v1/orgs/{org}/agent-tokens", "agents",
			"List the org's unexpired agent tokens of every agent, newest first (as the per-agent list). Needs apikeys:read.",
			func(c *call, _ *noBody) (List[api.AgentTokenInfo], error) {
				p, err := c.page()
				if err != nil {
					return List[api.AgentTokenInfo]{}, err
				}
				ts, next, err := s.auth.ListAgentTokens(c.ctx, c.caller(), c.org(), c.r.URL.Query().Get("agent"), p)
				return listOf(each(ts, apiAgentToken), next), err
			}).perm("apikeys:read").query(append([]Param{{"agent", "string", "only this agent's tokens (its name)"}}, pageParams...)...),
		route("DELETE", "/v1/orgs/{org}/agents/{agent}/tokens/{token}", "agents",
			"Revoke one agent token by its id: it is refused at its next use (in every server process once the change reaches it). Needs apikeys:delete and the agent's level not above yours at any scope, as revoking a service's API key; revoking it again is 409.",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.auth.RevokeAgentToken(c.ctx, c.caller(), c.org(), c.path("agent"), c.path("token"))
				return Revision{Revision: rev}, err
			}).perm("apikeys:delete"),
		route("POST", "/v1/orgs/{org}/services/{service}/attest", "services",
			"Attest a service under the org's rules: a sponsor (a sponsoring user, or a member of a sponsoring team) vouches for it now, which lifts attestation_due and inactive.",
			func(c *call, _ *noBody) (Written[api.Service], error) {
				touched := auth.Touched{Raised: []string{authz.KindService + ":" + c.path("service")}}
				before := s.refusedBefore(touched)
				sv, rev, err := s.dir.AttestService(c.ctx, c.actor(), c.org(), c.path("service"))
				// Lifting inactive or attestation_due raises its keys' principal.
				return warnedWritten(s, c, "service.attest", touched, before, s.serviceOut(c.org())(sv), rev, err)
			}),
		route("POST", "/v1/orgs/{org}/services/{service}/suspend", "services",
			"Suspend a service by hand: every decision for it is deny with reason suspended, and its API keys and run-token exchanges are refused, until it is resumed. Needs services:update and the service's level not above yours.",
			func(c *call, _ *noBody) (Written[api.Service], error) {
				touched := auth.Touched{Lowered: []string{authz.KindService + ":" + c.path("service")}}
				before := s.refusedBefore(touched)
				sv, rev, err := s.dir.SuspendService(c.ctx, c.actor(), c.org(), c.path("service"), true)
				return warnedWritten(s, c, "service.suspend", touched, before, s.serviceOut(c.org())(sv), rev, err)
			}).perm("services:update"),
		route("POST", "/v1/orgs/{org}/services/{service}/resume", "services",
			"Lift a service's suspension: it can act again as its grants allow. Needs services:update and the service's level, counting the grants it holds while suspended, not above yours at any scope.",
			func(c *call, _ *noBody) (Written[api.Service], error) {
				touched := auth.Touched{Raised: []string{authz.KindService + ":" + c.path("service")}}
				before := s.refusedBefore(touched)
				sv, rev, err := s.dir.SuspendService(c.ctx, c.actor(), c.org(), c.path("service"), false)
				return warnedWritten(s, c, "service.resume", touched, before, s.serviceOut(c.org())(sv), rev, err)
			}).perm("services:update"),
		route("GET", "/v1/orgs/{org}/principals/{principal}/reach", "decisions",
			"Blast radius: everything the principal could do if hijacked — per namespace, resources × actions ranked most destructive first, the conditions they hold under, the secrets it could cause to be injected and the MCP tools it may call (yourself, or bindings:read).",
			func(c *call, _ *noBody) (api.Reach, error) {
				r, err := s.dir.Reach(c.ctx, c.actor(), c.org(), c.path("principal"))
				return apiReach(r), err
			}),
		route("PUT", "/v1/orgs/{org}/lifecycle", "orgs",
			"Set the org's suspension rules for agents (and services that opted in with lifecycle): suspend those unused for inactive_days, and those no sponsor attested for attestation_days (0: off).",
			func(c *call, req *api.OrgLifecycle) (Written[api.Org], error) {
				if req.InactiveDays < 0 || req.InactiveDays > 3650 {
					return Written[api.Org]{}, invalidField("inactive_days", "inactive_days must be 0 (off) to 3650")
				}
				if req.AttestationDays < 0 || req.AttestationDays > 3650 {
					return Written[api.Org]{}, invalidField("attestation_days", "attestation_days must be 0 (off) to 3650")
				}
				touched := auth.Touched{All: true}
				before := s.refusedBefore(touched)
				o, rev, err := s.dir.SetOrgLifecycle(c.ctx, c.actor(), c.org(), authz.LifecycleSettings{
					InactiveAfter: day * durationDays(req.InactiveDays), AttestEvery: day * durationDays(req.AttestationDays)})
				// New rules suspend or lift services, minters and principals.
				return warnedWritten(s, c, "org.lifecycle", touched, before, s.apiOrg(o), rev, err)
			}).perm("org:update"),
	}
}

func durationDays(n int) time.Duration { return time.Duration(n) }

// listByStatus is a page of agents or services (list) as out, keeping,
// when the query has ?status=, only those in that status (filterStatus).
func listByStatus[S, T any](c *call, list func(store.Page) ([]S, string, error), out func(S) T, status func(T) string) (List[T], error) {
	p, err := c.page()
	if err != nil {
		return List[T]{}, err
	}
	xs, next, err := list(p)
	items := each(xs, out)
	if st := c.r.URL.Query().Get("status"); st != "" {
		items = filterStatus(items, st, status)
	}
	return listOf(items, next), err
}

// filterStatus keeps the agents or services in status st ("suspended":
// any status but active).
func filterStatus[T any](as []T, st string, status func(T) string) []T {
	out := as[:0:0]
	for _, a := range as {
		if got := status(a); got == st || st == "suspended" && got != "active" {
			out = append(out, a)
		}
	}
	return out
}

var severities = [...]string{"all", "destructive", "change", "read"}

// apiReach converts a reach and says it in a few sentences.
func apiReach(r directory.Reach) api.Reach {
	out := api.Reach{Principal: r.Principal, Revision: r.Revision, Status: "active", Namespaces: []api.NamespaceReach{},
		HiddenSecrets: r.HiddenSecrets, Truncated: r.Truncated}
	if r.Status != "" {
		out.Status = string(r.Status)
	}
	var sentences []string
	destructive, conditional, approval := 0, 0, 0
	for _, nr := range r.Namespaces {
		an := api.NamespaceReach{Namespace: nr.Namespace}
		var top []string
		for _, e := range nr.Entries {
			ae := api.ReachEntry{Permission: e.Permission.String(), Resources: e.Resources, Conditions: e.Conditions, Severity: severities[min(e.Rank, 3)]}
			what := e.Permission.String()
			if e.Resource != (authz.ResourceRef{}) {
				ref := api.ResourceRef(e.Resource)
				ae.Resource = &ref
				what += " on " + e.Resource.Type + "/" + e.Resource.ID
			} else {
				what += fmt.Sprintf(" (%d resources)", e.Resources)
			}
			if e.Rank <= 1 {
				destructive++
			}
			if len(e.Conditions) > 0 {
				conditional++
				what += " when " + strings.Join(e.Conditions, " or ")
			}
			for _, a := range e.Asks {
				ae.Approvals = append(ae.Approvals, apiReachApproval(a.Rule, a.When))
			}
			if len(ae.Approvals) > 0 {
				approval++
				what += " (" + approvalNote(ae.Approvals) + ")"
			}
			if len(top) < 3 {
				top = append(top, what)
			}
			an.Entries = append(an.Entries, ae)
		}
		out.Namespaces = append(out.Namespaces, an)
		sentences = append(sentences, "in "+nr.Namespace+": "+strings.Join(top, "; "))
	}
	for _, s := range r.Secrets {
		as := api.SecretReach{Namespace: s.Namespace, Name: s.Name}
		as.Via = []api.ResourceRef{}
		for _, v := range s.Via {
			as.Via = append(as.Via, api.ResourceRef(v))
		}
		for _, v := range s.ViaApproval {
			as.ViaApproval = append(as.ViaApproval, api.ResourceRef(v))
		}
		out.Secrets = append(out.Secrets, as)
	}
	toolsApproval := 0
	for _, t := range r.Tools {
		at := api.ToolReach{Namespace: t.Namespace, Type: t.Type, ID: t.ID}
		for _, a := range t.Asks {
			at.Approvals = append(at.Approvals, apiReachApproval(a, nil))
		}
		if len(at.Approvals) > 0 {
			toolsApproval++
		}
		out.Tools = append(out.Tools, at)
	}
	switch {
	case out.Status != "active":
		out.Summary = fmt.Sprintf("%s can do nothing now (%s).", r.Principal, out.Status)
	case len(r.Namespaces) == 0:
		out.Summary = r.Principal + " can do nothing in this org."
	default:
		out.Summary = fmt.Sprintf("%s could, if hijacked, %s. %d destructive or unrestricted grants, %d conditional, %d needing a person's approval; %d secrets it could have injected, %d tools it may call (%d only with approval).",
			r.Principal, strings.Join(sentences, "; "), destructive, conditional, approval, len(r.Secrets)+r.HiddenSecrets, len(r.Tools), toolsApproval)
	}
	return out
}

// apiReachApproval says an ask rule applying when its condition and the
// binding conditions when hold.
func apiReachApproval(r *policy.AskRule, when []string) api.ReachApproval {
	a := api.ReachApproval{Permission: r.Permission.String(), Rule: r.Text(), Owner: r.Owner, Quorum: max(r.Quorum, 1), From: r.From}
	if r.Pos.IsValid() {
		a.Source = r.Pos.String()
	}
	if r.Condition != "" {
		a.Conditions = append(a.Conditions, r.Condition)
	}
	a.Conditions = append(a.Conditions, when...)
	return a
}

// approvalNote is "run needs approval when in_prod, quorum 2 from admin"
// for a person, one clause per rule.
func approvalNote(as []api.ReachApproval) string {
	var parts []string
	for _, a := range as {
		s := a.Permission + " needs approval"
		if a.Quorum > 1 {
			s += fmt.Sprintf(" by %d", a.Quorum)
		}
		if len(a.From) > 0 {
			s += " from " + strings.Join(a.From, " or ")
		}
		if len(a.Conditions) > 0 {
			s += " when " + strings.Join(a.Conditions, " and ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// atOf is the point in time a check or explain asks about (zero: now).
func atOf(in *CheckRequest) directory.At {
	return directory.At{Revision: in.AtRevision, Time: in.AtTime}
}

// asOf decodes a check's at_time (RFC 3339) or at_revision (a positive
// integer) for the fast decoder.
func (s *scanner) asOf(key string, r *CheckRequest, m *seen) error {
	if key == "at_time" {
		if err := m.add(128, key); err != nil {
			return err
		}
		var v string
		if err := s.strField("", key, &v, true); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return invalidField(key, "at_time %q is not an RFC 3339 time", v)
		}
		r.AtTime = t
		return nil
	}
	if err := m.add(256, key); err != nil {
		return err
	}
	start := s.i
	if s.peek() == '-' || s.number() != nil {
		return typeErr(key, "a positive integer")
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(s.b[start:s.i])), 10, 64)
	if err != nil || n == 0 {
		return typeErr(key, "a positive integer")
	}
	r.AtRevision = n
	return nil
}
