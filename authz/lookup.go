package authz

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

const (
	defaultPageSize = 100
	maxPageSize     = 10000
)

// nsMode is how a subject's grants decide a (namespace, type) bucket.
type nsMode int

const (
	modeNone   nsMode = iota // no grant can apply: nothing in the bucket
	modeShares               // only resource-scoped grants: check those ids
	modeCheck                // a conditional org/namespace grant: check every id
	modeAll                  // an unconditional org/namespace grant: every id
)

// lookupSubject is one subject of a resource lookup (the principal, or the
// user it acts for) resolved once.
type lookupSubject struct {
	e     eval
	ok    bool // member, not expired, ceiling allows type:action
	exact bool // an agent whose conditional permission names type:action
}

func (snap *snapshot) lookupSubject(o *orgSnap, req *Request, pid string) lookupSubject {
	ls := lookupSubject{e: newEval(o, DefaultNamespace, req)}
	e := &ls.e
	if !e.subject(pid) {
		return ls
	}
	if e.kind == KindAgent {
		ag, ceil := e.ceiling()
		if ceil == nil || !ceil.grants(e.tid, e.aid) {
			return ls
		}
		_, ls.exact = ag.conditional(e.tid, e.aid)
	}
	ls.ok = true
	return ls
}

// mode classifies namespace ns for the subject and, for modeShares, returns
// the ids of resources shared with it there (unsorted, may repeat).
func (ls *lookupSubject) mode(ns string) (nsMode, []string) {
	if !ls.ok {
		return modeNone, nil
	}
	e := &ls.e
	// With no resource id, scan looks at org and namespace grants only.
	e.setNS(ns)
	allowed, pending := e.scan(e.h, false)
	for _, tid := range e.h.teams() {
		if allowed {
			break
		}
		if th, ok := e.holder(tid); ok && th.isTeam() {
			a, p := e.scan(th, false)
			allowed, pending = allowed || a, pending || p
		}
	}
	switch {
	case allowed && !ls.exact:
		return modeAll, nil
	case allowed || pending:
		return modeCheck, nil
	}
	var ids []string
	typ := e.req.ResourceType
	for _, g := range e.h.rs() {
		if g.ns == e.nsID && e.h.str(g.typ) == typ {
			ids = append(ids, e.h.str(g.rid))
		}
	}
	for _, tid := range e.h.teams() {
		if th, ok := e.holder(tid); ok && th.isTeam() {
			for _, g := range th.rs() {
				if g.ns == e.nsID && th.str(g.typ) == typ {
					ids = append(ids, th.str(g.rid))
				}
			}
		}
	}
	// Shares made to a role the subject may hold here (conditions are left
	// to the check of each id).
	for i := range e.o.roleShares {
		rs := &e.o.roleShares[i]
		if rs.role < 0 || !e.holdsRole(rs.role, false) {
			continue
		}
		for _, g := range rs.h.rs() {
			if g.ns == e.nsID && rs.h.str(g.typ) == typ {
				ids = append(ids, rs.h.str(g.rid))
			}
		}
	}
	if len(ids) == 0 {
		return modeNone, nil
	}
	return modeShares, ids
}

// pageToken is the position after which the next page starts.
type pageToken struct{ ns, id string }

