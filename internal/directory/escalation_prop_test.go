package directory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// The no-escalation property test. Random administrative operations by
// random actors run against a real directory (SQLite store, engine); an
// independent oracle, written here from DESIGN §1.2 and docs/directory.md
// and sharing no code with the directory, decides whether each is allowed.
// The test asserts that every operation succeeds iff the oracle allows it,
// that a refusal is one of the reasons the oracle found, and, every few
// hundred operations, that the engine grants no principal anything the
// oracle's chain of legitimate grants does not, that the store holds
// exactly the oracle's bindings, and that the org keeps an owner.

// --- the oracle

type obinding struct {
	id        string
	principal string
	role      string // "" for a share
	actions   []string
	sc        authz.Scope
	by        string // the actor that created it
}

type orole struct {
	level int
	perms []policy.Permission // flattened, sorted, deduplicated
}

type oracle struct {
	roles     map[string]orole
	template  map[string]bool // lower-cased template role names
	members   map[string]bool // "user:x" → member
	agents    map[string]string
	sponsor   map[string]string   // agent → the user who created it (its sponsor), "" once they left
	teams     map[string][]string // "team:x" → members
	bindings  map[string]*obinding
	resources []authz.Scope
}

func newOracle(tmpl *policy.Model) *oracle {
	o := &oracle{
		roles: map[string]orole{}, template: map[string]bool{}, members: map[string]bool{},
		agents: map[string]string{}, sponsor: map[string]string{}, teams: map[string][]string{}, bindings: map[string]*obinding{},
	}
	for _, r := range tmpl.Roles {
		o.roles[r.Name] = orole{r.Level, slices.Clone(r.Permissions)}
		o.template[strings.ToLower(r.Name)] = true
	}
	return o
}

func covers(p, q policy.Permission) bool {
	return (p.Resource == "*" || p.Resource == q.Resource) && (p.Action == "*" || p.Action == q.Action)
}

// contains reports whether a binding at b applies to a question at q.
func contains(b, q authz.Scope) bool {
	switch {
	case b == authz.Scope{}:
		return true
	case b.ID == "":
		return q.Namespace == b.Namespace && q.Namespace != ""
	default:
		return b == q
	}
}

func (o *oracle) exists(p string) bool {
	switch {
	case strings.HasPrefix(p, "user:"):
		return o.members[p]
	case strings.HasPrefix(p, "agent:"):
		_, ok := o.agents[p]
		return ok
	case strings.HasPrefix(p, "team:"):
		_, ok := o.teams[p]
		return ok
	}
	return false
}

// applying lists the bindings that apply to p at q: its own and, for a
// user or agent, its teams'.
func (o *oracle) applying(p string, q authz.Scope) []*obinding {
	if !o.exists(p) {
		return nil
	}
	if strings.HasPrefix(p, "agent:") && o.sponsor[p] == "" {
		return nil // suspended: its sponsor left (docs/agents.md)
	}
	holders := map[string]bool{p: true}
	if !strings.HasPrefix(p, "team:") {
		for t, ms := range o.teams {
			if slices.Contains(ms, p) {
				holders[t] = true
			}
		}
	}
	var out []*obinding
	for _, b := range o.bindings {
		if holders[b.principal] && contains(b.sc, q) {
			out = append(out, b)
		}
	}
	return out
}

func (o *oracle) ceiling(p string) (orole, bool) {
	if !strings.HasPrefix(p, "agent:") {
		return orole{}, true
	}
	r, ok := o.roles[o.agents[p]]
	return r, ok
}

func (o *oracle) level(p string, q authz.Scope) int {
	ceil, ok := o.ceiling(p)
	if !ok {
		return -1
	}
	lvl := -1
	for _, b := range o.applying(p, q) {
		if r, ok := o.roles[b.role]; ok && b.role != "" {
			l := r.level
			if strings.HasPrefix(p, "agent:") {
				l = min(l, ceil.level)
			}
			lvl = max(lvl, l)
		}
	}
	return lvl
}

