package authz

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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
	orgs := newCowMap[skey, orgEntry](0, orgsShardTarget)
	orgs.freeze()
	s.cur.Store(&snapshot{orgs: orgs, done: make(chan struct{})})
	return impl{s}
}

// Shard targets (see newCowMap): a change to one org clones one shard of
// each map it touches, so these bound the work and garbage of an Apply.
const (
	orgsShardTarget      = 64
	holdersShardTarget   = 256
	resourcesShardTarget = 512
	indexShardTarget     = 128
)

// snapshot is one immutable revision of everything the engine knows.
type snapshot struct {
	rev  uint64
	orgs cowMap[skey, orgEntry]
	done chan struct{} // closed when a newer snapshot replaces this one
}

// orgEntry is an org as the snapshot's map holds it: the org, and a copy
// of its holders' slot array (o.holders.one; nil when the map has more
// than one shard). The copy is there for the check's cold path (issue
// 19): with it, the slot of the request's principal is read at the same
// time as the org, not after it; the check uses it only when it is the
// very array the org holds (sameHolders), so a copy the writer did not
// refresh is never read.
type orgEntry struct {
	o  *orgSnap
	hs []cowSlot[skey, *holder]
}

// entryOf is o's entry (o frozen).
func entryOf(o *orgSnap) orgEntry { return orgEntry{o: o, hs: o.holders.one} }

// org returns the named org.
func (s *snapshot) org(name string) (*orgSnap, bool) {
	e, ok := s.orgs.get(skey(name))
	return e.o, ok && e.o != nil
}

// sameHolders returns e.hs if it is e.o's holders' slot array, else nil.
// Both are read at once (the org's line and the slot's, which e.hs
// names) and only then compared, so a check does not wait for the org
// before it reads the holder's slot.
func (e *orgEntry) sameHolders() []cowSlot[skey, *holder] {
	one := e.o.holders.one
	if len(e.hs) != len(one) || unsafe.SliceData(e.hs) != unsafe.SliceData(one) {
		return nil
	}
	return e.hs
}

// orgSnap is one org at one revision. It is immutable once published; a
// writer copies the struct, thaws the maps it changes, and publishes the
// copy.
type orgSnap struct {
	name string
	pol  *cpolicy
	// nsFast is nsIDs again, for the check's cold path (issue 19): up to
	// nsFastMax names of up to nsFastLen bytes, inline, so that finding a
	// request's namespace reads only this struct (a map lookup follows its
	// header, its group and the key: three cache misses on orgs1m). nsFastN
	// is the entries in use; nsFastOK is false when the org has more or
	// longer names (then, and while a writer owns the namespaces, nsID
	// asks nsIDs). Rebuilt by freeze; never modified in a published org.
	nsFast   [nsFastMax]nsEntry
	nsFastN  uint8
	nsFastOK bool
	// Namespaces are interned to small ints per org: nsIDs holds every
	// namespace name the org has or a binding names (exists tells which),
	// nsNames maps ids back. Ids are never reused while the org lives.
	nsIDs    map[string]nsInfo
	nsNames  []string
	nsSorted []string // the existing namespaces, sorted; always has "default"

	holders   cowMap[skey, *holder]   // principal or team id → holder
	bindings  bindex                  // binding id → holder id (big orgs only)
	nBindings int                     // number of bindings
	resources cowMap[resKey, resVal]  // known resources
	index     cowMap[nsType, *idList] // (namespace, type) → ids
	// roleShares are the holders of shares made to roles ("role:<name>"),
	// sorted by id; nil for an org without any (the check's fast path
	// tests only its length). Rebuilt for the touched role holders when a
	// writer freezes the org; shared with published snapshots, so replaced,
	// never modified.
	roleShares []roleShare
	// life is the org's suspension settings (lifecycle.go).
	life LifecycleSettings

	// writer only
	nsOwned bool         // nsIDs / nsNames are private copies
	priv    []privHolder // holders created or copied by this writer
	// scan is a small org's (no bindex) binding id → holder id, built by
	// bindingHolder once this writer has scanned the holders scanMapAfter
	// times (a batch replacing or adding many bindings), kept by
	// putBinding and deleteBinding; scans counts those scans.
	scan  map[string]string
	scans int
}

