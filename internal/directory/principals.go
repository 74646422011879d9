package directory

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// AgentSpec describes a new agent.
type AgentSpec struct {
	Name string `json:"name"`
	// Role is the agent's role: its ceiling, and the role it is bound to at
	// Namespace (or the org when empty). An agent the policy declares must
	// use the declared role (empty means that one).
	Role      string `json:"role"`
	Namespace string `json:"namespace,omitempty"`
	// Sponsor is the user id of the member responsible for the agent;
	// empty means the actor, who must then be a user.
	Sponsor    string         `json:"sponsor,omitempty"`
	ExpiresAt  time.Time      `json:"expires_at,omitzero"` // zero: never; else in the future
	Attributes map[string]any `json:"attributes,omitempty"`
	// Sponsors ("user:<id>" members, "team:<slug>" teams) answer for the
	// agent (lifecycle.go); empty means Sponsor alone.
	Sponsors []string `json:"sponsors,omitempty"`
}

// CreateAgent creates an agent and binds it to its role. Needs
// agents:create and DESIGN §1.2 for the binding (the role's level and
// permissions, at the binding's scope).
func (d *Directory) CreateAgent(ctx context.Context, actor Actor, org string, spec AgentSpec) (store.Agent, uint64, error) {
	if err := checkName("name", spec.Name); err != nil {
		return store.Agent{}, 0, err
	}
	sc := authz.Scope{Namespace: spec.Namespace}
	if spec.Namespace != "" {
		if err := checkSlugIdent("namespace", spec.Namespace); err != nil {
			return store.Agent{}, 0, err
		}
	}
	if spec.Sponsor == "" && len(spec.Sponsors) == 0 {
		kind, id, _ := splitPrincipal(actor.Principal)
		if kind != authz.KindUser {
			return store.Agent{}, 0, invalid("sponsor", "an agent created by %s needs a sponsoring user", actor.Principal)
		}
		spec.Sponsor = id
	}
	if spec.Sponsor != "" {
		if err := checkName("sponsor", spec.Sponsor); err != nil {
			return store.Agent{}, 0, err
		}
	}
	if err := checkSponsors(spec.Sponsors, true); err != nil {
		return store.Agent{}, 0, err
	}
	var out store.Agent
	rev, err := d.write(ctx, "create agent", org, actor, func(o *op) error {
		if err := o.need("agents:create", authz.Scope{}); err != nil {
			return err
		}
		if decl, ok := o.pol().Agent(spec.Name); ok {
			if spec.Role == "" {
				spec.Role = decl.Role
			}
			if spec.Role != decl.Role {
				return invalid("role", "the policy declares agent %s with role %s", spec.Name, decl.Role)
			}
		}
		r, err := o.role("role", spec.Role)
		if err != nil {
			return err
		}
		if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(o.tx.Now()) {
			return invalid("expires_at", "%s is not in the future", spec.ExpiresAt.Format(time.RFC3339))
		}
		if spec.Sponsor != "" {
			if _, err := o.tx.GetMember(ctx, org, spec.Sponsor); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return invalid("sponsor", "user %q is not a member of the org", spec.Sponsor)
				}
				return err
			}
		}
		if err := o.mayChange(roleGrant(r), sc, ""); err != nil {
			return err
		}
		out, err = o.tx.CreateAgent(ctx, store.Agent{Org: org, Name: spec.Name, Role: r.Name, Sponsor: spec.Sponsor, ExpiresAt: spec.ExpiresAt,
			Attributes: spec.Attributes, Sponsors: spec.Sponsors})
		if err != nil {
			return sponsorErr(err)
		}
		_, err = o.createBinding(authz.Binding{Principal: out.PrincipalID(), Role: r.Name, Scope: sc})
		return err
	})
	return out, rev, err
}

// AgentUpdate changes an agent; nil fields keep their value.
type AgentUpdate struct {
	Role       *string
	Sponsor    *string
	ExpiresAt  *time.Time // zero time: never expires
	Attributes *map[string]any
	// Sponsors replaces the sponsors (at least one); Sponsor replaces
	// them with that one user. Suspended suspends or lifts a suspension
	// by hand.
	Sponsors  *[]string
	Suspended *bool
}