func (o *oracle) held(p string, q authz.Scope) []policy.Permission {
	var out []policy.Permission
	for _, b := range o.applying(p, q) {
		out = append(out, o.grantOf(b)...)
	}
	return out
}

// grantOf is what a binding hands out.
func (o *oracle) grantOf(b *obinding) []policy.Permission {
	if b.role != "" {
		return o.roles[b.role].perms
	}
	var out []policy.Permission
	for _, a := range b.actions {
		out = append(out, policy.Permission{Resource: b.sc.Type, Action: a})
	}
	return out
}

// holds reports whether p holds x at q. For an agent, x must be concrete
// or covered by the ceiling too.
func (o *oracle) holds(p string, q authz.Scope, x policy.Permission) bool {
	ceil, ok := o.ceiling(p)
	if !ok {
		return false
	}
	if strings.HasPrefix(p, "agent:") && !slices.ContainsFunc(ceil.perms, func(c policy.Permission) bool { return covers(c, x) }) {
		return false
	}
	return slices.ContainsFunc(o.held(p, q), func(h policy.Permission) bool { return covers(h, x) })
}

func (o *oracle) holdsAll(p string, q authz.Scope, xs []policy.Permission) bool {
	for _, x := range xs {
		if !o.holds(p, q, x) {
			return false
		}
	}
	return true
}

// hasOwner: a member user holds a top-level role at org scope, directly or
// through a team.
func (o *oracle) hasOwner() bool {
	top := 0
	for _, r := range o.roles {
		top = max(top, r.level)
	}
	for _, b := range o.bindings {
		r, ok := o.roles[b.role]
		if b.role == "" || !ok || r.level != top || b.sc != (authz.Scope{}) {
			continue
		}
		if strings.HasPrefix(b.principal, "user:") && o.members[b.principal] {
			return true
		}
		for _, m := range o.teams[b.principal] {
			if strings.HasPrefix(m, "user:") {
				return true
			}
		}
	}
	return false
}

// reasons collects why the oracle refuses an operation; empty: allowed.
type reasons map[error]bool

func (r reasons) add(cond bool, kind error) {
	if cond {
		r[kind] = true
	}
}

// rules checks DESIGN §1.2 for handing out (or taking away) a grant of
// role (nil for a share) and perms, to target, at sc, by actor.
func (o *oracle) rules(r reasons, actor string, role *orole, perms []policy.Permission, target string, sc authz.Scope) {
	al := o.level(actor, sc)
	r.add(role != nil && role.level > al, directory.ErrEscalation)
	r.add(!o.holdsAll(actor, sc, perms), directory.ErrEscalation)
	r.add(target != "" && o.level(target, sc) > al, directory.ErrEscalation)
}

func (o *oracle) removeBinding(id string) { delete(o.bindings, id) }

// everyScope is every scope of the run's org: the org, its namespaces and
// its resources (Directory.TargetScopes lists those a principal holds a
// grant on; comparing at the others changes nothing, a principal's level
// and grants there being those of the namespace).
func (o *oracle) everyScope() []authz.Scope {
	return append([]authz.Scope{{}, {Namespace: "default"}, {Namespace: "prod"}}, o.resources...)
}

// --- the run

type escRun struct {
	t      testing.TB
	ctx    context.Context
	d      *directory.Directory
	st     store.Store // read directly to compare with the oracle
	o      *oracle
	rng    *rand.Rand
	org    string
	users  []string // all user principals, members or not
	stats  map[string]int
	viol   []string
	agentN int
}

var customNames = []string{"c1", "c2", "c3", "c4", "c5", "Owner", "admin"}

var permPool = []string{
	"chains:read", "chains:run", "chains:*", "*:read", "members:*", "members:update", "members:delete",
	"members:create", "bindings:create", "bindings:delete", "bindings:*", "roles:*", "roles:create",
	"roles:update", "agents:create", "billing:read", "secrets:read", "*:*", "audit:read", "results:read",
	"schedules:*", "data:export", "decisions:approve", "chains:create", "chains:delete",
}

