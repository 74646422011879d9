package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Sentinel errors of this package.
var (
	// ErrPolicy: a generated policy text did not compile.
	ErrPolicy = errors.New("generated policy does not compile")
	// ErrMix: the generator could not draw a request mix with the wanted
	// number of allowed and denied requests.
	ErrMix = errors.New("cannot draw the request mix")
	// ErrDisagree: an engine's answer differs from the reference evaluator.
	ErrDisagree = errors.New("engines disagree")
)

// MixSize is the number of requests in every dataset's fixed request slice:
// MixSize/2 allowed and MixSize/2 denied, alternating.
const MixSize = 64

// Request is one request of a benchmark's fixed mix, in both engines' terms.
type Request struct {
	Gatehouse authz.Request
	// Casbin is the argument list of Enforce: sub, dom, obj, act. It is an
	// []any built once so that Enforce(r.Casbin...) allocates no varargs.
	Casbin []any
	// Want is the reference evaluator's answer.
	Want bool
}

// NewRequest returns the request "may principal do action on typ/id in
// org/ns" in both engines' terms (Want unset).
func NewRequest(org, principal, ns, typ, id, action string) Request {
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	return Request{
		Gatehouse: authz.Request{
			Org: org, Principal: principal, Namespace: ns,
			ResourceType: typ, ResourceID: id, Action: action,
		},
		Casbin: []any{principal, CasbinDomain(org, ns), typ + "/" + id, action},
	}
}

// CasbinDomain is the Casbin domain of a Gatehouse namespace: "<org>/<ns>".
func CasbinDomain(org, ns string) string { return org + "/" + ns }

// Dataset is one benchmark scenario: the same access data for Gatehouse
// (compiled policy + OrgData) and Casbin (model text + p and g rules), and a
// fixed request mix labelled by the reference evaluator.
type Dataset struct {
	Name      string
	PolicySrc string
	Model     *policy.Model
	Orgs      []authz.OrgData

	// CasbinModel is the text of the Casbin model (RBAC with domains,
	// with or without keyMatch); empty when the dataset has no Casbin form.
	CasbinModel string
	CasbinP     [][]string // sub, dom, obj, act
	CasbinG     [][]string // user, role, dom

	Requests []Request
}

// Bindings is the total number of Gatehouse bindings over all orgs.
func (d *Dataset) Bindings() int {
	n := 0
	for i := range d.Orgs {
		n += len(d.Orgs[i].Bindings)
	}
	return n
}

// Resources is the total number of Gatehouse resources over all orgs.
func (d *Dataset) Resources() int {
	n := 0
	for i := range d.Orgs {
		n += len(d.Orgs[i].Resources)
	}
	return n
}

// Casbin models. Both are Casbin's RBAC-with-domains model; the wildcard one
// replaces equality on obj and act by keyMatch so that "chains/*" and "*"
// patterns work.
const (
	CasbinModelExact = `[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
`
	CasbinModelKeyMatch = `[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && keyMatch(r.obj, p.obj) && keyMatch(r.act, p.act)
`
)

// loadPolicy compiles a generated policy text; warnings are ignored,
// errors fail.
func loadPolicy(name, src string) (*policy.Model, error) {
	m, diags := policy.Load(name+".policy", []byte(src), policy.LintOptions{})
	if diags.HasErrors() || m == nil {
		errs := diags.Errors()
		if len(errs) > 3 {
			errs = errs[:3]
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrPolicy, name, errs)
	}
	return m, nil
}