// roleShare is the holder of the resource-scoped bindings naming
// "role:<name>".
type roleShare struct {
	id   string // "role:<name>"
	role int32  // the role's index in the org's cpolicy, -1 if it has none
	h    *holder
}

// resVal is what the engine keeps of a resource beyond its key: what
// conditions see.
type resVal struct {
	labels map[string]string
	attrs  map[string]any
}

type privHolder struct {
	id string
	h  *holder
}

type nsInfo struct {
	id     int32
	exists bool
}

// nsEntry is a namespace of nsFast: its name's bytes and length, its id
// and whether it exists.
type nsEntry struct {
	name   [nsFastLen]byte
	n      uint8
	exists bool
	id     int32
}

const (
	nsFastMax = 8
	nsFastLen = 16
)

// indexNS rebuilds nsFast from nsIDs (writer only, at freeze).
func (o *orgSnap) indexNS() {
	o.nsFast, o.nsFastN, o.nsFastOK = [nsFastMax]nsEntry{}, 0, false
	if len(o.nsIDs) > nsFastMax {
		return
	}
	n := 0
	for name, i := range o.nsIDs {
		if len(name) > nsFastLen {
			o.nsFast = [nsFastMax]nsEntry{}
			return
		}
		e := &o.nsFast[n]
		copy(e.name[:], name)
		e.n, e.exists, e.id = uint8(len(name)), i.exists, i.id
		n++
	}
	o.nsFastN, o.nsFastOK = uint8(n), true
}

// nsID returns the id of namespace name (-1 if no namespace or binding
// names it) and whether the namespace exists.
func (o *orgSnap) nsID(name string) (int32, bool) {
	if o.nsFastOK && !o.nsOwned {
		if len(name) > nsFastLen {
			return -1, false // every name of the org is in nsFast
		}
		for i := range o.nsFast[:o.nsFastN] {
			e := &o.nsFast[i]
			if int(e.n) == len(name) && string(e.name[:e.n]) == name {
				return e.id, e.exists
			}
		}
		return -1, false
	}
	if i, ok := o.nsIDs[name]; ok {
		return i.id, i.exists
	}
	return -1, false
}

func (o *orgSnap) nsName(id int32) string {
	if id < 0 || int(id) >= len(o.nsNames) {
		return ""
	}
	return o.nsNames[id]
}

func (o *orgSnap) ownNS() {
	if o.nsOwned {
		return
	}
	ids := make(map[string]nsInfo, len(o.nsIDs)+1)
	for k, v := range o.nsIDs {
		ids[k] = v
	}
	o.nsIDs = ids
	o.nsNames = slices.Clip(slices.Clone(o.nsNames))
	o.nsOwned = true
}

// internNS returns the id of namespace name, assigning one if needed
// (writer only).
func (o *orgSnap) internNS(name string) int32 {
	if i, ok := o.nsIDs[name]; ok {
		return i.id
	}
	o.ownNS()
	id := int32(len(o.nsNames))
	o.nsIDs[name] = nsInfo{id: id}
	o.nsNames = append(o.nsNames, name)
	return id
}

// setNSExists marks a namespace present or absent (writer only).
func (o *orgSnap) setNSExists(name string, exists bool) {
	id := o.internNS(name)
	if o.nsIDs[name].exists == exists {
		return
	}
	o.ownNS()
	o.nsIDs[name] = nsInfo{id: id, exists: exists}
	o.nsSorted = o.nsSorted[:0:0]
	for n, i := range o.nsIDs {
		if i.exists {
			o.nsSorted = append(o.nsSorted, n)
		}
	}
	slices.Sort(o.nsSorted)
}