var shareActions = []string{"read", "run", "update", "delete", "approve", "*"}

func (e *escRun) violation(format string, args ...any) {
	e.viol = append(e.viol, fmt.Sprintf(format, args...))
}

// outcome compares the directory's result with the oracle's verdict.
func (e *escRun) outcome(what string, err error, why reasons) bool {
	if testing.Verbose() && os.Getenv("GATEHOUSE_PROP_TRACE") != "" {
		e.t.Logf("op: %s → err=%v oracle=%v", what, err, why)
	}
	if len(why) == 0 {
		if err != nil {
			e.violation("%s: refused (%v) but the oracle allows it", what, err)
			return false
		}
		e.stats["ok"]++
		return true
	}
	if err == nil {
		var ks []string
		for k := range why {
			ks = append(ks, k.Error())
		}
		sort.Strings(ks)
		e.violation("%s: succeeded but the oracle refuses it (%s)", what, strings.Join(ks, "; "))
		return true // it happened: the oracle must follow to keep comparing
	}
	matched := false
	for k := range why {
		if errors.Is(err, k) {
			matched = true
			e.stats[k.Error()]++
		}
	}
	if !matched {
		e.violation("%s: refused with %v, not one of the oracle's reasons %v", what, err, why)
	}
	return false
}

func (e *escRun) pick(xs []string) string { return xs[e.rng.IntN(len(xs))] }

func (e *escRun) scope() authz.Scope {
	switch e.rng.IntN(6) {
	case 0, 1:
		return authz.Scope{}
	case 2, 3:
		return authz.Scope{Namespace: "default"}
	case 4:
		return authz.Scope{Namespace: "prod"}
	default:
		return e.o.resources[e.rng.IntN(len(e.o.resources))]
	}
}

func (e *escRun) roleNames() []string {
	names := make([]string, 0, len(e.o.roles)+1)
	for n := range e.o.roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return append(names, "ghost")
}

func (e *escRun) target() string {
	switch e.rng.IntN(8) {
	case 0:
		return e.pick([]string{"team:t1", "team:t2"})
	case 1:
		if len(e.o.agents) > 0 {
			var as []string
			for a := range e.o.agents {
				as = append(as, a)
			}
			sort.Strings(as)
			return e.pick(as)
		}
	}
	return e.someone()
}

func parsePerms(ss []string) []policy.Permission {
	out := make([]policy.Permission, 0, len(ss))
	for _, s := range ss {
		out = append(out, policy.MustPermission(s))
	}
	return out
}

func flatten(ps []policy.Permission) []policy.Permission {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b policy.Permission) int {
		return strings.Compare(a.Resource+":"+a.Action, b.Resource+":"+b.Action)
	})
	return slices.Compact(out)
}

// someone picks a user: a current member nine times in ten.
func (e *escRun) someone() string {
	if e.rng.IntN(10) > 0 {
		var ms []string
		for _, u := range e.users {
			if e.o.members[u] {
				ms = append(ms, u)
			}
		}
		if len(ms) > 0 {
			return e.pick(ms)
		}
	}
	return e.pick(e.users)
}

