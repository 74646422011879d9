package server

import (
	"github.com/gatehouse-dev/gatehouse/api"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Administrative routes: thin adapters from the wire to the directory.

func (s *Server) orgRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs", "orgs", "Create an org from a template; the caller (a user) becomes its owner.",
			func(c *call, req *api.CreateOrgRequest) (Written[api.Org], error) {
				if c.id.Org != "" {
					// A credential confined to one org does not act outside it.
					return Written[api.Org]{}, problem(ProblemForbidden, "a credential confined to org %q cannot create orgs", c.id.Org)
				}
				o, rev, err := s.dir.CreateOrg(c.ctx, c.actor(), directory.OrgSpec(*req))
				return Written[api.Org]{Revision: rev, Item: s.apiOrg(o)}, err
			}).created(),
		route("GET", "/v1/orgs", "orgs", "List the orgs the caller is a member of.",
			func(c *call, _ *noBody) (List[api.Org], error) {
				if c.id.Org != "" {
					o, err := s.dir.GetOrg(c.ctx, c.actor(), c.id.Org)
					if err != nil {
						return listOf([]api.Org(nil), ""), nil
					}
					return listOf([]api.Org{s.apiOrg(o)}, ""), nil
				}
				os, err := s.dir.ListOrgs(c.ctx, c.actor())
				return listOf(each(os, s.apiOrg), ""), err
			}),
		route("GET", "/v1/orgs/{org}", "orgs", "Get an org (any member).",
			func(c *call, _ *noBody) (api.Org, error) {
				return one(s.apiOrg)(s.dir.GetOrg(c.ctx, c.actor(), c.org()))
			}),
		route("PATCH", "/v1/orgs/{org}", "orgs", "Rename an org.",
			func(c *call, req *RenameRequest) (Revision, error) {
				rev, err := s.dir.RenameOrg(c.ctx, c.actor(), c.org(), req.Name)
				return Revision{Revision: rev}, err
			}).perm("org:update"),
		route("DELETE", "/v1/orgs/{org}", "orgs", "Delete an org and everything in it (an owner only).",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.dir.DeleteOrg(c.ctx, c.actor(), c.org())
				return Revision{Revision: rev}, err
			}).perm("org:delete"),

		route("POST", "/v1/orgs/{org}/namespaces", "namespaces", "Create a namespace.",
			func(c *call, req *NamespaceRequest) (Written[api.Namespace], error) {
				n, rev, err := s.dir.CreateNamespace(c.ctx, c.actor(), c.org(), req.Name)
				return Written[api.Namespace]{Revision: rev, Item: apiNamespace(n)}, requestField(err, "namespace", "name")
			}).perm("namespaces:create").created(),
		route("GET", "/v1/orgs/{org}/namespaces", "namespaces", "List namespaces (any member).",
			func(c *call, _ *noBody) (List[api.Namespace], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Namespace]{}, err
				}
				ns, next, err := s.dir.ListNamespaces(c.ctx, c.actor(), c.org(), p)
				return listOf(each(ns, apiNamespace), next), err
			}).query(pageParams...),
		route("GET", "/v1/orgs/{org}/namespaces/{namespace}", "namespaces", "Get a namespace (any member).",
			func(c *call, _ *noBody) (api.Namespace, error) {
				return one(apiNamespace)(s.dir.GetNamespace(c.ctx, c.actor(), c.org(), c.path("namespace")))
			}),
		route("DELETE", "/v1/orgs/{org}/namespaces/{namespace}", "namespaces", "Delete a namespace; with cascade=true also its resources and bindings (409 otherwise when it holds any).",
			func(c *call, _ *noBody) (Revision, error) {
				cascade, err := c.queryBool("cascade")
				if err != nil {
					return Revision{}, err
				}
				touched := auth.Touched{All: cascade}
				before := s.refusedBefore(touched)
				rev, err := s.dir.DeleteNamespace(c.ctx, c.actor(), c.org(), c.path("namespace"), cascade)
				// A cascade deletes the namespace's bindings: of minters too.
				return s.warnedRevision(c, "namespace.delete", touched, before, rev, err)
			}).perm("namespaces:delete").query(Param{"cascade", "boolean", "also delete what the namespace holds"}),
	}
}

