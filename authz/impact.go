package authz

import (
	"fmt"
	"iter"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// Impact analysis (docs/impact.md): before a policy or binding change is
// saved, which principals gain or lose which permissions in which scope,
// computed against the org's real bindings.
//
// Method: the principals a change can affect are found from the change
// (bindings naming a role whose permissions change, a condition whose
// expression changes, an agent whose definition or ceiling changes, a
// binding added or removed; teams expanded to their members). For those
// only, two small engines — the org's data restricted to them, under the
// old and the new state — list their effective permission patterns
// (Permissions) at org scope and in every namespace where they hold
// namespace bindings, and the role patterns of their resource bindings. A
// pattern is gained when nothing before covers it and lost when nothing
// after does; a scope reports only what its enclosing scope did not.
// The cost is proportional to the bindings examined once (a linear scan)
// plus the affected principals, not to the org.

// Impact change kinds.
const (
	ImpactGained = "gained"
	ImpactLost   = "lost"
)

// ImpactEntry is one permission one principal gains or loses at a scope.
type ImpactEntry struct {
	Principal  string            `json:"principal"`
	Scope      Scope             `json:"scope"`
	Permission policy.Permission `json:"permission"`
	Change     string            `json:"change"` // "gained" or "lost"
	// Conditions: the permission gained or lost is the one held only when
	// one of these conditions holds; empty means unconditionally.
	Conditions []string `json:"conditions,omitempty"`
}

// ImpactSummary counts an Impact.
type ImpactSummary struct {
	Principals        int      `json:"principals"` // principals with at least one entry
	Gained            int      `json:"gained"`
	Lost              int      `json:"lost"`
	BindingsExamined  int      `json:"bindings_examined"`
	RolesChanged      []string `json:"roles_changed"`
	AgentsChanged     []string `json:"agents_changed"`
	ConditionsChanged []string `json:"conditions_changed"`
}

// Impact is the answer of PolicyImpact and BindingImpact. Entries are
// sorted by principal, scope, permission, change.
type Impact struct {
	Entries []ImpactEntry `json:"entries"`
	Summary ImpactSummary `json:"summary"`
}

// PolicyImpact compares the org d (with its current policy d.Policy) with
// the same org under next. A nil d.Policy is the empty policy.
func PolicyImpact(d *OrgData, next *policy.Model) (Impact, error) {
	if next == nil {
		return Impact{}, fmt.Errorf("%w: no new policy", ErrInvalid)
	}
	old := d.Policy
	if old == nil {
		old = &policy.Model{}
	}
	ch := diffModels(old, next)
	affected := map[string]bool{}
	for _, b := range d.Bindings {
		if ch.roles[b.Role] || (b.Condition != "" && ch.conds[b.Condition]) {
			addSubject(affected, b.Principal)
		}
		if strings.HasPrefix(b.Principal, KindRole+":") && (ch.anyRole || ch.roles[b.Role]) {
			ch.shares = true
		}
	}
	if ch.shares {
		// A share to role:X reaches whoever holds X or a role inheriting
		// it; with roles changed, any role holder may be reached
		// differently.
		for _, b := range d.Bindings {
			if b.Role != "" && !strings.HasPrefix(b.Principal, KindRole+":") {
				addSubject(affected, b.Principal)
			}
		}
	}
	for _, p := range d.Principals {
		if kind, name, _ := strings.Cut(p.ID, ":"); kind == KindAgent {
			if ch.agents[name] || ch.roles[agentCeiling(old, p)] || ch.roles[agentCeiling(next, p)] {
				affected[p.ID] = true
			}
		}
	}
	after := *d
	after.Policy = next
	imp, err := impactOf(d, &after, affected)
	imp.Summary.RolesChanged = sortedKeys(ch.roles)
	imp.Summary.AgentsChanged = sortedKeys(ch.agents)
	imp.Summary.ConditionsChanged = sortedKeys(ch.conds)
	return imp, err
}

// BindingImpact compares the org d with d after adding the bindings add
// (replacing any of the same id) and removing the bindings with ids in
// remove.
func BindingImpact(d *OrgData, add []Binding, remove []string) (Impact, error) {
	affected := map[string]bool{}
	drop := map[string]bool{}
	for _, id := range remove {
		drop[id] = true
	}
	for _, b := range add {
		drop[b.ID] = true
	}
	after := *d
	after.Bindings = make([]Binding, 0, len(d.Bindings)+len(add))
	for _, b := range d.Bindings {
		if drop[b.ID] {
			addSubject(affected, b.Principal)
			if strings.HasPrefix(b.Principal, KindRole+":") {
				addRoleHolders(affected, d.Bindings)
			}
			continue
		}
		after.Bindings = append(after.Bindings, b)
	}
	for _, b := range add {
		addSubject(affected, b.Principal)
		if strings.HasPrefix(b.Principal, KindRole+":") {
			addRoleHolders(affected, d.Bindings)
		}
		after.Bindings = append(after.Bindings, b)
	}
	return impactOf(d, &after, affected)
}

func addRoleHolders(affected map[string]bool, bs []Binding) {
	for _, b := range bs {
		if b.Role != "" && !strings.HasPrefix(b.Principal, KindRole+":") {
			addSubject(affected, b.Principal)
		}
	}
}

// addSubject marks a binding's subject: a principal, or a team (expanded
// later), or nothing for a role share (handled by the caller).
func addSubject(affected map[string]bool, subject string) {
	if !strings.HasPrefix(subject, KindRole+":") {
		affected[subject] = true
	}
}

func agentCeiling(m *policy.Model, p Principal) string {
	_, name, _ := strings.Cut(p.ID, ":")
	if a, ok := m.Agent(name); ok {
		return a.Role
	}
	return p.Role
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// modelChanges names what differs between two policies.
type modelChanges struct {
	roles, conds, agents map[string]bool
	anyRole, shares      bool
}

func diffModels(a, b *policy.Model) modelChanges {
	ch := modelChanges{roles: map[string]bool{}, conds: map[string]bool{}, agents: map[string]bool{}}
	for _, r := range a.Roles {
		r1, ok := b.Role(r.Name)
		if !ok || !slices.Equal(r.Permissions, r1.Permissions) || !slices.Equal(r.Parents, r1.Parents) {
			ch.roles[r.Name] = true
		}
	}
	for _, r := range b.Roles {
		if _, ok := a.Role(r.Name); !ok {
			ch.roles[r.Name] = true
		}
	}
	ch.anyRole = len(ch.roles) > 0
	for _, c := range a.Conditions {
		c1, ok := b.Condition(c.Name)
		if !ok || c1.Expr != c.Expr {
			ch.conds[c.Name] = true
		}
	}
	for _, c := range b.Conditions {
		if _, ok := a.Condition(c.Name); !ok {
			ch.conds[c.Name] = true
		}
	}
	for _, ag := range a.Agents {
		ag1, ok := b.Agent(ag.Name)
		if !ok || agentKey(ag) != agentKey(ag1) || ch.roles[ag.Role] {
			ch.agents[ag.Name] = true
		}
	}
	for _, ag := range b.Agents {
		ag0, ok := a.Agent(ag.Name)
		if !ok || agentKey(ag0) != agentKey(ag) || ch.roles[ag.Role] {
			ch.agents[ag.Name] = true
		}
	}
	// An agent rule's condition that changed changes the agent.
	for _, m := range []*policy.Model{a, b} {
		for _, ag := range m.Agents {
			for _, r := range ag.Rules {
				if r.Condition != "" && ch.conds[r.Condition] {
					ch.agents[ag.Name] = true
				}
			}
		}
	}
	return ch
}

// agentKey renders what an agent's decisions depend on.
func agentKey(a *policy.Agent) string {
	var b strings.Builder
	b.WriteString(a.Role)
	for _, r := range a.Rules {
		fmt.Fprintf(&b, "\x00%d %q %s %s %v", r.Kind, r.Words, r.Condition, r.Keyword, r.Granted)
	}
	return b.String()
}

// impactOf compares before and after for the affected principals and
// teams (team ids are expanded to their members in both states).
func impactOf(before, after *OrgData, affected map[string]bool) (Impact, error) {
	imp := Impact{Entries: []ImpactEntry{}}
	imp.Summary.BindingsExamined = len(before.Bindings)
	imp.Summary.RolesChanged, imp.Summary.AgentsChanged, imp.Summary.ConditionsChanged = []string{}, []string{}, []string{}
	for _, d := range []*OrgData{before, after} {
		for _, t := range d.Teams {
			if affected[KindTeam+":"+t.Slug] {
				for _, m := range t.Members {
					affected[m] = true
				}
			}
		}
	}
	principals := map[string]bool{}
	for _, d := range []*OrgData{before, after} {
		for _, p := range d.Principals {
			if affected[p.ID] {
				principals[p.ID] = true
			}
		}
	}
	if len(principals) == 0 {
		return imp, nil
	}
	orgNS := freeNamespace(before, after)
	e0, err := reducedEngine(before, principals, orgNS)
	if err != nil {
		return imp, err
	}
	e1, err := reducedEngine(after, principals, orgNS)
	if err != nil {
		return imp, err
	}
	x0 := newStateIndex(before, principals)
	x1 := x0
	if !sameAccessData(before, after) {
		x1 = newStateIndex(after, principals)
	} else if before.Policy != after.Policy {
		c := *x0
		c.d = after
		x1 = &c
	}
	ids := sortedKeys(principals)
	c := &impactRun{e0: e0, e1: e1, x0: x0, x1: x1, orgNS: orgNS}
	// Principals are independent: split them over the cores. Each
	// principal's entries come from one worker, in its order, and the
	// stable sort below makes the answer independent of the split.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(ids)/256))
	parts := make([][]ImpactEntry, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ids); i += workers {
				parts[w] = c.principal(parts[w], ids[i])
			}
		}()
	}
	wg.Wait()
	for _, p := range parts {
		imp.Entries = append(imp.Entries, p...)
	}
	touched := map[string]bool{}
	for _, x := range imp.Entries {
		touched[x.Principal] = true
		if x.Change == ImpactGained {
			imp.Summary.Gained++
		} else {
			imp.Summary.Lost++
		}
	}
	imp.Summary.Principals = len(touched)
	sort.SliceStable(imp.Entries, func(i, j int) bool {
		a, b := imp.Entries[i], imp.Entries[j]
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		if as, bs := scopeRank(a.Scope), scopeRank(b.Scope); as != bs {
			return as < bs
		}
		if a.Permission != b.Permission {
			return a.Permission.String() < b.Permission.String()
		}
		return a.Change < b.Change
	})
	return imp, nil
}