func (e *escRun) step() {
	// One hang guard per operation: a loaded machine makes the whole run
	// slow, never one operation that long.
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	e.ctx = ctx
	actor := e.someone()
	a := directory.Actor{Principal: actor}
	uid := func(p string) string { return strings.TrimPrefix(p, "user:") }
	why := reasons{}
	member := e.o.members[actor]
	why.add(!member, directory.ErrNotFound)
	org := authz.Scope{}

	switch op := e.rng.IntN(100); {
	case op < 30: // bind a role
		target, roleName, sc := e.target(), e.pick(e.roleNames()), e.scope()
		if member {
			why.add(!e.o.holds(actor, sc, policy.MustPermission("bindings:create")), directory.ErrForbidden)
			r, ok := e.o.roles[roleName]
			why.add(!ok, directory.ErrInvalid)
			why.add(!e.o.exists(target), directory.ErrNotFound)
			if ok {
				e.o.rules(why, actor, &r, r.perms, target, sc)
			}
			for _, b := range e.o.bindings {
				if b.principal == target && b.role == roleName && b.sc == sc {
					why[directory.ErrConflict] = true
				}
			}
		}
		b, _, err := e.d.CreateBinding(e.ctx, a, e.org, directory.BindingSpec{Principal: target, Role: roleName, Scope: sc})
		if e.outcome(fmt.Sprintf("%s binds %s to %s at %s", actor, target, roleName, sc), err, why) {
			e.o.bindings[b.ID] = &obinding{id: b.ID, principal: target, role: roleName, sc: sc, by: actor}
		}

	case op < 45: // unbind
		ids := make([]string, 0, len(e.o.bindings))
		for id := range e.o.bindings {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return
		}
		sort.Strings(ids)
		b := e.o.bindings[e.pick(ids)]
		if member {
			why.add(!e.o.holds(actor, b.sc, policy.MustPermission("bindings:delete")), directory.ErrForbidden)
			var rp *orole
			if r, ok := e.o.roles[b.role]; ok && b.role != "" {
				rp = &r
			}
			e.o.rules(why, actor, rp, e.o.grantOf(b), b.principal, b.sc)
			if len(why) == 0 {
				saved := *b
				e.o.removeBinding(b.id)
				why.add(!e.o.hasOwner(), directory.ErrLastOwner)
				e.o.bindings[b.id] = &saved
			}
		}
		_, err := e.d.DeleteBinding(e.ctx, a, e.org, b.id)
		if e.outcome(fmt.Sprintf("%s unbinds %s (%s %s%v at %s)", actor, b.id, b.principal, b.role, b.actions, b.sc), err, why) {
			e.o.removeBinding(b.id)
		}

	case op < 55: // share
		res := e.o.resources[e.rng.IntN(len(e.o.resources))]
		target := e.target()
		n := 1 + e.rng.IntN(2)
		var acts []string
		for range n {
			acts = append(acts, e.pick(shareActions))
		}
		slices.Sort(acts)
		acts = slices.Compact(acts)
		if member {
			why.add(!e.o.holds(actor, res, policy.MustPermission("bindings:create")), directory.ErrForbidden)
			why.add(!e.o.exists(target), directory.ErrNotFound)
			var perms []policy.Permission
			for _, x := range acts {
				perms = append(perms, policy.Permission{Resource: res.Type, Action: x})
			}
			e.o.rules(why, actor, nil, perms, target, res)
			for _, b := range e.o.bindings {
				if b.principal == target && b.role == "" && b.sc == res && slices.Equal(b.actions, acts) {
					why[directory.ErrConflict] = true
				}
			}
		}
		b, _, err := e.d.Share(e.ctx, a, e.org, authz.ResourceRef(res), target, acts)
		if e.outcome(fmt.Sprintf("%s shares %s with %s for %v", actor, res, target, acts), err, why) {
			e.o.bindings[b.ID] = &obinding{id: b.ID, principal: target, actions: acts, sc: res, by: actor}
		}

	case op < 68: // change a member's org role
		target, roleName := e.someone(), e.pick(e.roleNames())
		if member {
			why.add(!e.o.members[target], directory.ErrNotFound)
			why.add(!e.o.holds(actor, org, policy.MustPermission("members:update")), directory.ErrForbidden)
			r, ok := e.o.roles[roleName]
			why.add(!ok, directory.ErrInvalid)
			var old []*obinding
			for _, b := range e.o.bindings {
				if b.principal == target && b.sc == org {
					old = append(old, b)
					var rp *orole
					if r, ok := e.o.roles[b.role]; ok {
						rp = &r
					}
					e.o.rules(why, actor, rp, e.o.grantOf(b), target, org)
				}
			}
			if ok {
				e.o.rules(why, actor, &r, r.perms, target, org)
			}
			if len(why) == 0 {
				saved := map[string]*obinding{}
				for _, b := range old {
					saved[b.id] = b
					e.o.removeBinding(b.id)
				}
				e.o.bindings["probe"] = &obinding{id: "probe", principal: target, role: roleName}
				why.add(!e.o.hasOwner(), directory.ErrLastOwner)
				delete(e.o.bindings, "probe")
				for id, b := range saved {
					e.o.bindings[id] = b
				}
			}
		}
		b, _, err := e.d.ChangeMemberRole(e.ctx, a, e.org, uid(target), roleName)
		if e.outcome(fmt.Sprintf("%s changes %s's role to %s", actor, target, roleName), err, why) {
			for id, ob := range e.o.bindings {
				if ob.principal == target && ob.sc == org {
					delete(e.o.bindings, id)
				}
			}
			e.o.bindings[b.ID] = &obinding{id: b.ID, principal: target, role: roleName, by: actor}
		}

	case op < 76, op < 82: // create or update a custom role
		create := op < 76
		name := e.pick(customNames)
		level := e.rng.IntN(101)
		var ps []string
		for range 1 + e.rng.IntN(3) {
			ps = append(ps, e.pick(permPool))
		}
		perms := flatten(parsePerms(ps))
		spec := directory.RoleSpec{Name: name, Level: level, Permissions: ps}
		cur, exists := e.o.roles[name]
		if member {
			verb := "roles:update"
			if create {
				verb = "roles:create"
			}
			why.add(!e.o.holds(actor, org, policy.MustPermission(verb)), directory.ErrForbidden)
			shadow := e.o.template[strings.ToLower(name)]
			why.add(shadow, directory.ErrInvalid)
			if create {
				why.add(exists, directory.ErrConflict)
			} else {
				why.add(!exists, directory.ErrNotFound)
			}
			why.add(level >= 100, directory.ErrInvalid) // the top level is the owner's
			nr := orole{level, perms}
			if !shadow && (create && !exists || !create && exists) {
				changed := !exists || cur.level != level || !slices.Equal(cur.perms, perms)
				if changed {
					e.o.rules(why, actor, &nr, perms, "", org)
					if exists {
						e.o.rules(why, actor, &cur, cur.perms, "", org)
					}
				}
			}
		}
		var err error
		verb := "creates"
		if create {
			_, err = e.d.CreateRole(e.ctx, a, e.org, spec)
		} else {
			verb = "updates"
			_, err = e.d.UpdateRole(e.ctx, a, e.org, spec)
		}
		if e.outcome(fmt.Sprintf("%s %s role %s level %d %v", actor, verb, name, level, ps), err, why) {
			e.o.roles[name] = orole{level, perms}
		}

	case op < 88: // create an agent
		e.agentN++
		name := fmt.Sprintf("a%d", e.agentN%12)
		roleName := e.pick(e.roleNames())
		ns := e.pick([]string{"", "", "default", "prod"})
		sc := authz.Scope{Namespace: ns}
		if member {
			why.add(!e.o.holds(actor, org, policy.MustPermission("agents:create")), directory.ErrForbidden)
			r, ok := e.o.roles[roleName]
			why.add(!ok, directory.ErrInvalid)
			_, taken := e.o.agents["agent:"+name]
			why.add(taken, directory.ErrConflict)
			if ok {
				e.o.rules(why, actor, &r, r.perms, "", sc)
			}
		}
		_, _, err := e.d.CreateAgent(e.ctx, a, e.org, directory.AgentSpec{Name: name, Role: roleName, Namespace: ns})
		if e.outcome(fmt.Sprintf("%s creates agent %s as %s at %s", actor, name, roleName, sc), err, why) {
			p := "agent:" + name
			e.o.agents[p] = roleName
			e.o.sponsor[p] = actor
			bs, _, err := e.st.ListBindings(e.ctx, e.org, store.BindingFilter{Principal: p}, store.Page{})
			if err != nil || len(bs) != 1 {
				e.violation("agent %s has bindings %v (%v), want one", name, bs, err)
				return
			}
			e.o.bindings[bs[0].ID] = &obinding{id: bs[0].ID, principal: p, role: roleName, sc: sc, by: actor}
		}

	case op < 93: // remove a member
		target := e.someone()
		// Removing another needs members:delete, checked before the
		// target is looked up (no oracle on who is a member).
		mayDelete := target == actor || e.o.holds(actor, org, policy.MustPermission("members:delete"))
		if member && !mayDelete {
			why.add(true, directory.ErrForbidden)
		}
		if member && mayDelete {
			why.add(!e.o.members[target], directory.ErrNotFound)
			if target != actor && e.o.members[target] {
				// It loses everything it holds, its teams' grants too:
				// at every scope its level is not above the actor's and
				// what it holds there the actor holds.
				for _, sc := range e.o.everyScope() {
					why.add(e.o.level(target, sc) > e.o.level(actor, sc), directory.ErrEscalation)
					why.add(!e.o.holdsAll(actor, sc, e.o.held(target, sc)), directory.ErrEscalation)
				}
				// An agent it is the sponsor of is suspended
				// (sponsor_gone): as if the actor suspended it.
				for ag, s := range e.o.sponsor {
					if s != target {
						continue
					}
					for _, sc := range e.o.everyScope() {
						why.add(e.o.level(ag, sc) > e.o.level(actor, sc), directory.ErrEscalation)
					}
				}
				for _, b := range e.o.bindings {
					if b.principal == target {
						var rp *orole
						if r, ok := e.o.roles[b.role]; ok && b.role != "" {
							rp = &r
						}
						e.o.rules(why, actor, rp, e.o.grantOf(b), target, b.sc)
					}
				}
			}
			if len(why) == 0 {
				snap := e.o.snapshotMember(target)
				e.o.removeMember(target)
				why.add(!e.o.hasOwner(), directory.ErrLastOwner)
				e.o.restore(snap)
			}
		}
		_, err := e.d.RemoveMember(e.ctx, a, e.org, uid(target))
		if e.outcome(fmt.Sprintf("%s removes member %s", actor, target), err, why) {
			e.o.removeMember(target)
			for ag, s := range e.o.sponsor {
				if s == target {
					e.o.sponsor[ag] = "" // the agent is suspended for good: sponsor_gone
				}
			}
		}

	default: // add a member
		target, roleName := e.pick(e.users), e.pick(e.roleNames())
		if member {
			why.add(!e.o.holds(actor, org, policy.MustPermission("members:create")), directory.ErrForbidden)
			r, ok := e.o.roles[roleName]
			why.add(!ok, directory.ErrInvalid)
			if ok {
				e.o.rules(why, actor, &r, r.perms, target, org)
			}
			why.add(e.o.members[target], directory.ErrConflict)
		}
		_, _, err := e.d.AddMember(e.ctx, a, e.org, uid(target), roleName)
		if e.outcome(fmt.Sprintf("%s adds member %s as %s", actor, target, roleName), err, why) {
			e.o.members[target] = true
			bs, _, err := e.st.ListBindings(e.ctx, e.org, store.BindingFilter{Principal: target}, store.Page{})
			if err != nil || len(bs) != 1 {
				e.violation("new member %s has bindings %v (%v), want one", target, bs, err)
				return
			}
			e.o.bindings[bs[0].ID] = &obinding{id: bs[0].ID, principal: target, role: roleName, by: actor}
		}
	}
}