func (s *Server) memberRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/members", "members", "Add an existing user to the org with a role at org scope (escalation rules apply).",
			func(c *call, req *MemberRequest) (Written[api.Member], error) {
				m, rev, err := s.dir.AddMember(c.ctx, c.actor(), c.org(), req.UserID, req.Role)
				return Written[api.Member]{Revision: rev, Item: apiMember(m)}, requestField(err, "user", "user_id")
			}).perm("members:create").created(),
		route("GET", "/v1/orgs/{org}/members", "members", "List members.",
			func(c *call, _ *noBody) (List[api.Member], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Member]{}, err
				}
				ms, next, err := s.dir.ListMembers(c.ctx, c.actor(), c.org(), p)
				return listOf(each(ms, apiMember), next), err
			}).perm("members:list").query(pageParams...),
		route("GET", "/v1/orgs/{org}/members/{user}", "members", "Get a membership (your own, or with members:read).",
			func(c *call, _ *noBody) (api.Member, error) {
				return one(apiMember)(s.dir.GetMember(c.ctx, c.actor(), c.org(), c.path("user")))
			}),
		route("PATCH", "/v1/orgs/{org}/members/{user}", "members", "Replace a member's org-scope role (escalation rules apply; an admin cannot demote an owner).",
			func(c *call, req *RoleRequest) (Written[api.Binding], error) {
				touched := auth.Touched{Lowered: []string{authz.KindUser + ":" + c.path("user")}}
				before := s.refusedBefore(touched)
				b, rev, err := s.dir.ChangeMemberRole(c.ctx, c.actor(), c.org(), c.path("user"), req.Role)
				return warnedWritten(s, c, "member.update", touched, before, apiBinding(b), rev, err)
			}).perm("members:update"),
		route("DELETE", "/v1/orgs/{org}/members/{user}", "members", "Remove a member with its bindings (anyone may leave; removing another needs members:delete).",
			func(c *call, _ *noBody) (Revision, error) {
				touched := auth.Touched{Lowered: []string{authz.KindUser + ":" + c.path("user")}}
				before := s.refusedBefore(touched)
				rev, err := s.dir.RemoveMember(c.ctx, c.actor(), c.org(), c.path("user"))
				return s.warnedRevision(c, "member.delete", touched, before, rev, err)
			}),
	}
}

