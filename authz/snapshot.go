package authz

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// impl is the engine state behind Engine. Readers load the current snapshot
// with one atomic load and never lock; writers serialize on mu.
type impl struct{ *state }

type state struct {
	cur atomic.Pointer[snapshot]
	mu  sync.Mutex // serializes Apply; readers never take it

	// polCache remembers the last compiled policies by model pointer so
	// that loading many orgs sharing one template compiles it once.
	// Guarded by mu.
	polCache map[*policy.Model]*cpolicy
}

func newImpl() impl {
	s := &state{polCache: map[*policy.Model]*cpolicy{}}
	s.cur.Store(&snapshot{orgs: newFrozen[skey, *orgSnap](), done: make(chan struct{})})
	return impl{s}
}

func newFrozen[K hashKey, V any]() cowMap[K, V] {
	m := newCowMap[K, V](0)
	m.freeze()
	return m
}

// snapshot is one immutable revision of everything the engine knows.
type snapshot struct {
	rev  uint64
	orgs cowMap[skey, *orgSnap]
	done chan struct{} // closed when a newer snapshot replaces this one
}

// orgSnap is one org at one revision. It is immutable once published; a
// writer copies the struct, thaws the maps it changes, and publishes the
// copy.
type orgSnap struct {
	name string
	pol  *cpolicy
	// namespaces always holds "default"; nsSorted is its sorted key list.
	namespaces map[string]struct{}
	nsSorted   []string
	holders    cowMap[skey, *holder]     // principal or team id → holder
	bindings   cowMap[skey, string]      // binding id → holder id
	resources  cowMap[resKey, *Resource] // known resources
	index      cowMap[nsType, *idList]   // (namespace, type) → ids

	priv []*holder // writer only: holders created or copied by this writer
}

// holder is everything keyed by one principal id ("user:alice") or team id
// ("team:support"): membership, team relations and the bindings naming it.
// Immutable once published.
type holder struct {
	id string
	// member is the org membership of a user, agent or service (nil: not a
	// member, though bindings or team lists may still name the id).
	member *Principal
	// teamExists is set for a team present in the org's teams; members is
	// then its sorted, deduplicated member list.
	teamExists bool
	members    []string
	// teams are the ids ("team:<slug>") of the teams listing this id,
	// sorted.
	teams []string
	// private is set only while the writer that created this copy is
	// still building the snapshot (see orgSnap.holderW).
	private bool
	// The bindings naming this id, by scope. org is sorted by binding id,
	// ns by (namespace, id), res by (namespace, type, resource id, id).
	org []grant
	ns  []nsGrant
	res []resGrant
}

func (h *holder) empty() bool {
	return h.member == nil && !h.teamExists && len(h.teams) == 0 &&
		len(h.org) == 0 && len(h.ns) == 0 && len(h.res) == 0
}

func (h *holder) nGrants() int { return len(h.org) + len(h.ns) + len(h.res) }

// grant is a compiled binding. The common case (a role binding, no
// condition) is 32 bytes; everything else hangs off x.
type grant struct {
	id   string // binding id
	role int32  // index of the bound role in the org's cpolicy, -1 if none
	x    *grantX
}

// grantX holds the rarer parts of a binding.
type grantX struct {
	role      string   // role name as bound (kept even when the policy lacks it)
	actions   []string // sharing: the action list
	share     bool     // the binding is an action list (pattern type = scopeType)
	inert     bool     // both or neither of role/actions: grants nothing
	cond      string   // gating condition
	scopeType string   // Scope.Type of a non-resource binding (tolerated input)
}

type nsGrant struct {
	ns string
	grant
}

type resGrant struct {
	key resKey
	grant
}

// roleName is the role the binding names ("" for shares).
func (g *grant) roleName(p *cpolicy) string {
	if g.x != nil {
		return g.x.role
	}
	if g.role >= 0 && int(g.role) < len(p.role) {
		return p.role[g.role].r.Name
	}
	return ""
}

func (g *grant) cond() string {
	if g.x == nil {
		return ""
	}
	return g.x.cond
}

