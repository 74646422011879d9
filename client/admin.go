package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Administrative endpoints. Writes return the revision they committed
// (pass it to AtLeast to read your own write in a decision), and record
// what they stopped in the context's collector (CollectWarnings); lists
// return one page (List.NextCursor → ListOptions.Cursor).

func orgPath(org string) string { return "/v1/orgs/" + seg(org) }

func get[T any](ctx context.Context, c *Client, path string, q url.Values) (T, error) {
	var out T
	err := c.do(ctx, request{method: http.MethodGet, path: path, query: q}, &out)
	return out, err
}

func list[T any](ctx context.Context, c *Client, path string, q url.Values, o *ListOptions) (List[T], error) {
	if q == nil {
		q = url.Values{}
	}
	for k, v := range o.values() {
		q[k] = v
	}
	out, err := get[List[T]](ctx, c, path, q)
	if out.Items == nil {
		out.Items = []T{}
	}
	return out, err
}

// writeItem sends a write that answers {"revision", "item"}.
func writeItem[T any](ctx context.Context, c *Client, method, path string, body any) (T, uint64, error) {
	var out written[T]
	err := c.do(ctx, request{method: method, path: path, body: body, idem: idemOf(method)}, &out)
	if err == nil {
		noteWarnings(ctx, out.Warnings)
	}
	return out.Item, out.Revision, err
}

// writeRev sends a write that answers {"revision"}.
func writeRev(ctx context.Context, c *Client, method, path string, q url.Values, body any) (uint64, error) {
	var out revision
	err := c.do(ctx, request{method: method, path: path, query: q, body: body, idem: idemOf(method)}, &out)
	if err == nil {
		noteWarnings(ctx, out.Warnings)
	}
	return out.Revision, err
}

// idemOf: PUT and DELETE are idempotent; POST and PATCH writes are not.
func idemOf(method string) idempotency {
	if method == http.MethodPut || method == http.MethodDelete {
		return safe
	}
	return write
}

// --- orgs

// CreateOrg creates an org from a template; the caller becomes its owner.
func (c *Client) CreateOrg(ctx context.Context, req CreateOrgRequest) (Org, uint64, error) {
	return writeItem[Org](ctx, c, http.MethodPost, "/v1/orgs", req)
}

// ListOrgs lists the orgs the caller is a member of.
func (c *Client) ListOrgs(ctx context.Context) ([]Org, error) {
	l, err := list[Org](ctx, c, "/v1/orgs", nil, nil)
	return l.Items, err
}

// GetOrg gets an org (any member).
func (c *Client) GetOrg(ctx context.Context, org string) (Org, error) {
	return get[Org](ctx, c, orgPath(org), nil)
}

// RenameOrg changes an org's display name (org:update).
func (c *Client) RenameOrg(ctx context.Context, org, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodPatch, orgPath(org), nil, map[string]string{"name": name})
}

// DeleteOrg deletes an org and everything in it (an owner only).
func (c *Client) DeleteOrg(ctx context.Context, org string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org), nil, nil)
}

// --- namespaces

// CreateNamespace creates a namespace.
func (c *Client) CreateNamespace(ctx context.Context, org, name string) (Namespace, uint64, error) {
	return writeItem[Namespace](ctx, c, http.MethodPost, orgPath(org)+"/namespaces", map[string]string{"name": name})
}

// ListNamespaces lists an org's namespaces.
func (c *Client) ListNamespaces(ctx context.Context, org string, o *ListOptions) (List[Namespace], error) {
	return list[Namespace](ctx, c, orgPath(org)+"/namespaces", nil, o)
}

// GetNamespace gets a namespace.
func (c *Client) GetNamespace(ctx context.Context, org, name string) (Namespace, error) {
	return get[Namespace](ctx, c, orgPath(org)+"/namespaces/"+seg(name), nil)
}

// DeleteNamespace deletes a namespace; with cascade also its resources and
// bindings (409 otherwise when it holds any).
func (c *Client) DeleteNamespace(ctx context.Context, org, name string, cascade bool) (uint64, error) {
	var q url.Values
	if cascade {
		q = url.Values{"cascade": {"true"}}
	}
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/namespaces/"+seg(name), q, nil)
}

// --- members