func (s *Server) teamRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/teams", "teams", "Create a team with initial members.",
			func(c *call, req *TeamRequest) (Written[api.Team], error) {
				t, rev, err := s.dir.CreateTeam(c.ctx, c.actor(), c.org(), req.Slug, req.Name, req.Members)
				return Written[api.Team]{Revision: rev, Item: apiTeam(t)}, err
			}).perm("teams:create").created(),
		route("GET", "/v1/orgs/{org}/teams", "teams", "List teams (without members).",
			func(c *call, _ *noBody) (List[api.Team], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Team]{}, err
				}
				ts, next, err := s.dir.ListTeams(c.ctx, c.actor(), c.org(), p)
				return listOf(each(ts, apiTeam), next), err
			}).perm("teams:list").query(pageParams...),
		route("GET", "/v1/orgs/{org}/teams/{team}", "teams", "Get a team with its members (its members, or with teams:read).",
			func(c *call, _ *noBody) (api.Team, error) {
				return one(apiTeam)(s.dir.GetTeam(c.ctx, c.actor(), c.org(), c.path("team")))
			}),
		route("PATCH", "/v1/orgs/{org}/teams/{team}", "teams", "Rename a team.",
			func(c *call, req *RenameRequest) (Revision, error) {
				rev, err := s.dir.RenameTeam(c.ctx, c.actor(), c.org(), c.path("team"), req.Name)
				return Revision{Revision: rev}, err
			}).perm("teams:update"),
		route("DELETE", "/v1/orgs/{org}/teams/{team}", "teams", "Delete a team and every binding naming it.",
			func(c *call, _ *noBody) (Revision, error) {
				touched := auth.Touched{All: true}
				before := s.refusedBefore(touched)
				rev, err := s.dir.DeleteTeam(c.ctx, c.actor(), c.org(), c.path("team"))
				// Its members, whoever minted, are gone with it: every minted key.
				return s.warnedRevision(c, "team.delete", touched, before, rev, err)
			}).perm("teams:delete"),
		route("POST", "/v1/orgs/{org}/teams/{team}/members", "teams", "Add a user, agent or service to a team (escalation rules apply to what the team grants).",
			func(c *call, req *PrincipalRequest) (Revision, error) {
				touched := auth.Touched{Raised: []string{req.Principal}}
				before := s.refusedBefore(touched)
				rev, err := s.dir.AddTeamMember(c.ctx, c.actor(), c.org(), c.path("team"), req.Principal)
				return s.warnedRevision(c, "team.member.add", touched, before, rev, err)
			}).perm("teams:update").created(),
		route("DELETE", "/v1/orgs/{org}/teams/{team}/members/{principal}", "teams", "Remove a principal from a team (anyone may leave).",
			func(c *call, _ *noBody) (Revision, error) {
				touched := auth.Touched{Lowered: []string{c.path("principal")}}
				before := s.refusedBefore(touched)
				rev, err := s.dir.RemoveTeamMember(c.ctx, c.actor(), c.org(), c.path("team"), c.path("principal"))
				return s.warnedRevision(c, "team.member.delete", touched, before, rev, err)
			}),
	}
}

func (s *Server) roleRoutes() []*Route {
	return []*Route{
		route("GET", "/v1/orgs/{org}/roles", "roles", "List the roles of the org's policy.",
			func(c *call, _ *noBody) (List[api.Role], error) {
				rs, err := s.dir.ListRoles(c.ctx, c.actor(), c.org())
				return listOf(each(rs, apiRole), ""), err
			}).perm("roles:list"),
		route("GET", "/v1/orgs/{org}/roles/{role}", "roles", "Get one role of the org's policy.",
			func(c *call, _ *noBody) (api.Role, error) {
				rs, err := s.dir.ListRoles(c.ctx, c.actor(), c.org())
				if err != nil {
					return api.Role{}, err
				}
				for _, r := range rs {
					if r.Name == c.path("role") {
						return apiRole(r), nil
					}
				}
				return api.Role{}, problem(ProblemNotFound, "role %q: not found", c.path("role"))
			}).perm("roles:list"),
		route("POST", "/v1/orgs/{org}/roles", "roles", "Create a custom role (its level and permissions must not exceed yours).",
			func(c *call, req *api.RoleSpec) (Written[api.Role], error) {
				r, rev, err := s.dir.CreateRoleInfo(c.ctx, c.actor(), c.org(), directory.RoleSpec(*req))
				return Written[api.Role]{Revision: rev, Item: apiRole(r)}, err
			}).perm("roles:create").created(),
		route("PUT", "/v1/orgs/{org}/roles/{role}", "roles", "Redefine a custom role.",
			func(c *call, req *RoleBody) (Revision, error) {
				touched := auth.Touched{All: true}
				before := s.refusedBefore(touched)
				rev, err := s.dir.UpdateRole(c.ctx, c.actor(), c.org(), directory.RoleSpec{
					Name: c.path("role"), Level: req.Level, Parents: req.Parents, Permissions: req.Permissions,
				})
				// Every holder of the role (and of roles inheriting it) is
				// raised or lowered: every minted key.
				return s.warnedRevision(c, "role.update", touched, before, rev, err)
			}).perm("roles:update"),
		route("DELETE", "/v1/orgs/{org}/roles/{role}", "roles", "Delete a custom role (409 while it is bound).",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.dir.DeleteRole(c.ctx, c.actor(), c.org(), c.path("role"))
				return Revision{Revision: rev}, err
			}).perm("roles:delete"),

		route("GET", "/v1/orgs/{org}/policy", "policy", "Get the org's policy text and version.",
			func(c *call, _ *noBody) (api.Policy, error) {
				return one(apiPolicy)(s.dir.GetPolicy(c.ctx, c.actor(), c.org()))
			}).perm("policy:read"),
		route("PUT", "/v1/orgs/{org}/policy", "policy", "Replace the org's policy text (422 with positioned errors when it does not compile).",
			func(c *call, req *PolicyRequest) (api.PolicyApplied, error) {
				touched := auth.Touched{All: true} // what every role means may change
				before := s.refusedBefore(touched)
				rev, err := s.dir.ReplacePolicy(c.ctx, c.actor(), c.org(), req.Text, req.Force)
				if err != nil {
					return api.PolicyApplied{}, err
				}
				return api.PolicyApplied{Revision: rev, Warnings: s.approvalWarnings(c, rev),
					WriteWarnings: s.outrankWarnings(c, "policy.update", touched, before)}, nil
			}).perm("policy:update").maxBody(store.MaxPolicyBytes + 64<<10),
		route("POST", "/v1/orgs/{org}/policy/validate", "policy", "Compile and lint a policy text without storing it.",
			s.validatePolicy).perm("policy:read").maxBody(store.MaxPolicyBytes + 64<<10),
	}
}