// impactRun is one analysis's engines and indexes, shared (read-only) by
// its workers.
type impactRun struct {
	e0, e1 *Engine
	x0, x1 *stateIndex
	orgNS  string
}

// principal appends to out what pid gains and loses.
func (c *impactRun) principal(out []ImpactEntry, pid string) []ImpactEntry {
	g0, _, _ := c.e0.Permissions(reducedOrg, pid, c.orgNS)
	g1, _, _ := c.e1.Permissions(reducedOrg, pid, c.orgNS)
	orgDiff := grantDiff(g0, g1)
	for _, x := range orgDiff {
		out = append(out, x.entry(pid, Scope{}))
	}
	seen := map[changeKey]bool{}
	for _, x := range orgDiff {
		seen[x.key()] = true
	}
	// Namespaces where the principal (or a team of it) holds bindings.
	nsSet := map[string]bool{}
	var resScopes []Scope
	for _, x := range []*stateIndex{c.x0, c.x1} {
		for b := range x.bindingsOf(pid) {
			if b.Scope.IsOrg() {
				continue
			}
			nsSet[b.Scope.Namespace] = true
			if b.Scope.IsResource() && !slices.Contains(resScopes, b.Scope) {
				resScopes = append(resScopes, b.Scope)
			}
		}
	}
	nss := sortedKeys(nsSet)
	nsGrants := map[string][2][]Grant{}
	for _, ns := range nss {
		n0, _, _ := c.e0.Permissions(reducedOrg, pid, ns)
		n1, _, _ := c.e1.Permissions(reducedOrg, pid, ns)
		nsGrants[ns] = [2][]Grant{n0, n1}
		for _, x := range grantDiff(n0, n1) {
			if !seen[x.key()] {
				out = append(out, x.entry(pid, Scope{Namespace: ns}))
			}
		}
	}
	sort.Slice(resScopes, func(i, j int) bool { return resScopes[i].String() < resScopes[j].String() })
	for _, sc := range resScopes {
		g := nsGrants[sc.Namespace]
		r0 := append(typeGrants(g[0], sc.Type), c.x0.resourceGrants(pid, sc)...)
		r1 := append(typeGrants(g[1], sc.Type), c.x1.resourceGrants(pid, sc)...)
		nsDiff := map[changeKey]bool{}
		for _, x := range grantDiff(typeGrants(g[0], sc.Type), typeGrants(g[1], sc.Type)) {
			nsDiff[x.key()] = true
		}
		for _, x := range grantDiff(r0, r1) {
			if !nsDiff[x.key()] {
				out = append(out, x.entry(pid, sc))
			}
		}
	}
	return out
}