// pickMix draws candidates from gen and keeps the first n/2 the reference
// evaluator allows and the first n/2 it denies, interleaved (allowed at
// even indexes). It gives up after maxTries candidates.
func pickMix(n, maxTries int, o *Oracle, gen func() Request) ([]Request, error) {
	var allowed, denied []Request
	for try := 0; try < maxTries && (len(allowed) < n/2 || len(denied) < n/2); try++ {
		r := gen()
		r.Want = o.Allowed(&r.Gatehouse)
		switch {
		case r.Want && len(allowed) < n/2:
			allowed = append(allowed, r)
		case !r.Want && len(denied) < n/2:
			denied = append(denied, r)
		}
	}
	if len(allowed) < n/2 || len(denied) < n/2 {
		return nil, fmt.Errorf("%w: %d allowed and %d denied after %d candidates", ErrMix, len(allowed), len(denied), maxTries)
	}
	out := make([]Request, 0, n)
	for i := range n / 2 {
		out = append(out, allowed[i], denied[i])
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// small and large: Casbin's own RBAC benchmark shape.

// CasbinShape generates Casbin's BenchmarkRBACModelSmall/Large shape
// (casbin/casbin model_b_test.go) in one org "acme", namespace "default":
// role i grants read on resource data<i/10>, user j holds role group<j/10>.
// Large is roles=10,000, resources=1,000, users=100,000; small is 100, 10,
// 1,000.
//
// Gatehouse form: `role group<i> { permission data { read } }` and a binding
// of user j to group<j/10> scoped to the resource data/data<j/100>, so the
// role-to-resource link that Casbin keeps in the p rule lives in the
// binding's scope. Casbin form: p = group<i>, acme/default, data/data<i/10>,
// read; g = user:u<j>, group<j/10>, acme/default; exact matcher.
func CasbinShape(name string, roles, resources, users int, seed uint64) (*Dataset, error) {
	if roles/10 > resources || users/10 > roles || roles%10 != 0 || users%10 != 0 {
		return nil, fmt.Errorf("bench: shape %d roles, %d resources, %d users is not Casbin's (10 users per role, 10 roles per resource)", roles, resources, users)
	}
	const org, ns, typ = "acme", authz.DefaultNamespace, "data"
	dom := CasbinDomain(org, ns)

	var src strings.Builder
	src.WriteString("# generated: Casbin RBAC benchmark shape\n")
	for i := range roles {
		fmt.Fprintf(&src, "role group%d level 10 {\n    permission data { read }\n}\n", i)
	}
	m, err := loadPolicy(name, src.String())
	if err != nil {
		return nil, err
	}

	d := &Dataset{Name: name, PolicySrc: src.String(), Model: m, CasbinModel: CasbinModelExact}
	od := authz.OrgData{Org: org, Policy: m}
	resID := make([]string, resources)
	for k := range resources {
		resID[k] = "data" + strconv.Itoa(k)
		od.Resources = append(od.Resources, authz.Resource{Namespace: ns, Type: typ, ID: resID[k]})
	}
	for i := range roles {
		d.CasbinP = append(d.CasbinP, []string{"group" + strconv.Itoa(i), dom, typ + "/" + resID[i/10], "read"})
	}
	user := func(j int) string { return "user:u" + strconv.Itoa(j) }
	od.Principals = make([]authz.Principal, users)
	od.Bindings = make([]authz.Binding, users)
	d.CasbinG = make([][]string, users)
	for j := range users {
		u, role := user(j), "group"+strconv.Itoa(j/10)
		od.Principals[j] = authz.Principal{ID: u}
		od.Bindings[j] = authz.Binding{
			ID: "b" + strconv.Itoa(j), Principal: u, Role: role,
			Scope: authz.Scope{Namespace: ns, Type: typ, ID: resID[j/100]},
		}
		d.CasbinG[j] = []string{u, role, dom}
	}
	d.Orgs = []authz.OrgData{od}

	rng := rand.New(rand.NewPCG(seed, 1))
	o := NewOracle(d)
	d.Requests, err = pickMix(MixSize, 100*MixSize, o, func() Request {
		j := rng.IntN(users)
		own := j / 100
		switch rng.IntN(6) {
		case 0, 1, 2: // the user's own resource: allowed
			return NewRequest(org, user(j), ns, typ, resID[own], "read")
		case 3: // another resource
			return NewRequest(org, user(j), ns, typ, resID[(own+1+rng.IntN(resources-1))%resources], "read")
		case 4: // an action no role has
			return NewRequest(org, user(j), ns, typ, resID[own], "write")
		default: // not a member of the org
			return NewRequest(org, user(users+j), ns, typ, resID[own], "read")
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// ---------------------------------------------------------------------------
// wildcard: roles made mostly of wildcard patterns.

var (
	wildcardTypes   = []string{"chains", "tools", "kb", "projects", "agents", "datasets", "prompts", "evals"}
	wildcardActions = []string{"read", "run", "create", "update", "delete"}
)

// Wildcard generates one org "acme" (namespace "default") with roles made
// mostly of wildcard patterns: 1 in 20 roles is `*:*`, the others hold one
// to three patterns, 40% `type:*`, 40% `*:action`, 20% concrete. Users hold
// one org-scoped role, a third of them a second one. Casbin uses the
// keyMatch model ("chains/*", "*").
func Wildcard(name string, roles, users, idsPerType int, seed uint64) (*Dataset, error) {
	const org, ns = "acme", authz.DefaultNamespace
	dom := CasbinDomain(org, ns)
	rng := rand.New(rand.NewPCG(seed, 2))

	var src strings.Builder
	src.WriteString("# generated: wildcard roles\n")
	for i := range roles {
		fmt.Fprintf(&src, "role r%d level 10 {\n", i)
		if rng.IntN(20) == 0 {
			src.WriteString("    permission * { * }\n}\n")
			continue
		}
		perms := map[string][]string{} // resource -> actions
		var order []string
		for range 1 + rng.IntN(3) {
			res, act := "", ""
			switch k := rng.IntN(10); {
			case k < 4:
				res, act = wildcardTypes[rng.IntN(len(wildcardTypes))], "*"
			case k < 8:
				res, act = "*", wildcardActions[rng.IntN(len(wildcardActions))]
			default:
				res, act = wildcardTypes[rng.IntN(len(wildcardTypes))], wildcardActions[rng.IntN(len(wildcardActions))]
			}
			if _, ok := perms[res]; !ok {
				order = append(order, res)
			}
			if !slices.Contains(perms[res], act) {
				perms[res] = append(perms[res], act)
			}
		}
		for _, res := range order {
			fmt.Fprintf(&src, "    permission %s { %s }\n", res, strings.Join(perms[res], ", "))
		}
		src.WriteString("}\n")
	}
	m, err := loadPolicy(name, src.String())
	if err != nil {
		return nil, err
	}
	d := &Dataset{Name: name, PolicySrc: src.String(), Model: m, CasbinModel: CasbinModelKeyMatch}
	d.CasbinP = casbinRoleRules(m, dom, nil)

	od := authz.OrgData{Org: org, Policy: m}
	for _, t := range wildcardTypes {
		for k := range idsPerType {
			od.Resources = append(od.Resources, authz.Resource{Namespace: ns, Type: t, ID: "x" + strconv.Itoa(k)})
		}
	}
	user := func(j int) string { return "user:u" + strconv.Itoa(j) }
	for j := range users {
		u := user(j)
		od.Principals = append(od.Principals, authz.Principal{ID: u})
		first := rng.IntN(roles)
		held := []int{first}
		if rng.IntN(3) == 0 {
			held = append(held, (first+1+rng.IntN(roles-1))%roles)
		}
		for n, r := range held {
			role := m.Roles[r].Name
			od.Bindings = append(od.Bindings, authz.Binding{
				ID: "b" + strconv.Itoa(j) + "-" + strconv.Itoa(n), Principal: u, Role: role,
			})
			d.CasbinG = append(d.CasbinG, []string{u, casbinRole(role), dom})
		}
	}
	d.Orgs = []authz.OrgData{od}

	o := NewOracle(d)
	d.Requests, err = pickMix(MixSize, 100*MixSize, o, func() Request {
		j := rng.IntN(users + users/50) // 2% are not members
		t := wildcardTypes[rng.IntN(len(wildcardTypes))]
		return NewRequest(org, user(j), ns, t, "x"+strconv.Itoa(rng.IntN(idsPerType)),
			wildcardActions[rng.IntN(len(wildcardActions))])
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// casbinRole is the Casbin subject standing for a Gatehouse role.
func casbinRole(role string) string { return "role:" + role }

// casbinObj is the keyMatch pattern of a permission's resource part.
func casbinObj(resource string) string {
	if resource == policy.Wildcard {
		return "*"
	}
	return resource + "/*"
}

// casbinRoleRules appends to dst, for every role of m, one p rule per
// flattened permission pattern in domain dom (keyMatch model).
func casbinRoleRules(m *policy.Model, dom string, dst [][]string) [][]string {
	for _, r := range m.Roles {
		sub := casbinRole(r.Name)
		for _, p := range r.Permissions {
			dst = append(dst, []string{sub, dom, casbinObj(p.Resource), p.Action})
		}
	}
	return dst
}

// ---------------------------------------------------------------------------
// orgs1m: many orgs, namespaces, wildcard roles and shares.

// OrgsPolicy is the policy every org of the orgs and lookup datasets uses:
// the agent-platform levels with wildcard patterns.
const OrgsPolicy = `# generated: orgs dataset (agent-platform style, wildcard roles)
role viewer level 10 {
    permission * { read }
}

role operator: viewer level 30 {
    permission chains { run }
    permission decisions { approve }
}

role builder: operator level 50 {
    permission chains { * }
    permission tools { * }
    permission schedules { * }
}

role admin: builder level 80 {
    permission kb { * }
    permission members { * }
    permission bindings { * }
    permission secrets { * }
}

role owner level 100 {
    permission * { * }
}
`

// Shape of every org of the orgs dataset.
const (
	OrgsBindingsPerOrg = 1000
	orgsUsers          = 400 // users with bindings
	orgsLurkers        = 20  // members without any binding
	orgsChainsPerNS    = 20
	orgsToolsPerNS     = 10
	orgsOrgScoped      = 50  // bindings 0..49 are org-scoped
	orgsNSScoped       = 650 // bindings 50..699 are namespace-scoped; the rest are resource-scoped
)

// OrgsNamespaces are the namespaces of every org of the orgs dataset.
var OrgsNamespaces = []string{authz.DefaultNamespace, "dev", "staging", "prod", "research"}

var orgsActions = []string{"read", "run", "create", "update", "delete", "approve"}

// OrgName is the name of org number o of the orgs dataset.
func OrgName(o int) string { return fmt.Sprintf("org-%04d", o) }

// OrgUser is user number n of org o (n ≥ 400 are members without bindings).
func OrgUser(o, n int) string { return "user:o" + strconv.Itoa(o) + "-u" + strconv.Itoa(n) }

// Orgs generates nOrgs orgs × 5 namespaces with OrgsBindingsPerOrg bindings
// each (orgs1m is nOrgs = 1,000: 1,000,000 bindings). Per org: 400 users
// with bindings and 20 without; 50 org-scoped role bindings (2 owner, 4
// admin, 14 builder, 10 operator, 20 viewer); 650 namespace-scoped role
// bindings (viewer 40%, operator 30%, builder 25%, admin 5%); 300
// resource-scoped grants on chains (shares of run/read action lists, one in
// five the operator role). Resources: 20 chains and 10 tools per namespace.
//
// Casbin form (keyMatch model): domain "<org>/<ns>"; role p rules repeated
// in each of the 5,000 domains; an org-scoped binding becomes 5 g rules (one
// per namespace: Casbin has no scope hierarchy); a namespace-scoped binding
// one g rule; a resource-scoped grant direct p rules for the user on
// "chains/<id>", one per action (for the role: one per pattern that applies
// to chains).
func Orgs(name string, nOrgs int, seed uint64) (*Dataset, error) {
	m, err := loadPolicy(name, OrgsPolicy)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Name: name, PolicySrc: OrgsPolicy, Model: m, CasbinModel: CasbinModelKeyMatch}
	rng := rand.New(rand.NewPCG(seed, 3))
	operator, _ := m.Role("operator")

	bindingID := make([]string, OrgsBindingsPerOrg)
	for k := range bindingID {
		bindingID[k] = "b" + strconv.Itoa(k)
	}
	chainID := make([]string, orgsChainsPerNS)
	for k := range chainID {
		chainID[k] = "c" + strconv.Itoa(k)
	}
	toolID := make([]string, orgsToolsPerNS)
	for k := range toolID {
		toolID[k] = "t" + strconv.Itoa(k)
	}
	orgRole := func(k int) string {
		switch {
		case k < 2:
			return "owner"
		case k < 6:
			return "admin"
		case k < 20:
			return "builder"
		case k < 30:
			return "operator"
		default:
			return "viewer"
		}
	}
	nsRole := func() string {
		switch k := rng.IntN(20); {
		case k < 8:
			return "viewer"
		case k < 14:
			return "operator"
		case k < 19:
			return "builder"
		default:
			return "admin"
		}
	}
	shareActions := [][]string{{"run"}, {"read"}, {"run", "read"}}

	d.Orgs = make([]authz.OrgData, nOrgs)
	for o := range nOrgs {
		org := OrgName(o)
		doms := make([]string, len(OrgsNamespaces))
		for i, ns := range OrgsNamespaces {
			doms[i] = CasbinDomain(org, ns)
			d.CasbinP = casbinRoleRules(m, doms[i], d.CasbinP)
		}
		od := authz.OrgData{Org: org, Policy: m, Namespaces: OrgsNamespaces[1:]}
		users := make([]string, orgsUsers+orgsLurkers)
		od.Principals = make([]authz.Principal, len(users))
		for n := range users {
			users[n] = OrgUser(o, n)
			od.Principals[n] = authz.Principal{ID: users[n]}
		}
		for _, ns := range OrgsNamespaces {
			for _, id := range chainID {
				od.Resources = append(od.Resources, authz.Resource{Namespace: ns, Type: "chains", ID: id})
			}
			for _, id := range toolID {
				od.Resources = append(od.Resources, authz.Resource{Namespace: ns, Type: "tools", ID: id})
			}
		}
		od.Bindings = make([]authz.Binding, OrgsBindingsPerOrg)
		for k := range OrgsBindingsPerOrg {
			b := &od.Bindings[k]
			b.ID = bindingID[k]
			switch {
			case k < orgsOrgScoped:
				b.Principal, b.Role = users[k], orgRole(k)
				for _, dom := range doms {
					d.CasbinG = append(d.CasbinG, []string{b.Principal, casbinRole(b.Role), dom})
				}
			case k < orgsOrgScoped+orgsNSScoped:
				// Users 50..399, twice at most, each time in a different namespace.
				i := k - orgsOrgScoped
				u := orgsOrgScoped + i%(orgsUsers-orgsOrgScoped)
				ns := (i/(orgsUsers-orgsOrgScoped) + u) % len(OrgsNamespaces)
				b.Principal, b.Role = users[u], nsRole()
				b.Scope = authz.Scope{Namespace: OrgsNamespaces[ns]}
				d.CasbinG = append(d.CasbinG, []string{b.Principal, casbinRole(b.Role), doms[ns]})
			default:
				// 100 distinct chains, each shared with 3 distinct users.
				i := k - orgsOrgScoped - orgsNSScoped
				ns := (i / orgsChainsPerNS) % len(OrgsNamespaces)
				id := chainID[i%orgsChainsPerNS]
				b.Principal = users[(k*7)%orgsUsers]
				b.Scope = authz.Scope{Namespace: OrgsNamespaces[ns], Type: "chains", ID: id}
				obj := "chains/" + id
				if rng.IntN(5) == 0 {
					b.Role = operator.Name
					for _, p := range operator.Permissions {
						if p.Resource == "chains" || p.Resource == policy.Wildcard {
							d.CasbinP = append(d.CasbinP, []string{b.Principal, doms[ns], obj, p.Action})
						}
					}
				} else {
					b.Actions = shareActions[rng.IntN(len(shareActions))]
					for _, a := range b.Actions {
						d.CasbinP = append(d.CasbinP, []string{b.Principal, doms[ns], obj, a})
					}
				}
			}
		}
		d.Orgs[o] = od
	}

	o := NewOracle(d)
	d.Requests, err = pickMix(MixSize, 1000*MixSize, o, func() Request {
		org := rng.IntN(nOrgs)
		principal := OrgUser(org, rng.IntN(orgsUsers+orgsLurkers))
		if nOrgs > 1 && rng.IntN(10) == 0 { // a member of another org
			principal = OrgUser((org+1+rng.IntN(nOrgs-1))%nOrgs, rng.IntN(orgsUsers))
		}
		ns := OrgsNamespaces[rng.IntN(len(OrgsNamespaces))]
		typ, id := "chains", chainID[rng.IntN(len(chainID))]
		if rng.IntN(4) == 0 {
			typ, id = "tools", toolID[rng.IntN(len(toolID))]
		}
		return NewRequest(OrgName(org), principal, ns, typ, id, orgsActions[rng.IntN(len(orgsActions))])
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// ---------------------------------------------------------------------------
// lookup: one org, many resources, a principal that can reach a slice.

// Lookup shape: LookupReader holds viewer on namespace LookupNamespace, the
// only namespace whose chains it can read.
const (
	LookupOrg       = "lookup"
	LookupReader    = "user:reader"
	LookupNamespace = "ns042"
)

// LookupDataset generates one org with namespaces × perNS chains (10k_of_1m
// is 100 × 10,000). LookupReader is bound to viewer (`*:read`) on
// LookupNamespace, so it may read exactly perNS chains; 1,000 other users
// hold namespace-scoped roles elsewhere as noise. Gatehouse only (Casbin has
// no lookup over resources it does not store).
func LookupDataset(name string, namespaces, perNS int, seed uint64) (*Dataset, error) {
	if namespaces <= 42 || perNS < 1 {
		return nil, fmt.Errorf("bench: lookup needs more than 42 namespaces (the reader's is %s) and at least one resource each", LookupNamespace)
	}
	m, err := loadPolicy(name, OrgsPolicy)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	od := authz.OrgData{Org: LookupOrg, Policy: m}
	ids := make([]string, perNS)
	for k := range ids {
		ids[k] = fmt.Sprintf("c%07d", k)
	}
	nsName := func(i int) string { return fmt.Sprintf("ns%03d", i) }
	od.Resources = make([]authz.Resource, 0, namespaces*perNS)
	for i := range namespaces {
		ns := nsName(i)
		od.Namespaces = append(od.Namespaces, ns)
		for _, id := range ids {
			od.Resources = append(od.Resources, authz.Resource{Namespace: ns, Type: "chains", ID: id})
		}
	}
	od.Principals = append(od.Principals, authz.Principal{ID: LookupReader})
	od.Bindings = append(od.Bindings, authz.Binding{
		ID: "reader", Principal: LookupReader, Role: "viewer", Scope: authz.Scope{Namespace: LookupNamespace},
	})
	roles := []string{"viewer", "operator", "builder"}
	for j := range 1000 {
		u := "user:n" + strconv.Itoa(j)
		od.Principals = append(od.Principals, authz.Principal{ID: u})
		ns := nsName(rng.IntN(namespaces))
		if ns == LookupNamespace {
			ns = nsName((rng.IntN(namespaces-1) + 1 + 42) % namespaces)
		}
		od.Bindings = append(od.Bindings, authz.Binding{
			ID: "n" + strconv.Itoa(j), Principal: u, Role: roles[rng.IntN(len(roles))],
			Scope: authz.Scope{Namespace: ns},
		})
	}
	return &Dataset{Name: name, PolicySrc: OrgsPolicy, Model: m, Orgs: []authz.OrgData{od}}, nil
}