type memberSnap struct {
	p        string
	bindings []*obinding
	teams    map[string][]string
}

func (o *oracle) snapshotMember(p string) memberSnap {
	s := memberSnap{p: p, teams: map[string][]string{}}
	for _, b := range o.bindings {
		if b.principal == p {
			s.bindings = append(s.bindings, b)
		}
	}
	for t, ms := range o.teams {
		s.teams[t] = slices.Clone(ms)
	}
	return s
}

func (o *oracle) restore(s memberSnap) {
	o.members[s.p] = true
	for _, b := range s.bindings {
		o.bindings[b.id] = b
	}
	o.teams = s.teams
}

// removeMember removes a user with its bindings and team memberships.
func (o *oracle) removeMember(p string) {
	delete(o.members, p)
	for id, b := range o.bindings {
		if b.principal == p {
			delete(o.bindings, id)
		}
	}
	for t, ms := range o.teams {
		o.teams[t] = slices.DeleteFunc(slices.Clone(ms), func(m string) bool { return m == p })
	}
}

// checkInvariants compares the engine and the store with the oracle.
func (e *escRun) checkInvariants(when string) {
	if !e.o.hasOwner() {
		e.violation("%s: the oracle's org has no owner", when)
	}
	// The engine grants nothing the oracle's legitimate grants do not, and
	// everything they do.
	concrete := []string{"chains:read", "chains:run", "chains:delete", "members:create", "members:delete", "bindings:create",
		"bindings:delete", "roles:create", "billing:read", "secrets:read", "audit:read", "agents:create", "org:delete", "tickets:close"}
	principals := slices.Clone(e.users)
	for p := range e.o.agents {
		principals = append(principals, p)
	}
	sort.Strings(principals)
	scopes := append([]authz.Scope{{Namespace: "default"}, {Namespace: "prod"}}, e.o.resources...)
	eng := directory.EngineForTest(e.d)
	for _, p := range principals {
		for _, sc := range scopes {
			for _, c := range concrete {
				x := policy.MustPermission(c)
				req := authz.Request{Org: e.org, Principal: p, Namespace: sc.Namespace, ResourceType: x.Resource, Action: x.Action}
				q := authz.Scope{Namespace: sc.Namespace}
				if sc.ID != "" {
					if x.Resource != sc.Type {
						continue
					}
					req.ResourceID, q = sc.ID, sc
				}
				got, want := eng.Check(&req).Allowed, e.o.holds(p, q, x)
				if got && !want {
					e.violation("%s: %s holds %s at %s, which no chain of legitimate grants gives it", when, p, c, q)
				} else if !got && want {
					e.violation("%s: %s lacks %s at %s, which the oracle's grants give it", when, p, c, q)
				}
			}
		}
	}
	// The store holds exactly the oracle's bindings.
	bs, err := allBindings(e.ctx, e.st, e.org)
	if err != nil {
		e.violation("%s: list bindings: %v", when, err)
		return
	}
	got := map[string]string{}
	for _, b := range bs {
		got[b.ID] = fmt.Sprintf("%s %s %v %s", b.Principal, b.Role, b.Actions, b.Scope)
	}
	for id, b := range e.o.bindings {
		want := fmt.Sprintf("%s %s %v %s", b.principal, b.role, b.actions, b.sc)
		if got[id] != want {
			e.violation("%s: binding %s is %q in the store, %q in the oracle", when, id, got[id], want)
		}
		delete(got, id)
	}
	for id, b := range got {
		e.violation("%s: the store has binding %s (%s) that no approved operation made", when, id, b)
	}
}