func scopeRank(s Scope) string {
	switch {
	case s.IsOrg():
		return "0"
	case s.IsResource():
		return "2" + s.String()
	}
	return "1" + s.String()
}

// stateIndex indexes one state of the org for the affected principals:
// their teams, the bindings naming them or those teams, and the resources.
type stateIndex struct {
	d         *OrgData
	teams     map[string][]string  // principal → "team:<slug>" subjects
	bindings  map[string][]Binding // subject → bindings naming it
	resources map[Scope]bool       // a resource binding grants only while its resource exists
}

func newStateIndex(d *OrgData, principals map[string]bool) *stateIndex {
	x := &stateIndex{d: d, teams: map[string][]string{}, bindings: map[string][]Binding{}, resources: map[Scope]bool{}}
	subjects := map[string]bool{}
	for p := range principals {
		subjects[p] = true
	}
	for _, t := range d.Teams {
		for _, m := range t.Members {
			if principals[m] {
				x.teams[m] = append(x.teams[m], KindTeam+":"+t.Slug)
				subjects[KindTeam+":"+t.Slug] = true
			}
		}
	}
	for _, b := range d.Bindings {
		if subjects[b.Principal] {
			x.bindings[b.Principal] = append(x.bindings[b.Principal], b)
		}
	}
	for _, r := range d.Resources {
		x.resources[Scope{Namespace: r.Namespace, Type: r.Type, ID: r.ID}] = true
	}
	return x
}