// queryFingerprint ties a page token to the query it continues, so a token
// cannot be replayed against another principal, type or action.
func queryFingerprint(q *LookupResourcesRequest) uint64 {
	h := fnv.New64a()
	for _, s := range []string{q.Org, q.Principal, q.Type, q.Action, q.Namespace, q.OnBehalfOf} {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	return h.Sum64()
}

const tokenVersion = 1

func encodeToken(q *LookupResourcesRequest, t pageToken) string {
	b := []byte{tokenVersion}
	b = binary.BigEndian.AppendUint64(b, queryFingerprint(q))
	b = binary.AppendUvarint(b, uint64(len(t.ns)))
	b = append(b, t.ns...)
	b = binary.AppendUvarint(b, uint64(len(t.id)))
	b = append(b, t.id...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(q *LookupResourcesRequest, s string) (pageToken, error) {
	bad := func(why string) (pageToken, error) {
		return pageToken{}, fmt.Errorf("%w: page token: %s", ErrInvalid, why)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 9 || b[0] != tokenVersion {
		return bad("malformed")
	}
	if binary.BigEndian.Uint64(b[1:9]) != queryFingerprint(q) {
		return bad("it belongs to another query")
	}
	b = b[9:]
	var parts [2]string
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return bad("malformed")
		}
		parts[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) != 0 || !isIdent(parts[0]) || parts[1] == "" {
		return bad("malformed")
	}
	return pageToken{ns: parts[0], id: parts[1]}, nil
}

func (s *state) lookupResources(q LookupResourcesRequest) (LookupResourcesPage, error) {
	snap := s.cur.Load()
	page := LookupResourcesPage{Revision: snap.rev}
	o, ok := snap.org(q.Org)
	if !ok {
		return page, fmt.Errorf("org %q: %w", q.Org, ErrNotFound)
	}
	if !isIdent(q.Type) || !isIdent(q.Action) || (q.Namespace != "" && !isIdent(q.Namespace)) {
		return page, fmt.Errorf("%w: lookup needs identifier type, action and namespace (got %q, %q, %q)", ErrInvalid, q.Type, q.Action, q.Namespace)
	}
	size := q.PageSize
	switch {
	case size < 0:
		return page, fmt.Errorf("%w: negative page size %d", ErrInvalid, size)
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	var from pageToken
	if q.PageToken != "" {
		t, err := decodeToken(&q, q.PageToken)
		if err != nil {
			return page, err
		}
		from = t
	}
	kind, _, ok := parsePrincipal(q.Principal)
	if !ok || kind == KindTeam {
		return page, fmt.Errorf("%w: principal %q is not a user, agent or service id", ErrInvalid, q.Principal)
	}
	if h, ok := o.holders.get(skey(q.Principal)); !ok || !h.isMember() {
		return page, fmt.Errorf("principal %q: %w", q.Principal, ErrNotFound)
	}
	if o.pol.none {
		return page, nil // an org without a policy allows nothing
	}

	req := Request{
		Org: q.Org, Principal: q.Principal, ResourceType: q.Type, Action: q.Action,
		Context: q.Context, OnBehalfOf: q.OnBehalfOf, Now: q.Now,
	}
	subj := []lookupSubject{snap.lookupSubject(o, &req, q.Principal)}
	if q.OnBehalfOf != "" {
		uk, _, _ := parsePrincipal(q.OnBehalfOf)
		if (kind != KindAgent && kind != KindService) || uk != KindUser {
			return page, nil // Check denies every such request
		}
		subj = append(subj, snap.lookupSubject(o, &req, q.OnBehalfOf))
	}

	namespaces := o.nsSorted
	if q.Namespace != "" {
		if _, exists := o.nsID(q.Namespace); !exists {
			page.Reason = ReasonUnknownNamespace
			return page, nil
		}
		namespaces = []string{q.Namespace}
	}
	var last pageToken
	full := false // the page is full; looking for one more to decide on a token
	more := false
	var conds []string     // of the resource check last allowed, when only under conditions
	needsApproval := false // the resource check last allowed answered approval_required
	emit := func(ns, id string) bool {
		if full {
			more = true
			return false
		}
		ref := ResourceRef{Namespace: ns, Type: q.Type, ID: id}
		page.Resources = append(page.Resources, ref)
		if conds != nil {
			page.Conditional = append(page.Conditional, ConditionalResource{ResourceRef: ref, Conditions: conds})
			conds = nil
		}
		if needsApproval { // asks.go: mark what needs approval (decided by check)
			page.ApprovalRequired = append(page.ApprovalRequired, ref)
		}
		last = pageToken{ns, id}
		full = len(page.Resources) == size
		return true
	}
	decide := snap.decide
	if q.NoApprovalMarks {
		decide = snap.decideSkippingAsks // the same set, nothing marked
	}
	approvalRequired := func(ns, id string) bool {
		r := req
		r.Namespace, r.ResourceID = ns, id
		d, _ := decide(&r)
		return d.ApprovalRequired
	}
	check := func(ns, id string) bool {
		r := req
		r.Namespace, r.ResourceID = ns, id
		d, _ := decide(&r)
		conds, needsApproval = nil, d.ApprovalRequired
		if d.Allowed || d.ApprovalRequired || !q.IncludeConditional {
			return d.Allowed || d.ApprovalRequired // what may be done, with approval or without
		}
		ok, cs := snap.conditionalDecide(&r)
		if ok && len(cs) > 0 {
			conds = cs
		}
		return ok && len(cs) > 0
	}
	for _, ns := range namespaces {
		if from.ns != "" && ns < from.ns {
			continue
		}
		after := ""
		if ns == from.ns {
			after = from.id
		}
		bucket, _ := o.index.get(nsType{ns, q.Type})
		if bucket.len() == 0 {
			continue
		}
		mode, ids := modeAll, []string(nil)
		for i := range subj {
			m, sh := subj[i].mode(ns)
			if m < mode || (m == modeShares && mode == modeShares && len(sh) < len(ids)) {
				mode, ids = m, sh
			}
		}
		stop := false
		switch mode {
		case modeNone:
			continue
		case modeAll:
			bucket.after(after, func(id string) bool {
				// Allowed without a check; only ask rules need a decision.
				needsApproval = o.pol.hasAsk && approvalRequired(ns, id)
				stop = !emit(ns, id)
				return !stop
			})
		case modeCheck:
			bucket.after(after, func(id string) bool {
				if check(ns, id) {
					stop = !emit(ns, id)
				}
				return !stop
			})
		case modeShares:
			slices.Sort(ids)
			ids = slices.Compact(ids)
			start, _ := slices.BinarySearch(ids, after)
			for _, id := range ids[start:] {
				if id == after || !bucket.has(id) || !check(ns, id) {
					continue
				}
				if !emit(ns, id) {
					stop = true
					break
				}
			}
		}
		if stop {
			break
		}
	}
	if more {
		page.NextPageToken = encodeToken(&q, last)
	}
	return page, nil
}

func (s *state) lookupSubjects(q LookupSubjectsRequest) ([]Subject, uint64, error) {
	snap := s.cur.Load()
	o, ok := snap.org(q.Org)
	if !ok {
		return nil, snap.rev, fmt.Errorf("org %q: %w", q.Org, ErrNotFound)
	}
	ns := q.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if !isIdent(q.Type) || !isIdent(q.Action) || !isIdent(ns) {
		return nil, snap.rev, fmt.Errorf("%w: lookup needs identifier type, action and namespace (got %q, %q, %q)", ErrInvalid, q.Type, q.Action, q.Namespace)
	}
	nsID, exists := o.nsID(ns)
	if o.pol.none {
		return nil, snap.rev, nil // an org without a policy allows nothing
	}
	if !exists {
		return nil, snap.rev, errUnknownNamespace
	}
	req := Request{Org: q.Org, Namespace: ns, ResourceType: q.Type, ResourceID: q.ID, Action: q.Action, Context: q.Context, Now: q.Now}
	hk := resHash(nsID, q.Type, q.ID)
	inScope := func(h *holder) bool {
		return len(h.orgGrants()) > 0 || len(h.nsRange(nsID)) > 0 || (q.ID != "" && h.hasRes(hk, nsID, q.Type, q.ID))
	}
	// Candidates: principals with a grant in scope, directly or through a
	// team with one. Everyone else cannot be allowed. (A share made to a
	// role reaches only principals holding the role at org scope or in the
	// namespace: they have a grant in scope.)
	cand := map[string]bool{}
	for id, h := range o.holders.all() {
		if !inScope(h) {
			continue
		}
		if h.isTeam() {
			for _, m := range h.members() {
				cand[m] = true
			}
		}
		if h.isMember() {
			cand[string(id)] = true
		}
	}
	var out []Subject
	for pid := range cand {
		e := newEval(o, ns, &req)
		if ok, _ := e.decide(pid); !ok {
			if q.IncludeConditional {
				ce := newEval(o, ns, &req)
				ce.assume = &condAssume{}
				if ok, _ := ce.decide(pid); ok && len(ce.assume.names) > 0 {
					out = append(out, Subject{Principal: pid, Conditions: ce.assume.sorted()})
				}
			}
			continue
		}
		sub := Subject{Principal: pid}
		if o.pol.hasAsk {
			sub.ApprovalRequired = len(e.appendAsks(nil)) > 0
		}
		for _, tid := range e.h.teams() {
			th, ok := o.holders.get(skey(tid))
			if !ok || !th.isTeam() || !inScope(th) {
				continue
			}
			if e.allowsThrough(th) {
				sub.Via = append(sub.Via, tid)
			}
		}
		if q.ID != "" {
			for i := range o.roleShares {
				if rs := &o.roleShares[i]; e.roleShareGrants(rs) {
					sub.Via = append(sub.Via, rs.id)
				}
			}
		}
		out = append(out, sub)
	}
	slices.SortFunc(out, func(a, b Subject) int { return strings.Compare(a.Principal, b.Principal) })
	return out, snap.rev, nil
}