func allBindings(ctx context.Context, st store.Store, org string) ([]store.Binding, error) {
	var out []store.Binding
	cursor := ""
	for {
		bs, next, err := st.ListBindings(ctx, org, store.BindingFilter{}, store.Page{Size: store.MaxPageSize, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// runNoEscalation runs ops random operations with seed; disable switches
// off one directory rule. It returns the violations (stopping after
// maxViol) and outcome counts.
func runNoEscalation(t *testing.T, seed uint64, ops int, disable string, maxViol int) ([]string, map[string]int) {
	t.Helper()
	ctx := ctxT(t)
	st := propStore(t)
	d := openDir(t, st, directory.Options{CatchUpTimeout: guard})
	if disable != "" {
		directory.DisableRuleForTest(d, disable)
	}
	tmpl, err := templates.Model("agent-platform")
	ok(t, "template", err)
	e := &escRun{t: t, ctx: ctx, d: d, st: st, o: newOracle(tmpl), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		org: "p", stats: map[string]int{}}

	// Setup by the owner, u0 (all legitimate: the owner holds *:* at 100).
	owner := directory.Actor{Principal: "user:u0"}
	ids := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	mustUsers(t, d, ids...)
	for _, id := range ids {
		e.users = append(e.users, "user:"+id)
	}
	ok(t, "create org", third(d.CreateOrg(ctx, owner, directory.OrgSpec{ID: "p"})))
	e.o.members["user:u0"] = true
	ok(t, "namespace", third(d.CreateNamespace(ctx, owner, "p", "prod")))
	for _, r := range []authz.ResourceRef{{Namespace: "default", Type: "chains", ID: "c1"}, {Namespace: "default", Type: "tickets", ID: "t1"}, {Namespace: "prod", Type: "chains", ID: "c2"}} {
		ok(t, "resource", third(d.CreateResource(ctx, owner, "p", directory.ResourceSpec{Namespace: r.Namespace, Type: r.Type, ID: r.ID})))
		e.o.resources = append(e.o.resources, resourceScope(r))
	}
	start := map[string]string{"u1": "admin", "u2": "admin", "u3": "builder", "u4": "operator", "u5": "viewer", "u6": "viewer"}
	for _, id := range ids[1:7] {
		ok(t, "add "+id, third(d.AddMember(ctx, owner, "p", id, start[id])))
		e.o.members["user:"+id] = true
	}
	ok(t, "team t1", third(d.CreateTeam(ctx, owner, "p", "t1", "", []string{"user:u5", "user:u6"})))
	ok(t, "team t2", third(d.CreateTeam(ctx, owner, "p", "t2", "", []string{"user:u3"})))
	e.o.teams["team:t1"] = []string{"user:u5", "user:u6"}
	e.o.teams["team:t2"] = []string{"user:u3"}
	bs, err := allBindings(ctx, st, "p")
	ok(t, "bindings", err)
	for _, b := range bs {
		e.o.bindings[b.ID] = &obinding{id: b.ID, principal: b.Principal, role: b.Role, sc: b.Scope, by: "user:u0"}
	}
	e.checkInvariants("after setup")

	for i := range ops {
		e.step()
		if len(e.viol) >= maxViol {
			break
		}
		if (i+1)%250 == 0 || i == ops-1 {
			e.ctx = ctxT(t)
			e.checkInvariants(fmt.Sprintf("after op %d", i+1))
		}
	}
	return e.viol, e.stats
}

func resourceScope(r authz.ResourceRef) authz.Scope {
	return authz.Scope(r)
}

// TestNoEscalation: ≥ 10,000 random administrative operations (four runs of
// 2,500 with different seeds, in parallel), zero violations. The outcome
// counts are checked too, so that a run where everything is refused (or
// everything allowed) cannot pass vacuously.
func TestNoEscalation(t *testing.T) {
	t.Parallel()
	const runs, ops = 4, 2500
	for i := range runs {
		seed := uint64(1000 + i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			viol, stats := runNoEscalation(t, seed, ops, "", 20)
			for _, v := range viol {
				t.Error(v)
			}
			t.Logf("outcomes: %v", stats)
			for _, k := range []error{directory.ErrForbidden, directory.ErrEscalation, directory.ErrNotFound} {
				if stats[k.Error()] == 0 {
					t.Errorf("no operation was refused with %v: the run does not exercise that rule", k)
				}
			}
			if stats["ok"] < ops/10 {
				t.Errorf("only %d of %d operations succeeded: the run is too weak", stats["ok"], ops)
			}
		})
	}
}

// TestNoEscalationDetectsDisabledRules: switching off any one rule of
// DESIGN §1.2 in the directory makes the property test report violations,
// so it can fail.
func TestNoEscalationDetectsDisabledRules(t *testing.T) {
	t.Parallel()
	for _, rule := range []string{"subset", "level", "target", "last-owner"} {
		t.Run(rule, func(t *testing.T) {
			t.Parallel()
			viol, _ := runNoEscalation(t, 7, 3000, rule, 1)
			if len(viol) == 0 {
				t.Fatalf("with the %s rule disabled, 3,000 operations showed no violation", rule)
			}
			t.Logf("first violation: %s", viol[0])
		})
	}
}
