package server

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// impactRoutes: impact analysis (docs/impact.md). Both need policy:read
// and bindings:read at org scope (checked by the directory; a non-member
// gets 404) and store nothing.
func (s *Server) impactRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/policy/impact", "policy", "Which principals would gain or lose which permissions, and where, if the org's policy became this text (nothing is stored).",
			func(c *call, req *api.ImpactRequest) (api.Impact, error) {
				imp, err := s.dir.PolicyImpact(c.ctx, c.actor(), c.org(), req.Text)
				if err != nil {
					return api.Impact{}, err
				}
				return apiImpact(c.org(), "policy", imp), nil
			}).perm("policy:read").maxBody(store.MaxPolicyBytes + 64<<10),
		route("POST", "/v1/orgs/{org}/bindings/impact", "bindings", "Which permissions, and where, a binding would grant if it were created (a dry run: nothing is stored).",
			func(c *call, req *api.BindingSpec) (api.Impact, error) {
				spec, err := bindingSpec(*req)
				if err != nil {
					return api.Impact{}, err
				}
				imp, err := s.dir.BindingImpact(c.ctx, c.actor(), c.org(), spec)
				if err != nil {
					return api.Impact{}, err
				}
				return apiImpact(c.org(), "binding", imp), nil
			}).perm("bindings:read"),
	}
}

func apiImpact(org, subject string, imp directory.Impact) api.Impact {
	out := api.Impact{
		Org: org, Revision: imp.Revision, Subject: subject,
		Summary: api.ImpactSummary(imp.Summary),
		Changes: make([]api.ImpactChange, 0, len(imp.Entries)),
	}
	for _, e := range imp.Entries {
		verb := "gains"
		if e.Change == "lost" {
			verb = "loses"
		}
		text := fmt.Sprintf("%s %s %s at %s", e.Principal, verb, e.Permission, e.Scope)
		if len(e.Conditions) > 0 {
			text += " when " + strings.Join(e.Conditions, " or ")
		}
		out.Changes = append(out.Changes, api.ImpactChange{
			Principal: e.Principal, Scope: apiScope(e.Scope), ScopeText: e.Scope.String(),
			Permission: e.Permission.String(), Change: e.Change, Conditions: e.Conditions, Text: text,
		})
	}
	return out
}