func (s *Server) bindingRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/bindings", "bindings", "Bind a principal to a role at the org, a namespace or a resource (escalation rules apply).",
			func(c *call, req *api.BindingSpec) (api.BindingWritten, error) {
				spec, err := bindingSpec(*req)
				if err != nil {
					return api.BindingWritten{}, err
				}
				touched := auth.Touched{Raised: []string{spec.Principal}}
				before := s.refusedBefore(touched)
				b, rev, err := s.dir.CreateBinding(c.ctx, c.actor(), c.org(), spec)
				if err != nil {
					return api.BindingWritten{}, err
				}
				return api.BindingWritten{Revision: rev, Item: apiBinding(b),
					Warnings: s.outrankWarnings(c, "binding.create", touched, before)}, nil
			}).perm("bindings:create").created(),
		route("GET", "/v1/orgs/{org}/bindings", "bindings", "List bindings (your own with principal=<you>, else bindings:list).",
			func(c *call, _ *noBody) (List[api.Binding], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Binding]{}, err
				}
				q := c.r.URL.Query()
				bs, next, err := s.dir.ListBindings(c.ctx, c.actor(), c.org(), directory.BindingFilter{
					Principal: q.Get("principal"), Role: q.Get("role"), Namespace: q.Get("namespace"),
				}, p)
				return listOf(each(bs, apiBinding), next), err
			}).query(append([]Param{
			{"principal", "string", "only bindings of this principal"},
			{"role", "string", "only bindings of this role"},
			{"namespace", "string", "only namespace- and resource-scoped bindings in this namespace"},
		}, pageParams...)...),
		route("GET", "/v1/orgs/{org}/bindings/{binding}", "bindings", "Get a binding (your own, or with bindings:read at its scope).",
			func(c *call, _ *noBody) (api.Binding, error) {
				return one(apiBinding)(s.dir.GetBinding(c.ctx, c.actor(), c.org(), c.path("binding")))
			}),
		route("DELETE", "/v1/orgs/{org}/bindings/{binding}", "bindings", "Delete a binding (escalation rules apply to what it grants and to its principal).",
			func(c *call, _ *noBody) (Revision, error) {
				touched := auth.Touched{All: true}
				before := s.refusedBefore(touched)
				rev, err := s.dir.DeleteBinding(c.ctx, c.actor(), c.org(), c.path("binding"))
				// Its principal (a minter, or a team of minters) is gone from
				// the answer: every minted key.
				return s.warnedRevision(c, "binding.delete", touched, before, rev, err)
			}).perm("bindings:delete"),
	}
}