// compileGrant turns a binding into a grant under policy p.
func compileGrant(b *Binding, p *cpolicy) grant {
	g := grant{id: b.ID, role: -1}
	hasRole, hasActions := b.Role != "", len(b.Actions) > 0
	switch {
	case hasRole && !hasActions:
		g.role = p.roleIdx(b.Role)
	case hasActions && !hasRole:
		g.x = &grantX{share: true, actions: slices.Clone(b.Actions)}
	default:
		g.x = &grantX{inert: true, role: b.Role, actions: slices.Clone(b.Actions)}
	}
	if g.role < 0 || b.Condition != "" || (!b.Scope.IsOrg() && !b.Scope.IsResource() && b.Scope.Type != "") {
		if g.x == nil {
			g.x = &grantX{}
		}
		if !g.x.share && !g.x.inert {
			g.x.role = b.Role
		}
		g.x.cond = b.Condition
		if !b.Scope.IsResource() {
			g.x.scopeType = b.Scope.Type
		}
	}
	return g
}

// binding reconstructs the Binding a grant came from.
func (g *grant) binding(holderID string, scope Scope, p *cpolicy) Binding {
	b := Binding{ID: g.id, Principal: holderID, Scope: scope, Role: g.roleName(p)}
	if g.x != nil {
		b.Condition = g.x.cond
		if g.x.share || g.x.inert {
			b.Actions = slices.Clone(g.x.actions)
		}
		if g.x.scopeType != "" {
			b.Scope.Type = g.x.scopeType
		}
	}
	return b
}

// bindingOf reconstructs the binding with the given id from a holder.
func (h *holder) binding(id string, p *cpolicy) (Binding, bool) {
	for i := range h.org {
		if h.org[i].id == id {
			return h.org[i].binding(h.id, Scope{}, p), true
		}
	}
	for i := range h.ns {
		if h.ns[i].id == id {
			return h.ns[i].binding(h.id, Scope{Namespace: h.ns[i].ns}, p), true
		}
	}
	for i := range h.res {
		if h.res[i].id == id {
			k := h.res[i].key
			return h.res[i].binding(h.id, Scope{Namespace: k.ns, Type: k.typ, ID: k.id}, p), true
		}
	}
	return Binding{}, false
}