// UpdateAgent changes an agent. Needs agents:update, the agent's level ≤
// the actor's at every scope (mayManage), and — since any update may re-enable it (a new expiry) or
// change what it can do — DESIGN §1.2 for its (new) role at org scope. A
// new role also moves the agent's bindings of the old role to the new one,
// each under DESIGN §1.2 at its scope.
func (d *Directory) UpdateAgent(ctx context.Context, actor Actor, org, name string, u AgentUpdate) (store.Agent, uint64, error) {
	var out store.Agent
	rev, err := d.write(ctx, "update agent", org, actor, func(o *op) error {
		if err := o.need("agents:update", authz.Scope{}); err != nil {
			return err
		}
		cur, err := o.tx.GetAgent(ctx, org, name)
		if err != nil {
			return err
		}
		target := cur.PrincipalID()
		if err := o.mayManage(target); err != nil {
			return err
		}
		next := cur
		if u.Role != nil {
			if decl, ok := o.pol().Agent(name); ok && *u.Role != decl.Role {
				return invalid("role", "the policy declares agent %s with role %s", name, decl.Role)
			}
			next.Role = *u.Role
		}
		r, err := o.role("role", next.Role)
		if err != nil {
			return err
		}
		if err := o.mayRoleChange(r); err != nil {
			return err
		}
		if u.Sponsor != nil {
			if _, err := o.tx.GetMember(ctx, org, *u.Sponsor); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return invalid("sponsor", "user %q is not a member of the org", *u.Sponsor)
				}
				return err
			}
			next.Sponsor, next.Sponsors = *u.Sponsor, nil
		}
		if u.Sponsors != nil {
			if err := checkSponsors(*u.Sponsors, false); err != nil {
				return err
			}
			next.Sponsor, next.Sponsors = "", *u.Sponsors
		}
		if u.Suspended != nil {
			next.Suspended = *u.Suspended
		}
		if u.ExpiresAt != nil {
			next.ExpiresAt = *u.ExpiresAt
		}
		if u.Attributes != nil {
			next.Attributes = *u.Attributes
		}
		if next.Role != cur.Role {
			bs, err := o.bindingsOf(target)
			if err != nil {
				return err
			}
			for _, b := range bs {
				if b.Role != cur.Role {
					continue
				}
				if err := o.mayChange(o.bindingGrant(b.Binding), b.Scope, target); err != nil {
					return err
				}
				if err := o.mayChange(roleGrant(r), b.Scope, target); err != nil {
					return err
				}
				if err := o.tx.DeleteBinding(ctx, org, b.ID); err != nil {
					return err
				}
				nb := b.Binding
				nb.ID, nb.Role = "", r.Name
				if _, err := o.tx.CreateBinding(ctx, store.Binding{Org: org, Binding: nb, CreatedBy: actor.Principal}); err != nil {
					return err
				}
			}
		}
		out, err = o.tx.UpdateAgent(ctx, next)
		return sponsorErr(err)
	})
	return out, rev, err
}

// DeleteAgent deletes an agent with its bindings and team memberships.
// Needs agents:delete and DESIGN §1.2 for everything it loses
// (mayRemovePrincipal: its level at every scope, teams included, ≤ the
// actor's, and each of its own bindings).
func (d *Directory) DeleteAgent(ctx context.Context, actor Actor, org, name string) (uint64, error) {
	return d.write(ctx, "delete agent", org, actor, func(o *op) error {
		o.note.Target = "agent/" + authz.KindAgent + ":" + name
		if err := o.need("agents:delete", authz.Scope{}); err != nil {
			return err
		}
		a, err := o.tx.GetAgent(ctx, org, name)
		if err != nil {
			return err
		}
		if err := o.mayRemovePrincipal(a.PrincipalID()); err != nil {
			return err
		}
		return o.tx.DeleteAgent(ctx, org, name)
	})
}

// mayManage checks DESIGN §1.2's target rule for changing a principal
// itself rather than one of its bindings — suspending, resuming or
// updating an agent or service — at every scope where its level could
// exceed the actor's (TargetScopes): the org, every namespace of the org,
// and every resource the target or one of its teams is bound to. The
// target's level is the one it holds whatever its state
// (Engine.HighestLevelHeld): resuming restores what every one of its
// grants gives, and suspending takes it away, so an actor who does not
// outrank the target everywhere — even while it is suspended — may do
// neither (as minting the target a key requires: auth.mayActAs).
func (o *op) mayManage(target string) error {
	return o.d.MayManage(o.ctx, o.r, o.org, o.actor.Principal, target)
}

