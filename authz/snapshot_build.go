package authz

import (
	"slices"
	"strings"
	"time"
	"unsafe"
)

// ---- building an org from OrgData ----

// buildOrg compiles d into a fresh org snapshot (thawed: the caller
// freezes it).
func buildOrg(name string, d *OrgData, p *cpolicy) *orgSnap {
	o := &orgSnap{name: name, pol: p, nsIDs: map[string]nsInfo{}, nsOwned: true, life: d.Lifecycle}
	o.setNSExists(DefaultNamespace, true)
	for _, n := range d.Namespaces {
		if n != "" {
			o.internNS(n)
			o.nsIDs[n] = nsInfo{id: o.nsIDs[n].id, exists: true}
		}
	}
	o.nsSorted = o.nsSorted[:0]
	for n, i := range o.nsIDs {
		if i.exists {
			o.nsSorted = append(o.nsSorted, n)
		}
	}
	slices.Sort(o.nsSorted)

	bc := newBuildCache()
	bc.arena = newStrArena(buildStrBytes(d))
	o.holders = newCowMap[skey, *holder](len(d.Principals)+len(d.Teams), holdersShardTarget)
	for i := range d.Principals {
		o.holderW(bc.str(d.Principals[i].ID)).setMember(&d.Principals[i])
	}
	// Teams: duplicates of a slug are merged (a principal is in a team if
	// any entry lists it).
	teamMembers := map[string][]string{}
	var teamOrder []string
	for _, t := range d.Teams {
		tid := KindTeam + ":" + t.Slug
		if _, seen := teamMembers[tid]; !seen {
			teamOrder = append(teamOrder, tid)
		}
		teamMembers[tid] = append(teamMembers[tid], t.Members...)
	}
	memberTeams := map[string][]string{}
	for _, tid := range teamOrder {
		ms := teamMembers[tid]
		slices.Sort(ms)
		ms = shrink(slices.Compact(ms))
		o.holderW(bc.str(tid)).setTeam(true, ms)
		for _, m := range ms {
			memberTeams[m] = append(memberTeams[m], tid)
		}
	}
	for m, ts := range memberTeams {
		slices.Sort(ts)
		o.holderW(bc.str(m)).setTeams(shrink(slices.Compact(ts)))
	}

	// Bindings: the last of duplicate ids wins. Bindings in increasing id
	// order (as the store and engine snapshots give them) have no
	// duplicates, and need no map of a million ids to tell.
	entries := make([]bentry, 0, len(d.Bindings))
	var last map[string]int
	if !idsIncrease(d.Bindings) {
		last = make(map[string]int, len(d.Bindings))
		for i := range d.Bindings {
			last[d.Bindings[i].ID] = i
		}
	}
	canon := bc.strs
	for i := range d.Bindings {
		b := &d.Bindings[i]
		if last != nil && last[b.ID] != i {
			continue
		}
		hid := bc.str(b.Principal)
		h := o.holderW(hid)
		o.addGrant(h, b, bc, false)
		entries = append(entries, bentry{bindingHash(b.ID), hid})
	}
	o.nBindings = len(entries)
	if len(entries) >= bindexMin {
		o.bindings = newBindex(entries)
	}
	for _, h := range o.holders.all() {
		bc.finish(h)
		if w := h.w; w != nil {
			slices.SortFunc(w.grants, h.cmpNS)
			slices.SortFunc(w.res, h.cmpRes)
		}
		h.pack(&bc.arena)
	}

	o.resources = newCowMap[resKey, resVal](len(d.Resources), resourcesShardTarget)
	byBucket := map[nsType][]string{}
	for i := range d.Resources {
		r := d.Resources[i]
		if r.ID == "" {
			continue // not addressable; a request with no id is type-level
		}
		k := resKey{canonStr(canon, r.Namespace), canonStr(canon, r.Type), bc.str(r.ID)}
		if _, dup := o.resources.get(k); !dup {
			bk := nsType{k.ns, k.typ}
			byBucket[bk] = append(byBucket[bk], k.id)
		}
		o.resources.set(k, resVal{labels: r.Labels, attrs: r.Attributes})
	}
	o.index = newCowMap[nsType, *idList](len(byBucket), indexShardTarget)
	for k, ids := range byBucket {
		o.index.set(k, newIDList(ids))
	}
	return o
}