func (s *Server) principalRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/agents", "agents", "Create an agent bound to its role (the role is its ceiling).",
			func(c *call, req *api.AgentSpec) (Written[api.Agent], error) {
				a, rev, err := s.dir.CreateAgent(c.ctx, c.actor(), c.org(), directory.AgentSpec(*req))
				return Written[api.Agent]{Revision: rev, Item: s.agentOut(c.org())(a)}, err
			}).perm("agents:create").created(),
		route("GET", "/v1/orgs/{org}/agents", "agents", "List agents.",
			func(c *call, _ *noBody) (List[api.Agent], error) {
				return listByStatus(c, func(p store.Page) ([]store.Agent, string, error) {
					return s.dir.ListAgents(c.ctx, c.actor(), c.org(), p)
				},
					s.agentOut(c.org()), func(a api.Agent) string { return a.Status })
			}).perm("agents:list").query(append([]Param{
			{"status", "string", "only agents in this status: active, suspended (any reason), or one reason (sponsor_gone, inactive, attestation_due, expired)"},
		}, pageParams...)...),
		route("GET", "/v1/orgs/{org}/agents/{agent}", "agents", "Get an agent.",
			func(c *call, _ *noBody) (api.Agent, error) {
				return one(s.agentOut(c.org()))(s.dir.GetAgent(c.ctx, c.actor(), c.org(), c.path("agent")))
			}).perm("agents:read"),
		route("PATCH", "/v1/orgs/{org}/agents/{agent}", "agents", "Change an agent's role, sponsor, expiry or attributes.",
			func(c *call, req *AgentPatch) (Written[api.Agent], error) {
				u := directory.AgentUpdate{Role: req.Role, Sponsor: req.Sponsor, Attributes: req.Attributes, Sponsors: req.Sponsors, Suspended: req.Suspended}
				if req.ExpiresAt != nil {
					var t time.Time
					if *req.ExpiresAt != "" {
						var err error
						if t, err = time.Parse(time.RFC3339Nano, *req.ExpiresAt); err != nil {
							return Written[api.Agent]{}, invalidField("expires_at", "expires_at must be an RFC 3339 time or \"\" (never)")
						}
					}
					u.ExpiresAt = &t
				}
				// A new role, expiry or sponsors, or a suspension lifted,
				// may raise the agent above its tokens' minters.
				touched := auth.Touched{Raised: []string{authz.KindAgent + ":" + c.path("agent")}}
				before := s.refusedBefore(touched)
				a, rev, err := s.dir.UpdateAgent(c.ctx, c.actor(), c.org(), c.path("agent"), u)
				return warnedWritten(s, c, "agent.update", touched, before, s.agentOut(c.org())(a), rev, err)
			}).perm("agents:update"),
		route("DELETE", "/v1/orgs/{org}/agents/{agent}", "agents", "Delete an agent with its bindings.",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.dir.DeleteAgent(c.ctx, c.actor(), c.org(), c.path("agent"))
				return Revision{Revision: rev}, err
			}).perm("agents:delete"),

		route("POST", "/v1/orgs/{org}/services", "services", "Create a service (a runtime or CI account), optionally bound to a role.",
			func(c *call, req *api.ServiceSpec) (Written[api.Service], error) {
				sv, rev, err := s.dir.CreateService(c.ctx, c.actor(), c.org(), directory.ServiceSpec(*req))
				return Written[api.Service]{Revision: rev, Item: s.serviceOut(c.org())(sv)}, err
			}).perm("services:create").created(),
		route("GET", "/v1/orgs/{org}/services", "services", "List services.",
			func(c *call, _ *noBody) (List[api.Service], error) {
				return listByStatus(c, func(p store.Page) ([]store.Service, string, error) {
					return s.dir.ListServices(c.ctx, c.actor(), c.org(), p)
				},
					s.serviceOut(c.org()), func(sv api.Service) string { return sv.Status })
			}).perm("services:list").query(append([]Param{
			{"status", "string", "only services in this status: active, suspended (any reason), or one reason (sponsor_gone, inactive, attestation_due)"},
		}, pageParams...)...),
		route("GET", "/v1/orgs/{org}/services/{service}", "services", "Get a service.",
			func(c *call, _ *noBody) (api.Service, error) {
				return one(s.serviceOut(c.org()))(s.dir.GetService(c.ctx, c.actor(), c.org(), c.path("service")))
			}).perm("services:read"),
		route("PATCH", "/v1/orgs/{org}/services/{service}", "services", "Change a service's attributes, sponsors or lifecycle opt-in (new sponsors lift sponsor_gone).",
			func(c *call, req *ServicePatch) (Written[api.Service], error) {
				// New sponsors lift sponsor_gone (a raise of its keys), the
				// rules opted in to may suspend it (a minter lowered).
				svc := []string{authz.KindService + ":" + c.path("service")}
				touched := auth.Touched{Raised: svc, Lowered: svc}
				before := s.refusedBefore(touched)
				sv, rev, err := s.dir.UpdateService(c.ctx, c.actor(), c.org(), c.path("service"),
					directory.ServiceUpdate{Attributes: req.Attributes, Sponsors: req.Sponsors, Lifecycle: req.Lifecycle})
				return warnedWritten(s, c, "service.update", touched, before, s.serviceOut(c.org())(sv), rev, err)
			}).perm("services:update"),
		route("DELETE", "/v1/orgs/{org}/services/{service}", "services", "Delete a service with its bindings.",
			func(c *call, _ *noBody) (Revision, error) {
				touched := auth.Touched{Lowered: []string{authz.KindService + ":" + c.path("service")}}
				before := s.refusedBefore(touched)
				rev, err := s.dir.DeleteService(c.ctx, c.actor(), c.org(), c.path("service"))
				return s.warnedRevision(c, "service.delete", touched, before, rev, err)
			}).perm("services:delete"),
	}
}

