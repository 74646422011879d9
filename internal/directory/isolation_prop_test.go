package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The tenant-isolation property test. 22 orgs are built with colliding
// names everywhere (every org has namespaces default and prod, team
// support, agent Triage, service ci, chains/triage, custom role triager),
// plus org-unique data (org ids zorgNN, users and resources that embed the
// org id). Random operations — every read, list, lookup and decision, and
// writes naming other orgs' ids — by random users against random orgs
// must never reveal another org: no answer or error mentions another org's
// id unless the request itself did, every returned binding, resource and
// principal belongs to the org asked about, and a non-member gets
// ErrNotFound for everything (but malformed input, refused before the org
// is looked at).

type isoOrg struct {
	id         string
	members    []string // user principals
	principals map[string]bool
	bindings   map[string]bool
	resources  map[authz.ResourceRef]bool
}

type isoRun struct {
	t     *testing.T
	d     *directory.Directory
	rng   *rand.Rand
	orgs  []*isoOrg
	byID  map[string]*isoOrg
	users []string // every user principal
	viol  []string
	stats map[string]int
}

func (r *isoRun) violation(format string, args ...any) {
	if len(r.viol) < 30 {
		r.viol = append(r.viol, fmt.Sprintf(format, args...))
	}
}

func (r *isoRun) pickOrg() *isoOrg { return r.orgs[r.rng.IntN(len(r.orgs))] }

// isMember reports whether principal is a member of org o.
func (o *isoOrg) isMember(p string) bool { return slices.Contains(o.members, p) }

// foreign returns the ids of orgs other than o that text mentions and the
// request did not.
func (r *isoRun) foreign(o *isoOrg, text, request string) []string {
	var out []string
	for _, x := range r.orgs {
		if x != o && strings.Contains(text, x.id) && !strings.Contains(request, x.id) {
			out = append(out, x.id)
		}
	}
	return out
}

// check inspects one operation's answer and error.
func (r *isoRun) check(o *isoOrg, actor, request string, result any, err error) {
	r.t.Helper()
	member := o.isMember(actor)
	// Malformed input is refused before the org is looked at: that error
	// is the same for every org and reveals nothing.
	var ie *directory.InvalidError
	malformed := errors.As(err, &ie)
	if !member && !errors.Is(err, directory.ErrNotFound) && !malformed {
		r.violation("%s (not a member of %s): %s → %v, want ErrNotFound", actor, o.id, request, err)
	}
	var text string
	if err != nil {
		text = err.Error()
		r.stats["err"]++
		if !member && !malformed {
			// A non-member's error is the absent-org error, word for word.
			want := strings.ReplaceAll(err.Error(), o.id, "zorgXX")
			if !strings.Contains(want, `org "zorgXX": not found`) {
				r.violation("%s: non-member error %q is not the absent-org error", request, err)
			}
		}
	} else {
		r.stats["ok"]++
		b, jerr := json.Marshal(result)
		if jerr != nil {
			r.violation("%s: result does not marshal: %v", request, jerr)
		}
		text = string(b)
	}
	if f := r.foreign(o, text, request); len(f) > 0 {
		r.violation("%s by %s through %s reveals %v: %.300s", request, actor, o.id, f, text)
	}
	if err != nil {
		return
	}
	// Every id returned is the org's own.
	switch x := result.(type) {
	case []store.Binding:
		for _, b := range x {
			r.ownBinding(o, request, b)
		}
	case store.Binding:
		r.ownBinding(o, request, x)
	case []store.Resource:
		for _, res := range x {
			r.ownResource(o, request, res.Ref(), res.Org)
		}
	case store.Resource:
		r.ownResource(o, request, x.Ref(), x.Org)
	case authz.LookupResourcesPage:
		for _, ref := range x.Resources {
			r.ownResource(o, request, ref, o.id)
		}
	case []authz.Subject:
		for _, s := range x {
			if !o.principals[s.Principal] {
				r.violation("%s: subject %s is not a principal of %s", request, s.Principal, o.id)
			}
		}
	case []store.Member:
		for _, m := range x {
			if m.Org != o.id || !o.isMember(m.PrincipalID()) {
				r.violation("%s: member %+v is not of %s", request, m, o.id)
			}
		}
	}
}