// idsIncrease reports whether bs's ids are in strictly increasing order
// (so no two are equal).
func idsIncrease(bs []Binding) bool {
	for i := 1; i < len(bs); i++ {
		if bs[i-1].ID >= bs[i].ID {
			return false
		}
	}
	return true
}

// addGrant compiles b and adds it to h (which the writer owns), keeping
// h's lists sorted when sorted is set (else the caller sorts them).
func (o *orgSnap) addGrant(h *holder, b *Binding, bc *buildCache, sorted bool) {
	var g grant
	kind := scopeKind(b.Scope)
	switch kind {
	case scopeOrg, scopeBad: // a malformed scope is kept, inert, with the org grants
		g = compileGrant(b, o.pol, -1)
	default:
		g = compileGrant(b, o.pol, o.internNS(b.Scope.Namespace))
	}
	if bc != nil {
		g.x = bc.grantX(g.x)
	}
	// The grant's strings go to h's strs: appended to a pending buffer
	// while bc builds h (finish makes it h's strs), else to a new strs.
	var buf []byte
	if !sorted {
		var ok bool
		if buf, ok = bc.pend[h]; !ok {
			buf = append(buf, h.strs()...)
			bc.pendX[h] = slices.Clip(h.gxs()) // may be shared: appending copies
		}
	} else {
		buf = make([]byte, 0, len(h.strs())+len(b.ID)+len(b.Scope.Type)+len(b.Scope.ID))
		buf = append(buf, h.strs()...)
	}
	s := sgrant{role: g.role, ns: g.ns, xi: h.putX(g.x, bc)}
	buf, s.id = appendStr(buf, b.ID)
	w := h.edit()
	if kind != scopeRes {
		if sorted {
			w.strs = string(buf)
			w.grants = insertSorted(w.grants, s, h.cmpNS)
		} else {
			bc.pend[h] = buf
			w.grants = append(w.grants, s)
		}
		return
	}
	rg := resGrant{h: resHash(g.ns, b.Scope.Type, b.Scope.ID), sgrant: s}
	buf, rg.typ = appendStr(buf, b.Scope.Type)
	buf, rg.rid = appendStr(buf, b.Scope.ID)
	if sorted {
		w.strs = string(buf)
		w.res = insertSorted(w.res, rg, h.cmpRes)
	} else {
		bc.pend[h] = buf
		w.res = append(w.res, rg)
	}
}

// putX returns the sgrant.xi of x in h's gx, adding it if h has no such
// pointer yet (h writable; bc, when building, remembers where they are).
func (h *holder) putX(x *grantX, bc *buildCache) uint32 {
	if x == nil {
		return 0
	}
	if bc != nil {
		k := holderX2{h, x}
		if i, ok := bc.xi[k]; ok {
			return i
		}
		gx := append(bc.pendX[h], x)
		bc.pendX[h] = gx
		bc.xi[k] = uint32(len(gx))
		return uint32(len(gx))
	}
	if i := slices.Index(h.gxs(), x); i >= 0 {
		return uint32(i + 1)
	}
	gx := append(slices.Clip(h.gxs()), x) // a copy: gx may be shared
	h.setGX(gx)
	return uint32(len(gx))
}

type holderX2 struct {
	h *holder
	x *grantX
}

// appendStr appends s to a holder's strs being built and returns its ref.
func appendStr(buf []byte, s string) ([]byte, sref) {
	r := sref{uint32(len(buf)), uint32(len(s))}
	return append(buf, s...), r
}

// finish makes the strings bc gathered for h (addGrant, unsorted) h's
// strs (h.w's, until pack copies them into h's block).
func (bc *buildCache) finish(h *holder) {
	buf, ok := bc.pend[h]
	if !ok {
		return
	}
	delete(bc.pend, h)
	if len(buf) > 0 {
		// buf is h's alone and never written again.
		h.edit().strs = unsafe.String(&buf[0], len(buf))
	}
	h.gx = bc.shareGX(bc.pendX[h])
	delete(bc.pendX, h)
}

// shareGX returns a slice equal to gx that holders built by bc share:
// most holders of an org point to the same one to three grantX (shares
// "run", "read"), so they get the same slice instead of one allocation
// each. Writers never append to a shared gx in place (see putX).
func (bc *buildCache) shareGX(gx []*grantX) *[]*grantX {
	if len(gx) == 0 {
		return nil
	}
	if len(gx) > len(gxKey{}) {
		s := shrink(gx)
		return &s
	}
	var k gxKey
	copy(k[:], gx)
	if p, ok := bc.gx[k]; ok {
		return p
	}
	s := slices.Clip(slices.Clone(gx))
	bc.gx[k] = &s
	return &s
}