// holder is everything keyed by one principal id ("user:alice") or team id
// ("team:support"): membership, team relations and the bindings naming it.
// Immutable once published. It is kept small (48 bytes, three pointers)
// because an org has a holder per member: the rarer parts live in x.
//
// Its grant lists and their strings live in one pointer-free block (blk):
// the resource grants, then the org and namespace grants, then the
// strings they refer to by offset (sref). Built orgs cut every holder's
// block from a few arena blocks per org (snapshot_build.go); writers make
// a new block for each holder they change. The collector marks a holder's
// three pointers and never scans its grants: on a million bindings that
// is most of the heap (issue 19). Writers edit a private holder's lists
// through w (edit) and freeze packs them into a new block; a published
// block is never modified.
type holder struct {
	// (Its id is its key in orgSnap.holders; not repeating it here saves
	// 16 bytes a member.)
	//
	// blk holds nr resGrant (the resource-scoped bindings, sorted by (key
	// hash, binding id)), then ng sgrant (the org-scoped (ns -1) and
	// namespace-scoped bindings naming this id, sorted by (namespace id,
	// binding id): org grants first), then nstr bytes of strings (binding
	// ids, resource types and ids). nil when all three are empty. See gs,
	// rs and strs.
	blk    unsafe.Pointer
	ng, nr uint32
	nstr   uint32
	flags  uint8    // hMember, hTeam, hPrivate
	x      *holderX // nil: no attributes, role, expiry, team relations
	// gx holds the rarer parts of the grants (sgrant.xi); like strs, it
	// keeps pointers out of the grant lists. It is a pointer to the list
	// (8 bytes, where a slice is 24), nil when empty, often shared by many
	// holders.
	gx *[]*grantX
	// w is the writer's view of the lists while it changes them (edit);
	// nil in every published holder.
	w *holderEdit
}

// holderEdit is a private holder's grant lists while a writer changes
// them. The slices may share memory with a published block: writers
// replace them (removeAt, insertSorted, append to a clipped slice), never
// write into them, except for lists they built themselves.
type holderEdit struct {
	grants []sgrant
	res    []resGrant
	strs   string
}

const (
	resGrantSize = unsafe.Sizeof(resGrant{})
	sgrantSize   = unsafe.Sizeof(sgrant{})
)

// gs returns the org and namespace grants (sorted by (namespace id,
// binding id)).
func (h *holder) gs() []sgrant {
	if h.w != nil {
		return h.w.grants
	}
	if h.ng == 0 {
		return nil
	}
	return unsafe.Slice((*sgrant)(unsafe.Add(h.blk, uintptr(h.nr)*resGrantSize)), h.ng)
}

// rs returns the resource grants (sorted by (key hash, binding id)).
func (h *holder) rs() []resGrant {
	if h.w != nil {
		return h.w.res
	}
	if h.nr == 0 {
		return nil
	}
	return unsafe.Slice((*resGrant)(h.blk), h.nr)
}

// strs returns the strings h's grants refer to.
func (h *holder) strs() string {
	if h.w != nil {
		return h.w.strs
	}
	if h.nstr == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(h.blk, uintptr(h.nr)*resGrantSize+uintptr(h.ng)*sgrantSize)), h.nstr)
}

// edit returns h's lists for the writer to replace (h writable). They
// stay in w until pack.
func (h *holder) edit() *holderEdit {
	if h.w == nil {
		h.w = &holderEdit{grants: h.gs(), res: h.rs(), strs: h.strs()}
	}
	return h.w
}