// bindingsOf yields the bindings naming the principal or one of its teams.
func (x *stateIndex) bindingsOf(pid string) iter.Seq[*Binding] {
	return func(yield func(*Binding) bool) {
		for _, subject := range append([]string{pid}, x.teams[pid]...) {
			bs := x.bindings[subject]
			for i := range bs {
				if !yield(&bs[i]) {
					return
				}
			}
		}
	}
}

// resourceGrants lists what the principal's own and its teams' bindings at
// exactly the resource scope sc grant on it: the bound role's patterns on
// the resource's type, or the shared actions (none when the resource does
// not exist).
func (x *stateIndex) resourceGrants(pid string, sc Scope) []Grant {
	if !x.resources[sc] {
		return nil
	}
	var out []Grant
	for b := range x.bindingsOf(pid) {
		if b.Scope != sc {
			continue
		}
		var conds []string
		if b.Condition != "" {
			conds = []string{b.Condition}
		}
		if b.Role == "" {
			for _, a := range b.Actions {
				out = append(out, Grant{Permission: policy.Permission{Resource: sc.Type, Action: a}, Conditions: conds})
			}
			continue
		}
		if x.d.Policy == nil {
			continue
		}
		r, ok := x.d.Policy.Role(b.Role)
		if !ok {
			continue
		}
		out = append(out, typeGrants(grantsOf(r.Permissions, conds), sc.Type)...)
	}
	return out
}

func grantsOf(ps []policy.Permission, conds []string) []Grant {
	out := make([]Grant, len(ps))
	for i, p := range ps {
		out[i] = Grant{Permission: p, Conditions: conds}
	}
	return out
}

// grantChange is one grant gained or lost.
type grantChange struct {
	g      Grant
	change string
}

// changeKey identifies a grant change across scopes.
type changeKey struct {
	change string
	perm   policy.Permission
	conds  string // joined; "" (no allocation) when unconditional
}

func (c grantChange) key() changeKey {
	return changeKey{c.change, c.g.Permission, strings.Join(c.g.Conditions, ",")}
}

func (c grantChange) entry(pid string, sc Scope) ImpactEntry {
	return ImpactEntry{Principal: pid, Scope: sc, Permission: c.g.Permission, Change: c.change, Conditions: c.g.Conditions}
}

// grantDiff: what after has that before does not cover (gained), and what
// before has that after does not cover (lost).
func grantDiff(before, after []Grant) []grantChange {
	var out []grantChange
	for _, g := range after {
		if !grantCovered(g, before) {
			out = append(out, grantChange{g, ImpactGained})
		}
	}
	for _, g := range before {
		if !grantCovered(g, after) {
			out = append(out, grantChange{g, ImpactLost})
		}
	}
	return out
}