// AddMember adds an existing user to the org with a role at org scope.
func (c *Client) AddMember(ctx context.Context, org, userID, role string) (Member, uint64, error) {
	return writeItem[Member](ctx, c, http.MethodPost, orgPath(org)+"/members", map[string]string{"user_id": userID, "role": role})
}

// ListMembers lists an org's members.
func (c *Client) ListMembers(ctx context.Context, org string, o *ListOptions) (List[Member], error) {
	return list[Member](ctx, c, orgPath(org)+"/members", nil, o)
}

// GetMember gets a membership.
func (c *Client) GetMember(ctx context.Context, org, userID string) (Member, error) {
	return get[Member](ctx, c, orgPath(org)+"/members/"+seg(userID), nil)
}

// SetMemberRole replaces a member's org-scope role and returns the new
// binding.
func (c *Client) SetMemberRole(ctx context.Context, org, userID, role string) (Binding, uint64, error) {
	return writeItem[Binding](ctx, c, http.MethodPatch, orgPath(org)+"/members/"+seg(userID), map[string]string{"role": role})
}

// RemoveMember removes a member with its bindings.
func (c *Client) RemoveMember(ctx context.Context, org, userID string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/members/"+seg(userID), nil, nil)
}

// --- teams

// CreateTeam creates a team with initial members.
func (c *Client) CreateTeam(ctx context.Context, org string, req CreateTeamRequest) (Team, uint64, error) {
	return writeItem[Team](ctx, c, http.MethodPost, orgPath(org)+"/teams", req)
}

// ListTeams lists teams (without members).
func (c *Client) ListTeams(ctx context.Context, org string, o *ListOptions) (List[Team], error) {
	return list[Team](ctx, c, orgPath(org)+"/teams", nil, o)
}

// GetTeam gets a team with its members.
func (c *Client) GetTeam(ctx context.Context, org, slug string) (Team, error) {
	return get[Team](ctx, c, orgPath(org)+"/teams/"+seg(slug), nil)
}

// RenameTeam changes a team's display name.
func (c *Client) RenameTeam(ctx context.Context, org, slug, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodPatch, orgPath(org)+"/teams/"+seg(slug), nil, map[string]string{"name": name})
}

// DeleteTeam deletes a team and every binding naming it.
func (c *Client) DeleteTeam(ctx context.Context, org, slug string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/teams/"+seg(slug), nil, nil)
}

// AddTeamMember adds a user, agent or service ("user:alice") to a team.
func (c *Client) AddTeamMember(ctx context.Context, org, slug, principal string) (uint64, error) {
	return writeRev(ctx, c, http.MethodPost, orgPath(org)+"/teams/"+seg(slug)+"/members", nil, map[string]string{"principal": principal})
}

// RemoveTeamMember removes a principal from a team.
func (c *Client) RemoveTeamMember(ctx context.Context, org, slug, principal string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/teams/"+seg(slug)+"/members/"+seg(principal), nil, nil)
}

// --- roles and policy

// ListRoles lists the roles of the org's policy.
func (c *Client) ListRoles(ctx context.Context, org string) ([]Role, error) {
	l, err := list[Role](ctx, c, orgPath(org)+"/roles", nil, nil)
	return l.Items, err
}

// GetRole gets one role of the org's policy.
func (c *Client) GetRole(ctx context.Context, org, name string) (Role, error) {
	return get[Role](ctx, c, orgPath(org)+"/roles/"+seg(name), nil)
}

// CreateRole creates a custom role (its level and permissions must not
// exceed the caller's).
func (c *Client) CreateRole(ctx context.Context, org string, spec RoleSpec) (uint64, error) {
	return writeRev(ctx, c, http.MethodPost, orgPath(org)+"/roles", nil, spec)
}

// UpdateRole redefines a custom role (spec.Name names it).
func (c *Client) UpdateRole(ctx context.Context, org string, spec RoleSpec) (uint64, error) {
	return writeRev(ctx, c, http.MethodPut, orgPath(org)+"/roles/"+seg(spec.Name), nil,
		roleBody{Level: spec.Level, Parents: spec.Parents, Permissions: spec.Permissions})
}

// DeleteRole deletes a custom role (409 while it is bound).
func (c *Client) DeleteRole(ctx context.Context, org, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/roles/"+seg(name), nil, nil)
}

// GetPolicy gets the org's policy text and version.
func (c *Client) GetPolicy(ctx context.Context, org string) (Policy, error) {
	return get[Policy](ctx, c, orgPath(org)+"/policy", nil)
}

