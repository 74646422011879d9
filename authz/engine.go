package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/policy"
)

func (s *state) revision() uint64 { return s.cur.Load().rev }

// waitFor blocks until the snapshot revision reaches rev. Each snapshot's
// done channel is closed when the next one is published, so a waiter wakes
// once per swap and re-checks.
func (s *state) waitFor(ctx context.Context, rev uint64) error {
	for {
		snap := s.cur.Load()
		if snap.rev >= rev {
			return nil
		}
		select {
		case <-snap.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (op ChangeOp) String() string {
	switch op {
	case OpPutBinding:
		return "put-binding"
	case OpDeleteBinding:
		return "delete-binding"
	case OpPutPrincipal:
		return "put-principal"
	case OpDeletePrincipal:
		return "delete-principal"
	case OpPutTeam:
		return "put-team"
	case OpDeleteTeam:
		return "delete-team"
	case OpPutResource:
		return "put-resource"
	case OpDeleteResource:
		return "delete-resource"
	case OpPutNamespace:
		return "put-namespace"
	case OpDeleteNamespace:
		return "delete-namespace"
	case OpSetPolicy:
		return "set-policy"
	case OpPutOrg:
		return "put-org"
	case OpDeleteOrg:
		return "delete-org"
	case OpSetLifecycle:
		return "set-lifecycle"
	}
	return fmt.Sprintf("ChangeOp(%d)", int(op))
}

// apply validates every change, applies them in order to private copies of
// the orgs they touch, and publishes the result with one atomic store.
// Nothing is published if any change fails.
func (s *state) apply(rev uint64, changes []Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur.Load()
	if rev <= cur.rev {
		return fmt.Errorf("%w: revision %d, engine is at %d", ErrStaleRevision, rev, cur.rev)
	}
	for i := range changes {
		if err := validateChange(&changes[i]); err != nil {
			return fmt.Errorf("change %d (%s): %w: %s", i, changes[i].Op, ErrInvalid, err)
		}
	}
	orgs := cur.orgs
	orgs.thaw()
	working := map[string]*orgSnap{} // orgs copied by this Apply, still thawed
	for i := range changes {
		ch := &changes[i]
		org := changeOrg(ch)
		switch ch.Op {
		case OpPutOrg:
			o := buildOrg(org, ch.Data, s.compiled(ch.Data.Policy))
			o.thaw()
			working[org] = o
			orgs.set(skey(org), orgEntry{o: o})
			continue
		case OpDeleteOrg:
			orgs.del(skey(org))
			delete(working, org)
			continue
		}
		w := working[org]
		if w == nil {
			old, ok := orgs.get(skey(org))
			if !ok || old.o == nil {
				if isDelete(ch.Op) {
					continue // deleting from an absent org: nothing to do
				}
				return fmt.Errorf("change %d (%s): %w: org %q: %w", i, ch.Op, ErrInvalid, org, ErrNotFound)
			}
			w = old.o.writable()
			working[org] = w
			orgs.set(skey(org), orgEntry{o: w})
		}
		s.applyOne(w, ch)
	}
	for org, w := range working {
		w.freeze()
		orgs.set(skey(org), entryOf(w)) // now with the frozen holders' slots
	}
	orgs.freeze()
	next := &snapshot{rev: rev, orgs: orgs, done: make(chan struct{})}
	s.cur.Store(next)
	close(cur.done)
	// Forget compiled policies no org uses any more.
	if len(s.polCache) > 64 {
		clear(s.polCache)
	}
	return nil
}

// fork returns a new state whose current snapshot is s's: published
// snapshots are never modified (writers copy what they change), so both
// states can build on it independently.
func (s *state) fork() impl {
	cur := s.cur.Load()
	f := &state{polCache: map[*policy.Model]*cpolicy{}}
	f.cur.Store(&snapshot{rev: cur.rev, orgs: cur.orgs, done: make(chan struct{})})
	return impl{f}
}

// changeOrg is the org a change is for (OpPutOrg may name it in Data only).
func changeOrg(ch *Change) string {
	if ch.Org == "" && ch.Op == OpPutOrg && ch.Data != nil {
		return ch.Data.Org
	}
	return ch.Org
}

func isDelete(op ChangeOp) bool {
	switch op {
	case OpDeleteBinding, OpDeletePrincipal, OpDeleteTeam, OpDeleteResource, OpDeleteNamespace:
		return true
	}
	return false
}

// compiled returns the compiled form of m, reusing earlier compilations of
// the same model (orgs created from one template share it).
func (s *state) compiled(m *policy.Model) *cpolicy {
	if c, ok := s.polCache[m]; ok {
		return c
	}
	c := compilePolicy(m)
	s.polCache[m] = c
	return c
}

// writable returns a private, thawed shallow copy of o.
func (o *orgSnap) writable() *orgSnap {
	w := *o
	w.thaw()
	return &w
}

func (o *orgSnap) thaw() {
	o.holders.thaw()
	o.bindings.thaw()
	o.resources.thaw()
	o.index.thaw()
}

// applyOne applies one validated change to the writable org w.
func (s *state) applyOne(w *orgSnap, ch *Change) {
	switch ch.Op {
	case OpPutBinding:
		w.putBinding(&ch.Binding)
	case OpDeleteBinding:
		w.deleteBinding(ch.ID)
	case OpPutPrincipal:
		p := ch.Principal
		w.holderW(p.ID).setMember(&p)
	case OpDeletePrincipal:
		if _, ok := w.holders.get(skey(ch.ID)); ok {
			h := w.holderW(ch.ID)
			h.setMember(nil)
			w.dropIfEmpty(ch.ID, h)
		}
	case OpPutTeam:
		w.putTeam(ch.Team)
	case OpDeleteTeam:
		w.deleteTeam(ch.ID)
	case OpPutResource:
		w.putResource(ch.Resource)
	case OpDeleteResource:
		w.deleteResource(resKey{ch.Resource.Namespace, ch.Resource.Type, ch.Resource.ID})
	case OpPutNamespace:
		w.setNSExists(ch.ID, true)
	case OpDeleteNamespace:
		w.deleteNamespace(ch.ID)
	case OpSetPolicy:
		w.setPolicy(s.compiled(ch.Policy))
	case OpSetLifecycle:
		w.life = *ch.Lifecycle
	}
}

func (o *orgSnap) dropIfEmpty(id string, h *holder) {
	if h.empty() {
		o.holders.del(skey(id))
	}
}

func (o *orgSnap) putBinding(b *Binding) {
	o.deleteBinding(b.ID)
	h := o.holderW(b.Principal)
	o.addGrant(h, b, nil, true)
	o.nBindings++
	o.bindings.add(b.ID, b.Principal)
	if o.scan != nil {
		o.scan[b.ID] = b.Principal
	}
	if !o.bindings.enabled && o.nBindings >= 2*bindexMin {
		o.indexBindings()
		o.scan = nil
	}
}

// insertSorted returns a new slice: s with v inserted in order. s itself
// may be shared with a published snapshot and is never modified.
func insertSorted[T any](s []T, v T, cmp func(a, b T) int) []T {
	i, _ := slices.BinarySearchFunc(s, v, cmp)
	out := make([]T, 0, len(s)+1)
	out = append(out, s[:i]...)
	out = append(out, v)
	return append(out, s[i:]...)
}

// removeAt returns a new slice without s[i]; s is never modified.
func removeAt[T any](s []T, i int) []T {
	if len(s) == 1 {
		return nil
	}
	out := make([]T, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

// indexBindings builds the org's bindex once it has grown big.
func (o *orgSnap) indexBindings() {
	es := make([]bentry, 0, o.nBindings)
	for hid, h := range o.holders.all() {
		for i := range h.gs() {
			es = append(es, bentry{bindingHash(h.str(h.gs()[i].id)), string(hid)})
		}
		for i := range h.rs() {
			es = append(es, bentry{bindingHash(h.str(h.rs()[i].id)), string(hid)})
		}
	}
	o.bindings = newBindex(es)
}

// bindingHolder finds the id of the holder the binding names.
func (o *orgSnap) bindingHolder(id string) (string, bool) {
	if o.bindings.enabled {
		for _, e := range o.bindings.holders(id) {
			if h, ok := o.holders.get(skey(e.hid)); ok && h.hasBinding(id) {
				return e.hid, true
			}
		}
		return "", false // (other candidates: hash collisions)
	}
	if o.scan == nil {
		if o.scans++; o.scans <= scanMapAfter {
			return o.scanHolders(id)
		}
		o.scan = map[string]string{}
		for hid, h := range o.holders.all() {
			for i := range h.gs() {
				o.scan[h.str(h.gs()[i].id)] = string(hid)
			}
			for i := range h.rs() {
				o.scan[h.str(h.rs()[i].id)] = string(hid)
			}
		}
	}
	// Every binding the org held when scan was built is in it, and every
	// one added since came through putBinding, which records it: an id
	// scan lacks is no binding. An entry may be stale (a namespace's
	// deletion drops its bindings without deleteBinding): it is checked,
	// and a stale one means no binding either — scanned to be sure.
	hid, ok := o.scan[id]
	if !ok {
		return "", false
	}
	if h, ok := o.holders.get(skey(hid)); ok && h.hasBinding(id) {
		return hid, true
	}
	delete(o.scan, id)
	return o.scanHolders(id)
}

// scanMapAfter is how many times one writer scans a small org's holders
// for a binding (bindingHolder) before it builds a map of them instead: a
// single change scans once, as cheap as building the map; a batch of a
// thousand would scan a thousand times (issue 19).
const scanMapAfter = 4

// scanHolders finds the holder of binding id by looking at every holder.
func (o *orgSnap) scanHolders(id string) (string, bool) {
	for hid, h := range o.holders.all() {
		if h.hasBinding(id) {
			return string(hid), true
		}
	}
	return "", false
}

func (o *orgSnap) deleteBinding(id string) {
	hid, ok := o.bindingHolder(id)
	if !ok {
		return
	}
	delete(o.scan, id)
	o.bindings.remove(id, hid)
	o.nBindings--
	h := o.holderW(hid)
	defer o.dropIfEmpty(hid, h)
	if i := slices.IndexFunc(h.gs(), func(g sgrant) bool { return h.str(g.id) == id }); i >= 0 {
		w := h.edit()
		w.grants = removeAt(w.grants, i)
	} else if i := slices.IndexFunc(h.rs(), func(g resGrant) bool { return h.str(g.id) == id }); i >= 0 {
		w := h.edit()
		w.res = removeAt(w.res, i)
	}
	h.compactStrs()
}

func (o *orgSnap) putTeam(t Team) {
	tid := KindTeam + ":" + t.Slug
	members := slices.Clone(t.Members)
	slices.Sort(members)
	members = shrink(slices.Compact(members))
	h0, _ := o.holders.get(skey(tid))
	var old []string
	if h0 != nil {
		old = h0.members()
	}
	for _, m := range old {
		if _, keep := slices.BinarySearch(members, m); !keep {
			o.leaveTeam(m, tid)
		}
	}
	for _, m := range members {
		if _, had := slices.BinarySearch(old, m); !had {
			mh := o.holderW(m)
			if _, found := slices.BinarySearch(mh.teams(), tid); !found {
				mh.setTeams(insertSorted(mh.teams(), tid, strings.Compare))
			}
		}
	}
	o.holderW(tid).setTeam(true, members)
}

func (o *orgSnap) leaveTeam(member, tid string) {
	if _, ok := o.holders.get(skey(member)); !ok {
		return
	}
	mh := o.holderW(member)
	if i, found := slices.BinarySearch(mh.teams(), tid); found {
		mh.setTeams(removeAt(mh.teams(), i))
	}
	o.dropIfEmpty(member, mh)
}

func (o *orgSnap) deleteTeam(slug string) {
	tid := KindTeam + ":" + slug
	h0, ok := o.holders.get(skey(tid))
	if !ok || !h0.isTeam() {
		return
	}
	for _, m := range h0.members() {
		o.leaveTeam(m, tid)
	}
	h := o.holderW(tid)
	h.setTeam(false, nil)
	o.dropIfEmpty(tid, h)
}

func (o *orgSnap) putResource(r Resource) {
	k := resKey{r.Namespace, r.Type, r.ID}
	if _, ok := o.resources.get(k); !ok {
		bk := nsType{k.ns, k.typ}
		l, _ := o.index.get(bk)
		o.index.set(bk, l.with(k.id))
	}
	o.resources.set(k, resVal{labels: r.Labels, attrs: r.Attributes})
}

func (o *orgSnap) deleteResource(k resKey) {
	if _, ok := o.resources.get(k); !ok {
		return
	}
	o.resources.del(k)
	bk := nsType{k.ns, k.typ}
	l, _ := o.index.get(bk)
	if l = l.without(k.id); l == nil {
		o.index.del(bk)
	} else {
		o.index.set(bk, l)
	}
}

// deleteNamespace drops the namespace, its resources and the bindings
// scoped in it. (The directory refuses to delete a namespace that still
// holds resources; the engine just follows.) It costs O(org).
func (o *orgSnap) deleteNamespace(ns string) {
	id, _ := o.nsID(ns)
	if id >= 0 {
		o.setNSExists(ns, false)
	}
	// Resources may have been put in a namespace that was never created:
	// they go too.
	var buckets []nsType
	for k := range o.index.all() {
		if k.ns == ns {
			buckets = append(buckets, k)
		}
	}
	for _, bk := range buckets {
		l, _ := o.index.get(bk)
		l.after("", func(rid string) bool {
			o.resources.del(resKey{bk.ns, bk.typ, rid})
			return true
		})
		o.index.del(bk)
	}
	if id < 0 {
		return // no binding names the namespace
	}
	var affected []string
	for hid, h := range o.holders.all() {
		if len(h.nsRange(id)) > 0 || slices.ContainsFunc(h.rs(), func(g resGrant) bool { return g.ns == id }) {
			affected = append(affected, string(hid))
		}
	}
	for _, hid := range affected {
		h := o.holderW(hid)
		var keepNS []sgrant
		for _, g := range h.gs() {
			if g.ns == id {
				o.bindings.remove(h.str(g.id), hid)
				o.nBindings--
			} else {
				keepNS = append(keepNS, g)
			}
		}
		var keepRes []resGrant
		for _, g := range h.rs() {
			if g.ns == id {
				o.bindings.remove(h.str(g.id), hid)
				o.nBindings--
			} else {
				keepRes = append(keepRes, g)
			}
		}
		w := h.edit()
		w.grants, w.res = keepNS, keepRes
		h.compactStrs()
		o.dropIfEmpty(hid, h)
	}
}

// setPolicy recompiles every grant of the org against p (role indexes
// change). It costs O(org bindings).
func (o *orgSnap) setPolicy(p *cpolicy) {
	var ids []string
	for id, h := range o.holders.all() {
		if h.nGrants() > 0 {
			ids = append(ids, string(id))
		}
	}
	type rebound struct {
		h *holder
		b []Binding
	}
	var all []rebound
	for _, id := range ids {
		h := o.holderW(id)
		var bs []Binding
		for i := range h.gs() {
			g := h.view(&h.gs()[i])
			bs = append(bs, o.binding(id, h, &g, "", ""))
		}
		for i := range h.rs() {
			rg := &h.rs()[i]
			g := h.view(&rg.sgrant)
			bs = append(bs, o.binding(id, h, &g, h.str(rg.typ), h.str(rg.rid)))
		}
		all = append(all, rebound{h, bs})
	}
	o.pol = p
	bc := newBuildCache()
	for _, rb := range all {
		h := rb.h
		w := h.edit()
		w.grants, w.res, w.strs, h.gx = nil, nil, "", nil
		for i := range rb.b {
			o.addGrant(h, &rb.b[i], bc, false)
		}
		bc.finish(h)
		slices.SortFunc(w.grants, h.cmpNS)
		slices.SortFunc(w.res, h.cmpRes)
	}
}

// validateChange checks the shape of one change. Single changes are
// validated strictly (a malformed binding is refused); whole-org data
// (OpPutOrg) is taken as is, and whatever in it cannot grant stays inert.
func validateChange(ch *Change) error {
	if ch.Org == "" && !(ch.Op == OpPutOrg && ch.Data != nil && ch.Data.Org != "") {
		return fmt.Errorf("missing org")
	}
	switch ch.Op {
	case OpPutBinding:
		return validateBinding(&ch.Binding)
	case OpDeleteBinding, OpDeletePrincipal, OpDeleteTeam:
		if ch.ID == "" {
			return fmt.Errorf("missing id")
		}
	case OpPutPrincipal:
		kind, _, ok := parsePrincipal(ch.Principal.ID)
		if !ok || kind == KindTeam {
			return fmt.Errorf("principal id %q: want user:<id>, agent:<name> or service:<name>", ch.Principal.ID)
		}
		if ch.Principal.Role != "" && !isIdent(ch.Principal.Role) {
			return fmt.Errorf("principal %q: role %q is not an identifier", ch.Principal.ID, ch.Principal.Role)
		}
	case OpPutTeam:
		if ch.Team.Slug == "" {
			return fmt.Errorf("missing team slug")
		}
		for _, m := range ch.Team.Members {
			if kind, _, ok := parsePrincipal(m); !ok || kind == KindTeam {
				return fmt.Errorf("team %q: member %q is not a user, agent or service id", ch.Team.Slug, m)
			}
		}
	case OpPutResource, OpDeleteResource:
		r := &ch.Resource
		if !isIdent(r.Namespace) || !isIdent(r.Type) || r.ID == "" {
			return fmt.Errorf("resource %q/%q/%q: want an identifier namespace and type and a non-empty id", r.Namespace, r.Type, r.ID)
		}
	case OpPutNamespace:
		if !isIdent(ch.ID) {
			return fmt.Errorf("namespace %q is not an identifier", ch.ID)
		}
	case OpDeleteNamespace:
		if ch.ID == "" || ch.ID == DefaultNamespace {
			return fmt.Errorf("namespace %q cannot be deleted", ch.ID)
		}
	case OpSetPolicy:
		if ch.Policy == nil {
			return fmt.Errorf("missing policy")
		}
	case OpPutOrg:
		if ch.Data == nil {
			return fmt.Errorf("missing org data")
		}
		if ch.Org != "" && ch.Data.Org != "" && ch.Data.Org != ch.Org {
			return fmt.Errorf("org data is for %q, change is for %q", ch.Data.Org, ch.Org)
		}
	case OpSetLifecycle:
		if ch.Lifecycle == nil {
			return fmt.Errorf("missing lifecycle settings")
		}
		if ch.Lifecycle.InactiveAfter < 0 || ch.Lifecycle.AttestEvery < 0 {
			return fmt.Errorf("lifecycle settings: durations must not be negative")
		}
	case OpDeleteOrg:
	default:
		return fmt.Errorf("unknown op %d", int(ch.Op))
	}
	return nil
}

func validateBinding(b *Binding) error {
	if b.ID == "" {
		return fmt.Errorf("binding has no id")
	}
	kind, _, ok := parseSubject(b.Principal)
	if !ok {
		return fmt.Errorf("binding %s: principal %q: want user:, team:, agent:, service: or role:<name>", b.ID, b.Principal)
	}
	if kind == KindRole && !b.Scope.IsResource() {
		return fmt.Errorf("binding %s: a role (%s) can only be the subject of a share of one resource", b.ID, b.Principal)
	}
	switch {
	case b.Role != "" && len(b.Actions) > 0:
		return fmt.Errorf("binding %s: has both a role and actions", b.ID)
	case b.Role == "" && len(b.Actions) == 0:
		return fmt.Errorf("binding %s: has neither a role nor actions", b.ID)
	case b.Role != "" && !isIdent(b.Role):
		return fmt.Errorf("binding %s: role %q is not an identifier", b.ID, b.Role)
	}
	for _, a := range b.Actions {
		if a != policy.Wildcard && !isIdent(a) {
			return fmt.Errorf("binding %s: action %q is not an identifier or *", b.ID, a)
		}
	}
	sc := b.Scope
	switch {
	case sc.IsOrg():
	case sc.IsResource():
		if !isIdent(sc.Namespace) || !isIdent(sc.Type) {
			return fmt.Errorf("binding %s: resource scope %q needs an identifier namespace and type", b.ID, sc)
		}
	default:
		if !isIdent(sc.Namespace) || sc.Type != "" {
			return fmt.Errorf("binding %s: namespace scope needs an identifier namespace and no type (got %q/%q)", b.ID, sc.Namespace, sc.Type)
		}
	}
	if len(b.Actions) > 0 && !sc.IsResource() {
		return fmt.Errorf("binding %s: an action list can only be bound to one resource", b.ID)
	}
	if b.Condition != "" && !isIdent(b.Condition) {
		return fmt.Errorf("binding %s: condition %q is not an identifier", b.ID, b.Condition)
	}
	return nil
}