// grantCovered: some grant of set allows whatever g allows — its pattern
// covers g's, and it is unconditional or holds whenever g does (g's
// conditions are a subset of its own).
func grantCovered(g Grant, set []Grant) bool {
	for _, s := range set {
		if !s.Permission.Covers(g.Permission) {
			continue
		}
		if len(s.Conditions) == 0 {
			return true
		}
		if len(g.Conditions) > 0 && subset(g.Conditions, s.Conditions) {
			return true
		}
	}
	return false
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// reducedOrg names the org of the small engines impact analysis builds.
const reducedOrg = "impact"

// freeNamespace names a namespace neither state has: in it only org-scope
// grants apply, so Permissions there is the org-scope view.
func freeNamespace(ds ...*OrgData) string {
	for i := 0; ; i++ {
		ns := fmt.Sprintf("impact-org-scope-%d", i)
		used := false
		for _, d := range ds {
			if slices.Contains(d.Namespaces, ns) {
				used = true
			}
		}
		if !used {
			return ns
		}
	}
}

// reducedEngine loads the part of d that the principals' own permissions
// depend on: them, their teams (members restricted to them) and the
// bindings naming them or those teams.
func reducedEngine(d *OrgData, principals map[string]bool, orgNS string) (*Engine, error) {
	r := OrgData{Org: reducedOrg, Policy: d.Policy, Lifecycle: d.Lifecycle}
	r.Namespaces = append(slices.Clone(d.Namespaces), orgNS)
	subjects := map[string]bool{}
	for pid := range principals {
		subjects[pid] = true
	}
	// A principal under a lifecycle is suspended when none of its sponsors
	// is present: keep its sponsors (users, and teams with their members)
	// present in the reduced org too, so that it decides as the whole org
	// does. They get no bindings unless they are affected themselves.
	present := maps.Clone(principals)
	sponsorTeams := map[string]bool{}
	for _, p := range d.Principals {
		if principals[p.ID] && p.Lifecycle != nil {
			for _, sp := range p.Lifecycle.Sponsors {
				if slug, ok := strings.CutPrefix(sp, KindTeam+":"); ok {
					sponsorTeams[slug] = true
				} else {
					present[sp] = true
				}
			}
		}
	}
	for _, t := range d.Teams {
		if sponsorTeams[t.Slug] {
			for _, m := range t.Members {
				present[m] = true
			}
		}
	}
	for _, p := range d.Principals {
		if present[p.ID] {
			r.Principals = append(r.Principals, p)
		}
	}
	for _, t := range d.Teams {
		var members []string
		for _, m := range t.Members {
			if principals[m] || (sponsorTeams[t.Slug] && present[m]) {
				members = append(members, m)
			}
		}
		if len(members) > 0 {
			r.Teams = append(r.Teams, Team{Slug: t.Slug, Members: members})
			if slices.ContainsFunc(members, func(m string) bool { return principals[m] }) {
				subjects[KindTeam+":"+t.Slug] = true
			}
		}
	}
	for _, b := range d.Bindings {
		if subjects[b.Principal] && !b.Scope.IsResource() {
			r.Bindings = append(r.Bindings, b)
		}
	}
	if r.Policy == nil {
		r.Policy = &policy.Model{}
	}
	e := New()
	if err := e.LoadOrg(1, r); err != nil {
		return nil, err
	}
	return e, nil
}

// typeGrants keeps the grants that apply to resources of type typ, as
// patterns on typ.
func typeGrants(gs []Grant, typ string) []Grant {
	var out []Grant
	for _, g := range gs {
		if g.Permission.Resource == typ || g.Permission.Resource == policy.Wildcard {
			g.Permission.Resource = typ
			out = append(out, g)
		}
	}
	return out
}

// sameAccessData: the two states share their bindings, teams and resources
// (a policy change), so one index serves both.
func sameAccessData(a, b *OrgData) bool {
	same := func(x, y int, px, py any) bool { return x == y && px == py }
	return same(len(a.Bindings), len(b.Bindings), sliceHead(a.Bindings), sliceHead(b.Bindings)) &&
		same(len(a.Teams), len(b.Teams), sliceHead(a.Teams), sliceHead(b.Teams)) &&
		same(len(a.Resources), len(b.Resources), sliceHead(a.Resources), sliceHead(b.Resources))
}

// sliceHead identifies a slice's backing array (nil when empty).
func sliceHead[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}
