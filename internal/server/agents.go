package server

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
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

func (s *Server) lifecycleRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/agents/{agent}/attest", "agents",
			"Attest an agent: a sponsor (a sponsoring user, or a member of a sponsoring team) vouches for it now, which lifts attestation_due and inactive.",
			func(c *call, _ *noBody) (Written[api.Agent], error) {
				a, rev, err := s.dir.AttestAgent(c.ctx, c.actor(), c.org(), c.path("agent"))
				return Written[api.Agent]{Revision: rev, Item: s.agentOut(c.org())(a)}, err
			}),
		route("PUT", "/v1/orgs/{org}/lifecycle", "orgs",
			"Set the org's suspension rules for agents: suspend those unused for inactive_days, and those no sponsor attested for attestation_days (0: off).",
			func(c *call, req *api.OrgLifecycle) (Written[api.Org], error) {
				if req.InactiveDays < 0 || req.InactiveDays > 3650 {
					return Written[api.Org]{}, invalidField("inactive_days", "inactive_days must be 0 (off) to 3650")
				}
				if req.AttestationDays < 0 || req.AttestationDays > 3650 {
					return Written[api.Org]{}, invalidField("attestation_days", "attestation_days must be 0 (off) to 3650")
				}
				o, rev, err := s.dir.SetOrgLifecycle(c.ctx, c.actor(), c.org(), authz.LifecycleSettings{
					InactiveAfter: day * durationDays(req.InactiveDays), AttestEvery: day * durationDays(req.AttestationDays)})
				return Written[api.Org]{Revision: rev, Item: apiOrg(o)}, err
			}).perm("org:update"),
	}
}

func durationDays(n int) time.Duration { return time.Duration(n) }

// filterStatus keeps the agents in status st ("suspended": any status but
// active).
func filterStatus(as []api.Agent, st string) []api.Agent {
	out := as[:0:0]
	for _, a := range as {
		if a.Status == st || st == "suspended" && a.Status != "active" {
			out = append(out, a)
		}
	}
	return out
}