func (r *isoRun) ownBinding(o *isoOrg, request string, b store.Binding) {
	if b.Org != o.id || !o.bindings[b.ID] {
		r.violation("%s: binding %s (org %q) is not one of %s's", request, b.ID, b.Org, o.id)
	}
}

func (r *isoRun) ownResource(o *isoOrg, request string, ref authz.ResourceRef, org string) {
	if org != o.id || !o.resources[ref] {
		r.violation("%s: resource %v (org %q) is not one of %s's", request, ref, org, o.id)
	}
}

// anyBinding picks a binding id of any org.
func (r *isoRun) anyBinding() string {
	o := r.pickOrg()
	for id := range o.bindings {
		return id
	}
	return "bnone"
}

func (r *isoRun) anyResource() authz.ResourceRef {
	o := r.pickOrg()
	for ref := range o.resources {
		if r.rng.IntN(3) == 0 {
			return ref
		}
	}
	return authz.ResourceRef{Namespace: "default", Type: "chains", ID: "triage"}
}

func (r *isoRun) anyPrincipal() string {
	o := r.pickOrg()
	ps := make([]string, 0, len(o.principals))
	for p := range o.principals {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps[r.rng.IntN(len(ps))]
}

func (r *isoRun) step() {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	o := r.pickOrg()
	// Mostly a member of the org, sometimes anyone.
	actor := r.users[r.rng.IntN(len(r.users))]
	if r.rng.IntN(4) > 0 {
		actor = o.members[r.rng.IntN(len(o.members))]
	}
	a := directory.Actor{Principal: actor}
	org := o.id
	ns := []string{"default", "prod"}[r.rng.IntN(2)]
	var req string
	var res any
	var err error
	switch r.rng.IntN(24) {
	case 0:
		req = "get org " + org
		res, err = r.d.GetOrg(ctx, a, org)
	case 1:
		req = "list namespaces"
		res, _, err = r.d.ListNamespaces(ctx, a, org, store.Page{})
	case 2:
		req = "list members"
		res, _, err = r.d.ListMembers(ctx, a, org, store.Page{})
	case 3:
		req = "list bindings"
		res, _, err = r.d.ListBindings(ctx, a, org, directory.BindingFilter{}, store.Page{})
	case 4:
		id := r.anyBinding()
		req = "get binding " + id
		res, err = r.d.GetBinding(ctx, a, org, id)
	case 5:
		req = "list teams"
		res, _, err = r.d.ListTeams(ctx, a, org, store.Page{})
	case 6:
		req = "get team support"
		res, err = r.d.GetTeam(ctx, a, org, "support")
	case 7:
		req = "list agents"
		res, _, err = r.d.ListAgents(ctx, a, org, store.Page{})
	case 8:
		req = "get agent Triage"
		res, err = r.d.GetAgent(ctx, a, org, "Triage")
	case 9:
		req = "list resources"
		res, _, err = r.d.ListResources(ctx, a, org, directory.ResourceFilter{}, store.Page{})
	case 10:
		ref := r.anyResource()
		req = "get resource " + store.RefKey(ref)
		res, err = r.d.GetResource(ctx, a, org, ref)
	case 11:
		ref := r.anyResource()
		req = "versions of " + store.RefKey(ref)
		res, _, err = r.d.ListResourceVersions(ctx, a, org, ref, store.Page{})
	case 12:
		p := r.anyPrincipal()
		req = "check " + p
		res, err = r.d.Check(ctx, a, authz.Request{Org: org, Principal: p, Namespace: ns, ResourceType: "chains", ResourceID: "triage", Action: "run"}, 0)
	case 13:
		p := r.anyPrincipal()
		req = "explain " + p
		res, err = r.d.Explain(ctx, a, authz.Request{Org: org, Principal: p, Namespace: "default", ResourceType: "chains", ResourceID: "triage", Action: "run"}, 0)
	case 14:
		p := r.anyPrincipal()
		req = "lookup resources of " + p
		res, err = r.d.LookupResources(ctx, a, authz.LookupResourcesRequest{Org: org, Principal: p, Type: "chains", Action: "read"}, 0)
	case 15:
		ref := r.anyResource()
		req = "lookup subjects of " + store.RefKey(ref)
		res, _, err = r.d.LookupSubjects(ctx, a, authz.LookupSubjectsRequest{Org: org, Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID, Action: "read"}, 0)
	case 16:
		p := r.anyPrincipal()
		req = "permissions of " + p
		res, _, err = r.d.Permissions(ctx, a, org, p, ns, 0)
	case 17:
		req = "list roles"
		res, err = r.d.ListRoles(ctx, a, org)
	case 18:
		req = "get policy"
		res, err = r.d.GetPolicy(ctx, a, org)
	case 19:
		p := r.anyPrincipal()
		req = "bind " + p
		var b store.Binding
		b, _, err = r.d.CreateBinding(ctx, a, org, directory.BindingSpec{Principal: p, Role: "viewer", Scope: authz.Scope{Namespace: ns}})
		if err == nil {
			o.bindings[b.ID] = true
		}
		res = b
	case 20:
		id := r.anyBinding()
		req = "delete binding " + id
		_, err = r.d.DeleteBinding(ctx, a, org, id)
		if err == nil {
			delete(o.bindings, id)
		}
	case 21:
		ref := r.anyResource()
		p := r.anyPrincipal()
		req = "share " + store.RefKey(ref) + " with " + p
		var b store.Binding
		b, _, err = r.d.Share(ctx, a, org, ref, p, []string{"read"})
		if err == nil {
			o.bindings[b.ID] = true
		}
		res = b
	case 22:
		ref := r.anyResource()
		req = "update resource " + store.RefKey(ref)
		res, _, err = r.d.UpdateResource(ctx, a, org, ref, directory.ResourceChange{Spec: json.RawMessage(`{"v":1}`)})
	case 23:
		p := r.anyPrincipal()
		req = "add " + p + " to support"
		_, err = r.d.AddTeamMember(ctx, a, org, "support", p)
		if err == nil && strings.HasPrefix(p, "user:") {
			// The principal was the org's own (anything else is not found).
			o.principals[p] = true
		}
	}
	r.check(o, actor, req, res, err)
}

// TestTenantIsolation runs ≥ 10,000 random operations over 22 orgs.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	const ops = 10000
	viol, stats := runIsolation(t, nil, ops, 30)
	for _, v := range viol {
		t.Error(v)
	}
	t.Logf("outcomes: %v", stats)
	if stats["ok"] < ops/5 || stats["err"] < ops/10 {
		t.Errorf("outcomes %v: too few successes or refusals to mean anything", stats)
	}
}