// pack moves the lists of w into a new block (cut from a when a is not
// nil) and drops w.
func (h *holder) pack(a *strArena) {
	w := h.w
	if w == nil {
		return
	}
	h.w = nil
	h.blk, h.nr, h.ng, h.nstr = nil, uint32(len(w.res)), uint32(len(w.grants)), uint32(len(w.strs))
	n := uintptr(len(w.res))*resGrantSize + uintptr(len(w.grants))*sgrantSize + uintptr(len(w.strs))
	if n == 0 {
		return
	}
	var b []byte
	if a != nil {
		b = a.alloc(int(n))
	} else {
		words := make([]uint64, (n+7)/8) // pointer-free, 8-aligned
		b = unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
	}
	h.blk = unsafe.Pointer(&b[0])
	// (Each list converted only when not empty: an empty one may start at
	// the block's end.)
	if len(w.res) > 0 {
		copy(unsafe.Slice((*resGrant)(h.blk), len(w.res)), w.res)
	}
	if len(w.grants) > 0 {
		copy(unsafe.Slice((*sgrant)(unsafe.Add(h.blk, uintptr(len(w.res))*resGrantSize)), len(w.grants)), w.grants)
	}
	copy(b[n-uintptr(len(w.strs)):], w.strs)
}

// gxs returns h's grantX list.
func (h *holder) gxs() []*grantX {
	if h.gx == nil {
		return nil
	}
	return *h.gx
}

// setGX makes s h's grantX list (h writable; s is never modified
// afterwards).
func (h *holder) setGX(s []*grantX) {
	if len(s) == 0 {
		h.gx = nil
		return
	}
	h.gx = &s
}

// sref is a string in a holder's strs.
type sref struct{ off, n uint32 }

// str returns the string r refers to (a substring: no copy).
func (h *holder) str(r sref) string { return h.strs()[r.off : r.off+r.n] }

// gid returns grant g's binding id (g is one of h's grants).
func (h *holder) gid(g *grant) string { return h.str(g.id) }

// view returns stored grant s of h with its rarer part.
func (h *holder) view(s *sgrant) grant {
	g := grant{id: s.id, role: s.role, ns: s.ns}
	if s.xi != 0 {
		g.x = (*h.gx)[s.xi-1]
	}
	return g
}

const (
	hMember  uint8 = 1 << iota // a user, agent or service that is an org member
	hTeam                      // a team present in the org's teams
	hPrivate                   // only while the writer that created this copy builds (see holderW)
)

// holderX is the rarer part of a holder. Like the holder it is immutable
// once published; writers replace it (see holder.xw).
type holderX struct {
	attrs   map[string]any // the member's attributes
	role    string         // the member's Role (undeclared agents' ceiling)
	expires time.Time      // the member's ExpiresAt
	life    *Lifecycle     // the member's Lifecycle
	teams   []string       // ids ("team:<slug>") of the teams listing this id, sorted
	members []string       // a team's members, sorted and deduplicated
}

func (h *holder) isMember() bool { return h.flags&hMember != 0 }
func (h *holder) isTeam() bool   { return h.flags&hTeam != 0 }

func (h *holder) teams() []string {
	if h.x == nil {
		return nil
	}
	return h.x.teams
}

func (h *holder) members() []string {
	if h.x == nil || !h.isTeam() {
		return nil
	}
	return h.x.members
}

func (h *holder) expires() time.Time {
	if h.x == nil {
		return time.Time{}
	}
	return h.x.expires
}

func (h *holder) role() string {
	if h.x == nil {
		return ""
	}
	return h.x.role
}

func (h *holder) attrs() map[string]any {
	if h.x == nil {
		return nil
	}
	return h.x.attrs
}

// xw gives the writer a private holderX to modify (h must be writable).
// Call tidy when done.
func (h *holder) xw() *holderX {
	x := &holderX{}
	if h.x != nil {
		*x = *h.x
	}
	h.x = x
	return x
}

// tidy drops an empty holderX.
func (h *holder) tidy() {
	if x := h.x; x != nil && x.attrs == nil && x.role == "" && x.expires.IsZero() && x.life == nil && len(x.teams) == 0 && len(x.members) == 0 {
		h.x = nil
	}
}