type gxKey [4]*grantX

// compactStrs drops the strings and grantX no grant of h refers to any
// more, once they are most of strs or gx (h writable; grants were
// removed). It copies h's grant lists, which may be shared with a
// published snapshot.
func (h *holder) compactStrs() {
	gs, rs, strs := h.gs(), h.rs(), h.strs()
	live, xs := 0, 0
	for i := range gs {
		live += int(gs[i].id.n)
		xs += min(int(gs[i].xi), 1)
	}
	for i := range rs {
		r := &rs[i]
		live += int(r.id.n + r.typ.n + r.rid.n)
		xs += min(int(r.xi), 1)
	}
	if len(strs) <= 2*live+64 && len(h.gxs()) <= 2*xs+4 {
		return
	}
	buf := make([]byte, 0, live)
	var gx []*grantX
	xi := func(i uint32) uint32 {
		if i == 0 {
			return 0
		}
		x := (*h.gx)[i-1]
		if len(gx) <= 64 { // (beyond, a duplicate costs less than the search)
			if j := slices.Index(gx, x); j >= 0 {
				return uint32(j + 1)
			}
		}
		gx = append(gx, x)
		return uint32(len(gx))
	}
	grants, res := slices.Clone(gs), slices.Clone(rs)
	for i := range grants {
		g := &grants[i]
		buf, g.id = appendStr(buf, h.str(g.id))
		g.xi = xi(g.xi)
	}
	for i := range res {
		r := &res[i]
		buf, r.id = appendStr(buf, h.str(r.id))
		buf, r.typ = appendStr(buf, h.str(r.typ))
		buf, r.rid = appendStr(buf, h.str(r.rid))
		r.xi = xi(r.xi)
	}
	w := h.edit()
	w.grants, w.res, w.strs = grants, res, string(buf)
	h.setGX(shrink(gx))
}

// buildCache shares equal strings and equal grantX values while an org is
// built: grantX is immutable, so the thousands of shares "run, read" of an
// org can all point to one. The holders' blocks (grant lists, binding
// ids and resource keys of their grants) are cut from arena, a few large
// blocks an org instead of one allocation a holder. (Holder and resource ids stay the
// caller's strings: copying them too saved the collector nothing
// measurable — it marks a pointer-free string cheaply — and cost their
// bytes again while the caller keeps its data; issue 19.)
type buildCache struct {
	strs  map[string]string
	xs    map[string]*grantX
	arena strArena // nil arena: strings are kept as given
	// pend holds the strings of the holders being built (see addGrant);
	// xi where their gx holds each grantX.
	pend  map[*holder][]byte
	xi    map[holderX2]uint32
	pendX map[*holder][]*grantX
	gx    map[gxKey]*[]*grantX // see shareGX
}

func newBuildCache() *buildCache {
	return &buildCache{strs: map[string]string{}, xs: map[string]*grantX{}, pend: map[*holder][]byte{}, xi: map[holderX2]uint32{}, pendX: map[*holder][]*grantX{}, gx: map[gxKey]*[]*grantX{}}
}

// str returns s's canonical copy: one per distinct string.
func (bc *buildCache) str(s string) string { return canonStr(bc.strs, s) }

// strArena copies strings into large byte blocks. A block is never
// written again where a string was put, and never reallocated (put starts
// a new block when one is full), so the strings it returns stay valid and
// immutable for as long as they are referenced. The zero value keeps
// strings as given.
type strArena struct {
	buf  []byte
	next int // size of the next block
}

// arenaBlockMax bounds a block, so that an org whose strings are mostly
// deleted keeps at most this much dead memory per block still referenced.
const arenaBlockMax = 1 << 20

func newStrArena(n int) strArena {
	return strArena{next: min(max(n, 64), arenaBlockMax)}
}