// PutPolicy replaces the org's policy text (the keys it stopped: ApplyPolicy,
// or CollectWarnings). A text that does not compile
// is a 422 whose *Error.Diagnostics say where (IsInvalidPolicy); with
// force, bindings and agents of roles the text removes are dropped instead
// of refusing with 409.
func (c *Client) PutPolicy(ctx context.Context, org, text string, force bool) (uint64, error) {
	a, err := c.ApplyPolicy(ctx, org, text, force)
	return a.Revision, err
}

// ApplyPolicy is PutPolicy with the server's warnings about the applied
// policy that need the org's members (an ask rule whose quorum is more
// than the people who could approve it).
func (c *Client) ApplyPolicy(ctx context.Context, org, text string, force bool) (PolicyApplied, error) {
	var out PolicyApplied
	err := c.do(ctx, request{method: http.MethodPut, path: orgPath(org) + "/policy", body: map[string]any{"text": text, "force": force}, idem: idemOf(http.MethodPut)}, &out)
	if err == nil {
		noteWarnings(ctx, out.WriteWarnings)
	}
	return out, err
}

// ValidatePolicy compiles and lints a policy text without storing it.
func (c *Client) ValidatePolicy(ctx context.Context, org, text string) (Validation, error) {
	var out Validation
	err := c.do(ctx, request{method: http.MethodPost, path: orgPath(org) + "/policy/validate", body: map[string]string{"text": text}}, &out)
	return out, err
}

// --- bindings

// CreateBinding binds a principal to a role at a scope.
func (c *Client) CreateBinding(ctx context.Context, org string, spec BindingSpec) (Binding, uint64, error) {
	return writeItem[Binding](ctx, c, http.MethodPost, orgPath(org)+"/bindings", spec)
}

// ListBindings lists bindings matching f.
func (c *Client) ListBindings(ctx context.Context, org string, f BindingFilter, o *ListOptions) (List[Binding], error) {
	q := url.Values{}
	for k, v := range map[string]string{"principal": f.Principal, "role": f.Role, "namespace": f.Namespace} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return list[Binding](ctx, c, orgPath(org)+"/bindings", q, o)
}

// GetBinding gets a binding.
func (c *Client) GetBinding(ctx context.Context, org, id string) (Binding, error) {
	return get[Binding](ctx, c, orgPath(org)+"/bindings/"+seg(id), nil)
}

// DeleteBinding deletes a binding.
func (c *Client) DeleteBinding(ctx context.Context, org, id string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/bindings/"+seg(id), nil, nil)
}

// --- agents and services

// CreateAgent creates an agent bound to its role.
func (c *Client) CreateAgent(ctx context.Context, org string, spec AgentSpec) (Agent, uint64, error) {
	return writeItem[Agent](ctx, c, http.MethodPost, orgPath(org)+"/agents", spec)
}

// ListAgents lists agents.
func (c *Client) ListAgents(ctx context.Context, org string, o *ListOptions) (List[Agent], error) {
	return list[Agent](ctx, c, orgPath(org)+"/agents", nil, o)
}

// GetAgent gets an agent.
func (c *Client) GetAgent(ctx context.Context, org, name string) (Agent, error) {
	return get[Agent](ctx, c, orgPath(org)+"/agents/"+seg(name), nil)
}

// UpdateAgent changes an agent's role, sponsor, expiry or attributes.
func (c *Client) UpdateAgent(ctx context.Context, org, name string, p AgentPatch) (Agent, uint64, error) {
	return writeItem[Agent](ctx, c, http.MethodPatch, orgPath(org)+"/agents/"+seg(name), p)
}

// DeleteAgent deletes an agent with its bindings.
func (c *Client) DeleteAgent(ctx context.Context, org, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/agents/"+seg(name), nil, nil)
}

// CreateService creates a service, optionally bound to a role.
func (c *Client) CreateService(ctx context.Context, org string, spec ServiceSpec) (Service, uint64, error) {
	return writeItem[Service](ctx, c, http.MethodPost, orgPath(org)+"/services", spec)
}

// ListServices lists services.
func (c *Client) ListServices(ctx context.Context, org string, o *ListOptions) (List[Service], error) {
	return list[Service](ctx, c, orgPath(org)+"/services", nil, o)
}