// setMember records (p != nil) or removes org membership (h writable).
func (h *holder) setMember(p *Principal) {
	if h.x == nil && (p == nil || p.Attributes == nil && p.Role == "" && p.ExpiresAt.IsZero() && p.Lifecycle == nil) {
		h.flags &^= hMember
		if p != nil {
			h.flags |= hMember
		}
		return
	}
	x := h.xw()
	x.attrs, x.role, x.expires, x.life = nil, "", time.Time{}, nil
	h.flags &^= hMember
	if p != nil {
		h.flags |= hMember
		x.attrs, x.role, x.expires, x.life = p.Attributes, p.Role, p.ExpiresAt, p.Lifecycle
	}
	h.tidy()
}

// setTeam records the team's member list (members != nil) or its absence
// (h writable).
func (h *holder) setTeam(exists bool, members []string) {
	x := h.xw()
	h.flags &^= hTeam
	x.members = nil
	if exists {
		h.flags |= hTeam
		x.members = members
	}
	h.tidy()
}

// setTeams replaces the list of teams listing h (h writable).
func (h *holder) setTeams(teams []string) {
	h.xw().teams = teams
	h.tidy()
}

func (h *holder) empty() bool {
	return h.flags&(hMember|hTeam) == 0 && len(h.teams()) == 0 && h.nGrants() == 0
}

func (h *holder) nGrants() int {
	if h.w != nil {
		return len(h.w.grants) + len(h.w.res)
	}
	return int(h.ng + h.nr)
}

// orgGrants returns the org-scoped grants (a prefix of grants).
func (h *holder) orgGrants() []sgrant {
	gs, n := h.gs(), 0
	for n < len(gs) && gs[n].ns < 0 {
		n++
	}
	return gs[:n]
}

// hasBinding reports whether the binding with this id names h.
func (h *holder) hasBinding(id string) bool {
	gs, rs := h.gs(), h.rs()
	for i := range gs {
		if h.str(gs[i].id) == id {
			return true
		}
	}
	for i := range rs {
		if h.str(rs[i].id) == id {
			return true
		}
	}
	return false
}

// grant is a compiled binding. The common case (a role binding, no
// condition) is 24 bytes with no non-nil pointer; everything else hangs
// off x.
type grant struct {
	id   sref  // binding id, in the holder's strs
	role int32 // index of the bound role in the org's cpolicy, -1 if none
	ns   int32 // namespace id (namespace and resource scopes), -1 for org scope
	x    *grantX
}

// sgrant is a grant as a holder stores it: its rarer part is an index in
// the holder's gx, so that a list of grants holds no pointer at all and
// the collector never scans it (issue 19). holder.view makes it a grant.
type sgrant struct {
	id   sref
	role int32
	ns   int32
	xi   uint32 // 1 + index of the grant's grantX in its holder's gx; 0: none
}

// grantX holds the rarer parts of a binding.
type grantX struct {
	role    string    // role name as bound (kept even when the policy lacks it)
	actions []string  // sharing: the action list
	share   bool      // an action list on the resource's type (resource scope only)
	inert   bool      // grants nothing: both or neither of role/actions, or a malformed scope
	cond    string    // gating condition
	scope   *Scope    // the scope of an inert binding, as given
	expires time.Time // when the binding stops granting (zero: never)
	expNs   int64     // expires in Unix nanoseconds (saturated; 0: never), what a check compares
}

// resGrant is a resource-scoped grant. h is resHash of its key, so that
// finding the grants of a resource is a binary search over integers.
type resGrant struct {
	h   uint64
	typ sref // in the holder's strs, like id
	rid sref
	sgrant
}