// leakyStore is a broken store whose binding lists of one org return
// another org's rows.
type leakyStore struct{ store.Store }

func (l leakyStore) ListBindings(ctx context.Context, org string, f store.BindingFilter, p store.Page) ([]store.Binding, string, error) {
	if org == "zorg03" {
		org = "zorg04"
	}
	return l.Store.ListBindings(ctx, org, f, p)
}

// TestTenantIsolationDetectsLeak: the same run over a store that leaks one
// org's bindings into another's lists must report violations.
func TestTenantIsolationDetectsLeak(t *testing.T) {
	t.Parallel()
	viol, _ := runIsolation(t, func(s store.Store) store.Store { return leakyStore{s} }, 5000, 1)
	if len(viol) == 0 {
		t.Fatal("a store leaking zorg04's bindings into zorg03 went unnoticed")
	}
	t.Logf("first violation: %s", viol[0])
}

// runIsolation builds the 22 orgs (through a directory over wrap(store),
// when wrap is set) and runs ops random operations, stopping after maxViol
// violations.
func runIsolation(t *testing.T, wrap func(store.Store) store.Store, ops, maxViol int) ([]string, map[string]int) {
	ctx := ctxT(t)
	st := propStore(t)
	setup := openDir(t, st, directory.Options{CatchUpTimeout: guard})
	d := setup
	r := &isoRun{t: t, d: d, rng: rand.New(rand.NewPCG(42, 4242)), byID: map[string]*isoOrg{}, stats: map[string]int{}}
	// Shared users belong to several orgs.
	mustUsers(t, d, "shared1", "shared2")
	r.users = []string{"user:shared1", "user:shared2"}
	for i := range 22 {
		id := fmt.Sprintf("zorg%02d", i)
		owner, dev := "own-"+id, "dev-"+id
		mustUsers(t, d, owner, dev)
		o := &isoOrg{id: id, principals: map[string]bool{}, bindings: map[string]bool{}, resources: map[authz.ResourceRef]bool{}}
		r.orgs = append(r.orgs, o)
		r.byID[id] = o
		r.users = append(r.users, "user:"+owner, "user:"+dev)
		oa := user(owner)
		ok(t, "org", third(d.CreateOrg(ctx, oa, directory.OrgSpec{ID: id, Name: "Org " + id})))
		ok(t, "dev", third(d.AddMember(ctx, oa, id, dev, []string{"admin", "builder", "viewer"}[i%3])))
		o.members = []string{"user:" + owner, "user:" + dev}
		if i%3 == 0 {
			ok(t, "shared1", third(d.AddMember(ctx, oa, id, "shared1", "viewer")))
			o.members = append(o.members, "user:shared1")
		}
		if i%4 == 1 {
			ok(t, "shared2", third(d.AddMember(ctx, oa, id, "shared2", "admin")))
			o.members = append(o.members, "user:shared2")
		}
		ok(t, "prod", third(d.CreateNamespace(ctx, oa, id, "prod")))
		ok(t, "team", third(d.CreateTeam(ctx, oa, id, "support", "Support of "+id, []string{"user:" + dev})))
		ok(t, "agent", third(d.CreateAgent(ctx, oa, id, directory.AgentSpec{Name: "Triage", Role: "operator", Attributes: map[string]any{"org": id}})))
		ok(t, "service", third(d.CreateService(ctx, oa, id, directory.ServiceSpec{Name: "ci", Role: "viewer", Namespace: "prod"})))
		ok(t, "role", second(d.CreateRole(ctx, oa, id, directory.RoleSpec{Name: "triager", Level: 20, Permissions: []string{"chains:read"}})))
		for _, ref := range []authz.ResourceRef{
			{Namespace: "default", Type: "chains", ID: "triage"},
			{Namespace: "prod", Type: "chains", ID: "triage"},
			{Namespace: "default", Type: "chains", ID: "chain-of-" + id},
		} {
			ok(t, "resource", third(d.CreateResource(ctx, oa, id, directory.ResourceSpec{
				Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID,
				Labels: map[string]string{"owner": id}, Spec: json.RawMessage(`{"org":"` + id + `"}`),
			})))
			o.resources[ref] = true
		}
		ok(t, "share", third(d.Share(ctx, oa, id, authz.ResourceRef{Namespace: "default", Type: "chains", ID: "chain-of-" + id}, "team:support", []string{"run", "read"})))
		for _, p := range append(slices.Clone(o.members), "team:support", "agent:Triage", "service:ci") {
			o.principals[p] = true
		}
		bs, err := allBindings(ctx, st, id)
		ok(t, "bindings", err)
		for _, b := range bs {
			o.bindings[b.ID] = true
		}
	}
	if wrap != nil {
		_ = setup.Close()
		r.d = openDir(t, wrap(st), directory.Options{CatchUpTimeout: guard})
	}
	for range ops {
		r.step()
		if len(r.viol) >= maxViol {
			break
		}
	}
	return r.viol, r.stats
}