// resourcePath is the item path of a resource.
const resourcePath = "/v1/orgs/{org}/namespaces/{namespace}/resources/{type}/{id}"

func (c *call) ref() authz.ResourceRef {
	return authz.ResourceRef{Namespace: c.path("namespace"), Type: c.path("type"), ID: c.path("id")}
}

func (s *Server) resourceRoutes() []*Route {
	return []*Route{
		route("POST", "/v1/orgs/{org}/resources", "resources", "Create a resource (version 1) in a namespace (<type>:create or resources:create there).",
			func(c *call, req *api.ResourceSpec) (Written[api.Resource], error) {
				r, rev, err := s.dir.CreateResource(c.ctx, c.actor(), c.org(), directory.ResourceSpec(*req))
				return Written[api.Resource]{Revision: rev, Item: apiResource(r)}, err
			}).created().maxBody(store.MaxSpecBytes + 128<<10),
		route("GET", "/v1/orgs/{org}/resources", "resources", "List the resources you may read, in (namespace, type, id) order; a page may hold fewer rows than asked while more follow.",
			func(c *call, _ *noBody) (List[api.Resource], error) {
				p, err := c.page()
				if err != nil {
					return List[api.Resource]{}, err
				}
				q := c.r.URL.Query()
				rs, next, err := s.dir.ListResources(c.ctx, c.actor(), c.org(), directory.ResourceFilter{Namespace: q.Get("namespace"), Type: q.Get("type")}, p)
				return listOf(each(rs, apiResource), next), err
			}).query(append([]Param{
			{"namespace", "string", "only this namespace"},
			{"type", "string", "only this type"},
		}, pageParams...)...),
		route("GET", resourcePath, "resources", "Get a resource with its current spec (<type>:read or resources:read on it).",
			func(c *call, _ *noBody) (api.Resource, error) {
				return one(apiResource)(s.dir.GetResource(c.ctx, c.actor(), c.org(), c.ref()))
			}),
		route("PATCH", resourcePath, "resources", "Change a resource's labels, attributes or spec, recording a new version.",
			func(c *call, req *ResourcePatch) (Written[api.Resource], error) {
				r, rev, err := s.dir.UpdateResource(c.ctx, c.actor(), c.org(), c.ref(), directory.ResourceChange{
					Labels: req.Labels, Attributes: req.Attributes, Spec: req.Spec, IfVersion: req.IfVersion,
				})
				return Written[api.Resource]{Revision: rev, Item: apiResource(r)}, err
			}).maxBody(store.MaxSpecBytes + 128<<10),
		route("DELETE", resourcePath, "resources", "Delete a resource with its versions and the bindings scoped to it.",
			func(c *call, _ *noBody) (Revision, error) {
				rev, err := s.dir.DeleteResource(c.ctx, c.actor(), c.org(), c.ref())
				return Revision{Revision: rev}, err
			}),
		route("GET", resourcePath+"/versions", "resources", "List a resource's versions, newest first, without specs.",
			func(c *call, _ *noBody) (List[api.ResourceVersion], error) {
				p, err := c.page()
				if err != nil {
					return List[api.ResourceVersion]{}, err
				}
				vs, next, err := s.dir.ListResourceVersions(c.ctx, c.actor(), c.org(), c.ref(), p)
				return listOf(each(vs, apiResourceVersion), next), err
			}).query(pageParams...),
		route("GET", resourcePath+"/versions/{version}", "resources", "Get one version of a resource with its spec.",
			func(c *call, _ *noBody) (api.ResourceVersion, error) {
				v, err := pathUint(c, "version")
				if err != nil {
					return api.ResourceVersion{}, err
				}
				return one(apiResourceVersion)(s.dir.GetResourceVersion(c.ctx, c.actor(), c.org(), c.ref(), v))
			}),
		route("GET", resourcePath+"/diff", "resources", "What changed between two versions (JSON Pointer paths).",
			func(c *call, _ *noBody) (List[api.DiffEntry], error) {
				from, err := c.queryUint("from")
				if err != nil {
					return List[api.DiffEntry]{}, err
				}
				to, err := c.queryUint("to")
				if err != nil {
					return List[api.DiffEntry]{}, err
				}
				if from == 0 || to == 0 {
					return List[api.DiffEntry]{}, invalidField("from", "from and to are required version numbers")
				}
				ds, err := s.dir.DiffResourceVersions(c.ctx, c.actor(), c.org(), c.ref(), from, to)
				return listOf(each(ds, apiDiffEntry), ""), err
			}).query(Param{"from", "integer", "the older version"}, Param{"to", "integer", "the newer version"}),
		route("POST", resourcePath+"/shares", "resources", "Share one resource with a principal, or with every holder of a role (\"role:<name>\"), for an action list (you must hold each action on it).",
			func(c *call, req *ShareRequest) (Written[api.Binding], error) {
				life, err := lifetime(req.Lifetime)
				if err != nil {
					return Written[api.Binding]{}, err
				}
				touched := auth.Touched{Raised: []string{req.Principal}}
				before := s.refusedBefore(touched)
				b, rev, err := s.dir.ShareFor(c.ctx, c.actor(), c.org(), c.ref(), req.Principal, req.Actions, life)
				return warnedWritten(s, c, "share.create", touched, before, apiBinding(b), rev, err)
			}).perm("bindings:create").created(),
	}
}

func pathUint(c *call, name string) (uint64, error) {
	s := c.path(name)
	var n uint64
	if s == "" || len(s) > 19 {
		return 0, invalidField(name, "%s must be a positive integer", name)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, invalidField(name, "%s must be a positive integer", name)
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, nil
}