// resHash hashes a resource key (namespace id, type, id).
func resHash(ns int32, typ, id string) uint64 {
	return maphash.String(shardSeed, id) ^ maphash.String(shardSeed, typ)*0x9E3779B97F4A7C15 ^ uint64(uint32(ns))*0xBF58476D1CE4E5B9
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

// Scope kinds. A scope is the whole org (all fields empty), a namespace
// (only Namespace set) or a resource (all three set); anything else is
// malformed and applies nowhere.
const (
	scopeOrg = iota
	scopeNS
	scopeRes
	scopeBad
)

func scopeKind(s Scope) int {
	switch {
	case s == Scope{}:
		return scopeOrg
	case s.Namespace != "" && s.Type == "" && s.ID == "":
		return scopeNS
	case s.Namespace != "" && s.Type != "" && s.ID != "":
		return scopeRes
	}
	return scopeBad
}

// compileGrant turns a binding into a grant under policy p; ns is the
// namespace id of its scope (-1 for org scope).
func compileGrant(b *Binding, p *cpolicy, ns int32) grant {
	g := grant{role: -1, ns: ns}
	hasRole, hasActions := b.Role != "", len(b.Actions) > 0
	kind := scopeKind(b.Scope)
	switch {
	case kind == scopeBad || hasRole == hasActions || (hasActions && kind != scopeRes):
		sc := b.Scope
		g.x = &grantX{inert: true, role: b.Role, actions: slices.Clone(b.Actions), scope: &sc}
	case hasRole:
		g.role = p.roleIdx(b.Role)
		if g.role < 0 {
			g.x = &grantX{role: b.Role}
		}
	default:
		g.x = &grantX{share: true, actions: slices.Clone(b.Actions)}
	}
	if b.Condition != "" {
		if g.x == nil {
			g.x = &grantX{role: b.Role}
		}
		g.x.cond = b.Condition
	}
	if !b.ExpiresAt.IsZero() {
		if g.x == nil {
			g.x = &grantX{role: b.Role}
		}
		g.x.expires, g.x.expNs = b.ExpiresAt, unixNs(b.ExpiresAt)
	}
	return g
}

// binding reconstructs the Binding a grant of holder h came from; typ and
// rid are set for resource grants.
func (o *orgSnap) binding(holderID string, h *holder, g *grant, typ, rid string) Binding {
	var sc Scope
	if g.ns >= 0 {
		sc = Scope{Namespace: o.nsName(g.ns), Type: typ, ID: rid}
	}
	b := Binding{ID: h.gid(g), Principal: holderID, Scope: sc, Role: g.roleName(o.pol)}
	if g.x != nil {
		b.Condition = g.x.cond
		if g.x.share || g.x.inert {
			b.Actions = slices.Clone(g.x.actions)
		}
		if g.x.scope != nil {
			b.Scope = *g.x.scope
		}
		b.ExpiresAt = g.x.expires
	}
	return b
}

// cmpNS orders h's grants (the order of holder.grants).
func (h *holder) cmpNS(a, b sgrant) int {
	if a.ns != b.ns {
		if a.ns < b.ns {
			return -1
		}
		return 1
	}
	return strings.Compare(h.str(a.id), h.str(b.id))
}

// cmpRes orders h's resource grants (the order of holder.res).
func (h *holder) cmpRes(a, b resGrant) int {
	if a.h != b.h {
		if a.h < b.h {
			return -1
		}
		return 1
	}
	return strings.Compare(h.str(a.id), h.str(b.id))
}

// nsRange returns the grants of namespace id ns (-1: the org grants).
func (h *holder) nsRange(ns int32) []sgrant {
	s := h.gs()
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

// resRange returns the resource grants whose key hash is hk; callers
// compare the key itself (ns, typ, rid).
func (h *holder) resRange(hk uint64) []resGrant {
	s := h.rs()
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].h < hk {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := lo
	for end < len(s) && s[end].h == hk {
		end++
	}
	return s[lo:end]
}

// hasRes reports whether h has a grant on exactly (ns, typ, rid).
func (h *holder) hasRes(hk uint64, ns int32, typ, rid string) bool {
	for i, rr := 0, h.resRange(hk); i < len(rr); i++ {
		if h.isRes(&rr[i], ns, typ, rid) {
			return true
		}
	}
	return false
}

// isRes reports whether rg (one of h's resource grants) is on exactly
// (ns, typ, rid).
func (h *holder) isRes(rg *resGrant, ns int32, typ, rid string) bool {
	return rg.ns == ns && h.str(rg.typ) == typ && h.str(rg.rid) == rid
}