// alloc returns n zeroed bytes, 8-aligned, for a holder's block (see
// holder.pack): from the arena, or an allocation of their own for the zero
// arena and a block too big for an arena block. The memory holds no
// pointers.
func (a *strArena) alloc(n int) []byte {
	pad := -len(a.buf) & 7
	if a.next == 0 || n+pad > cap(a.buf)-len(a.buf) {
		if a.next == 0 || n >= a.next/4 {
			words := make([]uint64, (n+7)/8)
			return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
		}
		if a.buf != nil {
			a.next = max(a.next/8, 4096)
		}
		a.buf, pad = make([]byte, 0, a.next), 0 // (8-aligned: a block is at least 64 bytes)
	}
	off := len(a.buf) + pad
	a.buf = a.buf[:off+n]
	return a.buf[off : off+n : off+n]
}

// buildStrBytes is how many bytes the holders' blocks of d take: the
// grants, the bindings' ids and resource scopes, and alignment.
func buildStrBytes(d *OrgData) int {
	n := 0
	for i := range d.Bindings {
		b := &d.Bindings[i]
		n += len(b.ID) + int(sgrantSize)
		if scopeKind(b.Scope) == scopeRes {
			n += len(b.Scope.Type) + len(b.Scope.ID) + int(resGrantSize-sgrantSize)
		}
	}
	// Each holder's block starts 8-aligned.
	return n + 8*(len(d.Principals)+len(d.Teams))
}

func (bc *buildCache) grantX(x *grantX) *grantX {
	if x == nil || x.scope != nil {
		return x
	}
	var sb strings.Builder
	sb.WriteString(x.role)
	sb.WriteByte(0)
	sb.WriteString(x.cond)
	sb.WriteByte(0)
	if x.share {
		sb.WriteByte('s')
	}
	if x.inert {
		sb.WriteByte('i')
	}
	for _, a := range x.actions {
		sb.WriteByte(0)
		sb.WriteString(a)
	}
	if !x.expires.IsZero() {
		sb.WriteByte(1)
		sb.WriteString(x.expires.Format(time.RFC3339Nano))
	}
	k := sb.String()
	if c, ok := bc.xs[k]; ok {
		return c
	}
	bc.xs[k] = x
	return x
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

// holderW returns a holder the current writer may modify: a new one, or
// (the first time this writer touches it) a private copy of the published
// one, stored back in place. o.holders must be thawed.
func (o *orgSnap) holderW(id string) *holder {
	if h, ok := o.holders.get(skey(id)); ok {
		if h.flags&hPrivate != 0 {
			return h
		}
		c := *h
		c.flags |= hPrivate
		o.holders.set(skey(id), &c)
		o.priv = append(o.priv, privHolder{id, &c})
		return &c
	}
	h := &holder{flags: hPrivate}
	o.holders.set(skey(id), h)
	o.priv = append(o.priv, privHolder{id, h})
	return h
}

// freeze ends writing o: every map is frozen and every holder this writer
// touched becomes shared (its lists packed into a block, see holder.pack).
// o must not be modified
// afterwards.
func (o *orgSnap) freeze() {
	var roles []string
	for _, ph := range o.priv {
		h := ph.h
		h.flags &^= hPrivate
		h.pack(nil)
		if strings.HasPrefix(ph.id, KindRole+":") {
			roles = append(roles, ph.id)
		}
	}
	if len(roles) > 0 {
		o.updateRoleShares(roles)
	}
	o.priv = nil
	if o.nsOwned {
		o.indexNS()
	}
	o.nsOwned = false
	o.scan, o.scans = nil, 0
	o.holders.freeze()
	o.resources.freeze()
	o.index.freeze()
	o.bindings.freeze()
}

// updateRoleShares refreshes the entries of o.roleShares for the role
// holders ids (touched by this writer): present with their current holder
// and role index while they hold resource grants, absent otherwise. The
// published slice is never modified.
func (o *orgSnap) updateRoleShares(ids []string) {
	rs := slices.Clone(o.roleShares)
	for _, id := range ids {
		i, found := slices.BinarySearchFunc(rs, id, func(r roleShare, id string) int { return strings.Compare(r.id, id) })
		h, ok := o.holders.get(skey(id))
		switch {
		case ok && len(h.rs()) > 0:
			r := roleShare{id: id, role: o.pol.roleIdx(strings.TrimPrefix(id, KindRole+":")), h: h}
			if found {
				rs[i] = r
			} else {
				rs = slices.Insert(rs, i, r)
			}
		case found:
			rs = slices.Delete(rs, i, i+1)
		}
	}
	if len(rs) == 0 {
		rs = nil
	}
	o.roleShares = slices.Clip(rs)
}