// MayManage is mayManage for actor outside a directory write (auth's key
// revocation), reading the org's namespaces through r and the levels from
// the engine, which the caller has caught up (CatchUp) in its write.
func (d *Directory) MayManage(ctx context.Context, r store.Reader, org, actor, target string) error {
	scopes, err := d.TargetScopes(ctx, r, org, target)
	if err != nil {
		return err
	}
	if d.disabled[ruleTarget] {
		return nil
	}
	eng := d.eng
	for _, sc := range scopes {
		// The target's level as if active: for a suspended or expired
		// target HighestLevel is -1, yet resuming it gives back every
		// grant it holds.
		al, tl := eng.HighestLevel(org, actor, sc), eng.HighestLevelHeld(org, target, sc)
		if tl > al {
			return &EscalationError{Reason: ReasonTarget, Scope: sc, ActorLevel: al, Target: target, TargetLevel: tl}
		}
	}
	return nil
}

// orgScopes is the org's scope followed by each of its namespaces', as
// r lists them.
func orgScopes(ctx context.Context, r store.Reader, org string) ([]authz.Scope, error) {
	nss, err := allPages(func(p store.Page) ([]store.Namespace, string, error) { return r.ListNamespaces(ctx, org, p) })
	if err != nil {
		return nil, err
	}
	scopes := make([]authz.Scope, 1, 1+len(nss))
	for _, n := range nss {
		scopes = append(scopes, authz.Scope{Namespace: n.Name})
	}
	return scopes, nil
}

// TargetScopes lists every scope at which what target holds could exceed
// what another principal holds: the org, each of its namespaces (orgScopes)
// and each resource that target or one of its teams holds a grant on
// (Engine.ResourceScopesHeld, whatever target's state). DESIGN §1.2's
// target rule compares an actor with target at each of them before the
// actor may manage target (mayManage) or act as it (auth's key minting):
// a level or permission held only on one resource, or only through a
// team, counts as much as one held org-wide.
func (d *Directory) TargetScopes(ctx context.Context, r store.Reader, org, target string) ([]authz.Scope, error) {
	scopes, err := orgScopes(ctx, r, org)
	if err != nil {
		return nil, err
	}
	return append(scopes, d.eng.ResourceScopesHeld(org, target)...), nil
}

// EngineTargetScopes is TargetScopes read from the engine alone (its
// namespaces, not the store's): what a credential's use compares, against
// the same state every other authorization of the request reads.
func (d *Directory) EngineTargetScopes(org, target string) []authz.Scope {
	return d.live().EngineTargetScopes(org, target)
}

// PatternsHeld is Engine.PatternsHeld: what acting as principal could use
// at sc (grants at sc, enclosing scopes and through teams; shares
// included), whatever principal's state.
func (d *Directory) PatternsHeld(org, principal string, sc authz.Scope) []policy.Permission {
	return d.live().PatternsHeld(org, principal, sc)
}

// mayRemovePrincipal checks DESIGN §1.2 for a principal being deleted or
// removed from the org by another: it loses every grant it holds, its own
// bindings' and, with its team memberships, its teams'. So the target
// rule holds at every scope where it could outrank the actor, teams
// included (mayManage), the actor holds every pattern the target holds at
// each of those scopes (as RemoveTeamMember requires for a team's
// bindings, and minting a key for it requires: auth.mayActAs), §1.2
// allows removing each of its own bindings, and the actor may suspend
// whatever its going leaves without a sponsor (mayOrphan).
func (o *op) mayRemovePrincipal(p string) error {
	if err := o.mayManage(p); err != nil {
		return err
	}
	if err := o.mayTakeAll(p); err != nil {
		return err
	}
	bs, err := o.bindingsOf(p)
	if err != nil {
		return err
	}
	if err := o.mayRemoveBindings(bs); err != nil {
		return err
	}
	// Whom it sponsors (itself, or as the last member of a sponsoring
	// team) would be suspended, sponsor_gone.
	return o.mayOrphan(sponsorLoss{principal: p})
}

// mayTakeAll checks the subset rule for taking away everything target
// holds: at the org, in each namespace and on each resource it or one of
// its teams holds a grant on (TargetScopes), the actor holds every
// pattern target holds there (Engine.PatternsHeld, whatever its state).
func (o *op) mayTakeAll(target string) error {
	if o.off(ruleSubset) {
		return nil
	}
	scopes, err := o.d.TargetScopes(o.ctx, o.r, o.org, target)
	if err != nil {
		return err
	}
	eng := o.d.eng
	for _, sc := range scopes {
		want := eng.PatternsHeld(o.org, target, sc)
		if missing := eng.Missing(o.org, o.actor.Principal, sc, want); len(missing) > 0 {
			return &EscalationError{Reason: ReasonPermissions, Scope: sc, ActorLevel: eng.HighestLevel(o.org, o.actor.Principal, sc), Missing: missing, Target: target}
		}
	}
	return nil
}