// GetService gets a service.
func (c *Client) GetService(ctx context.Context, org, name string) (Service, error) {
	return get[Service](ctx, c, orgPath(org)+"/services/"+seg(name), nil)
}

// UpdateService replaces a service's attributes.
func (c *Client) UpdateService(ctx context.Context, org, name string, attributes map[string]any) (Service, uint64, error) {
	if attributes == nil {
		attributes = map[string]any{}
	}
	if attributes == nil {
		attributes = map[string]any{} // replace with none (absent would keep them)
	}
	return writeItem[Service](ctx, c, http.MethodPatch, orgPath(org)+"/services/"+seg(name), map[string]any{"attributes": attributes})
}

// DeleteService deletes a service with its bindings.
func (c *Client) DeleteService(ctx context.Context, org, name string) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, orgPath(org)+"/services/"+seg(name), nil, nil)
}

// --- resources

func resourcePath(org string, ref ResourceRef) string {
	return orgPath(org) + "/namespaces/" + seg(ref.Namespace) + "/resources/" + seg(ref.Type) + "/" + seg(ref.ID)
}

// CreateResource creates a resource (version 1).
func (c *Client) CreateResource(ctx context.Context, org string, spec ResourceSpec) (Resource, uint64, error) {
	return writeItem[Resource](ctx, c, http.MethodPost, orgPath(org)+"/resources", spec)
}

// ListResources lists the resources the caller may read.
func (c *Client) ListResources(ctx context.Context, org string, f ResourceFilter, o *ListOptions) (List[Resource], error) {
	q := url.Values{}
	if f.Namespace != "" {
		q.Set("namespace", f.Namespace)
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	return list[Resource](ctx, c, orgPath(org)+"/resources", q, o)
}

// GetResource gets a resource with its current spec.
func (c *Client) GetResource(ctx context.Context, org string, ref ResourceRef) (Resource, error) {
	return get[Resource](ctx, c, resourcePath(org, ref), nil)
}

// UpdateResource changes a resource, recording a new version.
func (c *Client) UpdateResource(ctx context.Context, org string, ref ResourceRef, p ResourcePatch) (Resource, uint64, error) {
	return writeItem[Resource](ctx, c, http.MethodPatch, resourcePath(org, ref), p)
}

// DeleteResource deletes a resource with its versions and the bindings
// scoped to it.
func (c *Client) DeleteResource(ctx context.Context, org string, ref ResourceRef) (uint64, error) {
	return writeRev(ctx, c, http.MethodDelete, resourcePath(org, ref), nil, nil)
}

// ListResourceVersions lists a resource's versions, newest first, without
// specs.
func (c *Client) ListResourceVersions(ctx context.Context, org string, ref ResourceRef, o *ListOptions) (List[ResourceVersion], error) {
	return list[ResourceVersion](ctx, c, resourcePath(org, ref)+"/versions", nil, o)
}

// GetResourceVersion gets one version of a resource with its spec.
func (c *Client) GetResourceVersion(ctx context.Context, org string, ref ResourceRef, version uint64) (ResourceVersion, error) {
	return get[ResourceVersion](ctx, c, resourcePath(org, ref)+"/versions/"+strconv.FormatUint(version, 10), nil)
}

// DiffResource says what changed between two versions.
func (c *Client) DiffResource(ctx context.Context, org string, ref ResourceRef, from, to uint64) ([]DiffEntry, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	l, err := get[List[DiffEntry]](ctx, c, resourcePath(org, ref)+"/diff", q)
	if l.Items == nil {
		l.Items = []DiffEntry{}
	}
	return l.Items, err
}

// Share shares one resource with a principal for an action list (the
// caller must hold each action on it).
func (c *Client) Share(ctx context.Context, org string, ref ResourceRef, principal string, actions []string) (Binding, uint64, error) {
	return c.ShareFor(ctx, org, ref, principal, actions, Lifetime{})
}

// ShareFor is Share for a limited time: the share stops granting at
// life.ExpiresAt, or life.ExpiresIn after the server's clock.
func (c *Client) ShareFor(ctx context.Context, org string, ref ResourceRef, principal string, actions []string, life Lifetime) (Binding, uint64, error) {
	return writeItem[Binding](ctx, c, http.MethodPost, resourcePath(org, ref)+"/shares",
		ShareRequest{Principal: principal, Actions: actions, Lifetime: life})
}