func cmpNS(a, b nsGrant) int {
	if c := strings.Compare(a.ns, b.ns); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func cmpRes(a, b resGrant) int {
	if c := cmpKey(a.key, b.key); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func cmpKey(a, b resKey) int {
	if c := strings.Compare(a.ns, b.ns); c != 0 {
		return c
	}
	if c := strings.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func cmpGrant(a, b grant) int { return strings.Compare(a.id, b.id) }

// nsRange returns the ns grants for namespace ns.
func (h *holder) nsRange(ns string) []nsGrant {
	s := h.ns
	if len(s) == 0 {
		return nil
	}
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].ns < ns {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := lo
	for end < len(s) && s[end].ns == ns {
		end++
	}
	return s[lo:end]
}

// resRange returns the resource grants for key k.
func (h *holder) resRange(k resKey) []resGrant {
	s := h.res
	if len(s) == 0 {
		return nil
	}
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cmpKey(s[m].key, k) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := lo
	for end < len(s) && s[end].key == k {
		end++
	}
	return s[lo:end]
}

// resTypeRange returns the resource grants in namespace ns on type typ.
func (h *holder) resTypeRange(ns, typ string) []resGrant {
	s := h.res
	lo := 0
	hi := len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c := strings.Compare(s[m].key.ns, ns); c < 0 || (c == 0 && s[m].key.typ < typ) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := lo
	for end < len(s) && s[end].key.ns == ns && s[end].key.typ == typ {
		end++
	}
	return s[lo:end]
}

// ---- building an org from OrgData ----

// buildOrg compiles d into a fresh org snapshot (frozen).
func buildOrg(name string, d *OrgData, p *cpolicy) *orgSnap {
	o := &orgSnap{name: name, pol: p}
	o.setNamespaces(d.Namespaces)

	o.holders = newCowMap[skey, *holder](len(d.Principals) + len(d.Teams))
	for i := range d.Principals {
		pr := d.Principals[i]
		h := o.holderW(pr.ID)
		h.member = &pr
	}
	// Teams: duplicates of a slug are merged (a principal is in a team if
	// any entry lists it).
	for _, t := range d.Teams {
		h := o.holderW(KindTeam + ":" + t.Slug)
		h.teamExists = true
		h.members = append(h.members, t.Members...)
	}
	var teamHolders []*holder
	for _, h := range o.holders.all() {
		if h.teamExists {
			slices.Sort(h.members)
			h.members = shrink(slices.Compact(h.members))
			teamHolders = append(teamHolders, h)
		}
	}
	for _, t := range teamHolders {
		for _, m := range t.members {
			mh := o.holderW(m)
			mh.teams = append(mh.teams, t.id)
		}
	}

	// Bindings: the last of duplicate ids wins.
	o.bindings = newCowMap[skey, string](len(d.Bindings))
	last := make(map[string]int, len(d.Bindings))
	for i := range d.Bindings {
		last[d.Bindings[i].ID] = i
	}
	canon := map[string]string{}
	for i := range d.Bindings {
		b := &d.Bindings[i]
		if last[b.ID] != i {
			continue
		}
		h := o.holderW(b.Principal)
		g := compileGrant(b, p)
		switch {
		case b.Scope.IsOrg():
			h.org = append(h.org, g)
		case b.Scope.IsResource():
			k := resKey{canonStr(canon, b.Scope.Namespace), canonStr(canon, b.Scope.Type), b.Scope.ID}
			h.res = append(h.res, resGrant{key: k, grant: g})
		default:
			h.ns = append(h.ns, nsGrant{ns: canonStr(canon, b.Scope.Namespace), grant: g})
		}
		o.bindings.set(skey(b.ID), h.id)
	}
	for _, h := range o.holders.all() {
		slices.SortFunc(h.org, cmpGrant)
		slices.SortFunc(h.ns, cmpNS)
		slices.SortFunc(h.res, cmpRes)
		h.org = shrink(h.org)
		h.ns = shrink(h.ns)
		h.res = shrink(h.res)
		slices.Sort(h.teams)
		h.teams = shrink(slices.Compact(h.teams))
	}

	o.resources = newCowMap[resKey, *Resource](len(d.Resources))
	byBucket := map[nsType][]string{}
	for i := range d.Resources {
		r := d.Resources[i]
		if r.ID == "" {
			continue // not addressable; a request with no id is type-level
		}
		k := resKey{canonStr(canon, r.Namespace), canonStr(canon, r.Type), r.ID}
		if _, dup := o.resources.get(k); !dup {
			bk := nsType{k.ns, k.typ}
			byBucket[bk] = append(byBucket[bk], k.id)
		}
		r.Namespace, r.Type = k.ns, k.typ
		o.resources.set(k, &r)
	}
	o.index = newCowMap[nsType, *idList](len(byBucket))
	for k, ids := range byBucket {
		o.index.set(k, newIDList(ids))
	}
	o.freeze()
	return o
}

func canonStr(m map[string]string, s string) string {
	if c, ok := m[s]; ok {
		return c
	}
	m[s] = s
	return s
}

// shrink drops spare capacity so long-lived slices cost only their length.
func shrink[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	if cap(s) == len(s) {
		return s
	}
	return slices.Clone(s)
}

func (o *orgSnap) setNamespaces(ns []string) {
	o.namespaces = make(map[string]struct{}, len(ns)+1)
	o.namespaces[DefaultNamespace] = struct{}{}
	for _, n := range ns {
		if n != "" {
			o.namespaces[n] = struct{}{}
		}
	}
	o.sortNamespaces()
}

func (o *orgSnap) sortNamespaces() {
	o.nsSorted = make([]string, 0, len(o.namespaces))
	for n := range o.namespaces {
		o.nsSorted = append(o.nsSorted, n)
	}
	slices.Sort(o.nsSorted)
}

// holderW returns a holder the current writer may modify: a new one, or
// (the first time this writer touches it) a private copy of the published
// one, stored back in place. o.holders must be thawed.
func (o *orgSnap) holderW(id string) *holder {
	if h, ok := o.holders.get(skey(id)); ok {
		if h.private {
			return h
		}
		c := *h
		c.private = true
		o.holders.set(skey(id), &c)
		o.priv = append(o.priv, &c)
		return &c
	}
	h := &holder{id: id, private: true}
	o.holders.set(skey(id), h)
	o.priv = append(o.priv, h)
	return h
}

// freeze ends writing o: every map is frozen and every holder this writer
// touched becomes shared. o must not be modified afterwards.
func (o *orgSnap) freeze() {
	for _, h := range o.priv {
		h.private = false
	}
	o.priv = nil
	o.holders.freeze()
	o.bindings.freeze()
	o.resources.freeze()
	o.index.freeze()
}