// GetAgent returns an agent: to itself, or with agents:read.
func (d *Directory) GetAgent(ctx context.Context, actor Actor, org, name string) (store.Agent, error) {
	var out store.Agent
	err := d.read(ctx, "get agent", org, actor, func(o *op) error {
		if !o.self(authz.KindAgent + ":" + name) {
			if err := o.need("agents:read", authz.Scope{}); err != nil {
				return err
			}
		}
		var err error
		out, err = o.r.GetAgent(ctx, org, name)
		return err
	})
	return out, err
}

// ListAgents lists the org's agents. Needs agents:list.
func (d *Directory) ListAgents(ctx context.Context, actor Actor, org string, p store.Page) ([]store.Agent, string, error) {
	var out []store.Agent
	var next string
	err := d.read(ctx, "list agents", org, actor, func(o *op) error {
		if err := o.need("agents:list", authz.Scope{}); err != nil {
			return err
		}
		var err error
		out, next, err = o.r.ListAgents(ctx, org, p)
		return err
	})
	return out, next, err
}

// ServiceSpec describes a new service (a runtime or CI account).
type ServiceSpec struct {
	Name       string         `json:"name"`
	Attributes map[string]any `json:"attributes,omitempty"`
	// Role, when set, binds the service to it at Namespace (or the org),
	// under DESIGN §1.2.
	Role      string `json:"role,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Sponsors ("user:<id>" members, "team:<slug>" teams), optional: with
	// sponsors, the service is sponsor_gone once the last one is gone.
	Sponsors []string `json:"sponsors,omitempty"`
	// Lifecycle opts the service in to the org's inactivity and
	// attestation rules; it needs sponsors (someone who may attest it).
	Lifecycle bool `json:"lifecycle,omitempty"`
}

// CreateService creates a service, optionally bound to a role. Needs
// services:create (and DESIGN §1.2 for the role).
func (d *Directory) CreateService(ctx context.Context, actor Actor, org string, spec ServiceSpec) (store.Service, uint64, error) {
	if err := checkName("name", spec.Name); err != nil {
		return store.Service{}, 0, err
	}
	sc := authz.Scope{Namespace: spec.Namespace}
	if spec.Namespace != "" {
		if err := checkSlugIdent("namespace", spec.Namespace); err != nil {
			return store.Service{}, 0, err
		}
	}
	if err := checkSponsors(spec.Sponsors, true); err != nil {
		return store.Service{}, 0, err
	}
	if spec.Lifecycle && len(spec.Sponsors) == 0 {
		return store.Service{}, 0, errLifecycleNeedsSponsors()
	}
	var out store.Service
	rev, err := d.write(ctx, "create service", org, actor, func(o *op) error {
		if err := o.need("services:create", authz.Scope{}); err != nil {
			return err
		}
		var g grant
		if spec.Role != "" {
			r, err := o.role("role", spec.Role)
			if err != nil {
				return err
			}
			if err := o.mayChange(roleGrant(r), sc, ""); err != nil {
				return err
			}
			g = roleGrant(r)
		}
		var err error
		if out, err = o.tx.CreateService(ctx, store.Service{Org: org, Name: spec.Name, Attributes: spec.Attributes,
			Sponsors: spec.Sponsors, Lifecycle: spec.Lifecycle}); err != nil {
			return sponsorErr(err)
		}
		if g.role != nil {
			_, err = o.createBinding(authz.Binding{Principal: out.PrincipalID(), Role: g.name, Scope: sc})
		}
		return err
	})
	return out, rev, err
}

// ServiceUpdate changes a service; nil fields keep their value.
type ServiceUpdate struct {
	Attributes *map[string]any
	// Sponsors replaces the sponsors: a non-empty list lifts
	// sponsor_gone; an empty one makes the service need none.
	Sponsors *[]string
	// Lifecycle opts in to (true) or out of the org's inactivity and
	// attestation rules; opting in counts as a use and an attestation.
	Lifecycle *bool
}

// errLifecycleNeedsSponsors: only a sponsor may attest, so a service under
// the org's rules without one could never be attested.
func errLifecycleNeedsSponsors() error {
	return invalid("lifecycle", "a service under the org's lifecycle rules needs sponsors (user:<id> or team:<slug>), who may attest it")
}

// UpdateService changes a service's attributes, sponsors or lifecycle
// opt-in. Needs services:update and the service's level ≤ the actor's at
// every scope (mayManage) (attributes feed conditions; new sponsors or leaving the org's
// rules can lift a suspension and restore what its grants give).
func (d *Directory) UpdateService(ctx context.Context, actor Actor, org, name string, u ServiceUpdate) (store.Service, uint64, error) {
	if u.Sponsors != nil {
		if err := checkSponsors(*u.Sponsors, true); err != nil {
			return store.Service{}, 0, err
		}
	}
	var out store.Service
	rev, err := d.write(ctx, "update service", org, actor, func(o *op) error {
		if err := o.need("services:update", authz.Scope{}); err != nil {
			return err
		}
		cur, err := o.tx.GetService(ctx, org, name)
		if err != nil {
			return err
		}
		if err := o.mayManage(cur.PrincipalID()); err != nil {
			return err
		}
		if u.Attributes != nil {
			cur.Attributes = *u.Attributes
		}
		if u.Sponsors != nil {
			cur.Sponsors, cur.RequireSponsor = *u.Sponsors, len(*u.Sponsors) > 0
		}
		if u.Lifecycle != nil {
			if *u.Lifecycle && !cur.Lifecycle {
				now := o.tx.Now()
				cur.AttestedAt, cur.LastUsedAt = now, now
			}
			cur.Lifecycle = *u.Lifecycle
		}
		if cur.Lifecycle && !cur.RequireSponsor {
			return errLifecycleNeedsSponsors()
		}
		out, err = o.tx.UpdateService(ctx, cur)
		return sponsorErr(err)
	})
	return out, rev, err
}

// SuspendService suspends (suspend) or resumes a service by hand (issue
// 20: "the same suspension applies to services on request"). While it is
// suspended every decision for it is deny with reason "suspended" — so it
// can neither act nor administer — and the credentials that name it (its
// API keys, run-token exchanges) are refused at their next use, as soon
// as a process's engine follows the change. Needs services:update and the
// service's level ≤ the actor's at every scope (mayManage; DESIGN §1.2:
// resuming restores what its grants give, so nobody below it anywhere may
// do it). Audited as
// service.suspend / service.resume, also when it changes nothing.
func (d *Directory) SuspendService(ctx context.Context, actor Actor, org, name string, suspend bool) (store.Service, uint64, error) {
	if err := checkName("name", name); err != nil {
		return store.Service{}, 0, err
	}
	opName := "resume service"
	if suspend {
		opName = "suspend service"
	}
	var out store.Service
	rev, err := d.write(ctx, opName, org, actor, func(o *op) error {
		o.note.Target = "service/" + authz.KindService + ":" + name
		if err := o.need("services:update", authz.Scope{}); err != nil {
			return err
		}
		cur, err := o.tx.GetService(ctx, org, name)
		if err != nil {
			return err
		}
		if err := o.mayManage(cur.PrincipalID()); err != nil {
			return err
		}
		if cur.Suspended == suspend {
			out = cur
			return nil
		}
		cur.Suspended = suspend
		out, err = o.tx.UpdateService(ctx, cur)
		return err
	})
	return out, rev, err
}

// DeleteService deletes a service with its bindings and team memberships.
// Needs services:delete and DESIGN §1.2 for everything it loses
// (mayRemovePrincipal: its level at every scope, teams included, ≤ the
// actor's, and each of its own bindings).
func (d *Directory) DeleteService(ctx context.Context, actor Actor, org, name string) (uint64, error) {
	return d.write(ctx, "delete service", org, actor, func(o *op) error {
		o.note.Target = "service/" + authz.KindService + ":" + name
		if err := o.need("services:delete", authz.Scope{}); err != nil {
			return err
		}
		s, err := o.tx.GetService(ctx, org, name)
		if err != nil {
			return err
		}
		if err := o.mayRemovePrincipal(s.PrincipalID()); err != nil {
			return err
		}
		return o.tx.DeleteService(ctx, org, name)
	})
}

// GetService returns a service: to itself, or with services:read.
func (d *Directory) GetService(ctx context.Context, actor Actor, org, name string) (store.Service, error) {
	var out store.Service
	err := d.read(ctx, "get service", org, actor, func(o *op) error {
		if !o.self(authz.KindService + ":" + name) {
			if err := o.need("services:read", authz.Scope{}); err != nil {
				return err
			}
		}
		var err error
		out, err = o.r.GetService(ctx, org, name)
		return err
	})
	return out, err
}

// ListServices lists the org's services. Needs services:list.
func (d *Directory) ListServices(ctx context.Context, actor Actor, org string, p store.Page) ([]store.Service, string, error) {
	var out []store.Service
	var next string
	err := d.read(ctx, "list services", org, actor, func(o *op) error {
		if err := o.need("services:list", authz.Scope{}); err != nil {
			return err
		}
		var err error
		out, next, err = o.r.ListServices(ctx, org, p)
		return err
	})
	return out, next, err
}
