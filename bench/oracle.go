package bench

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Oracle is a deliberately naive reference evaluator of DESIGN §1.1 for the
// subset of the model the datasets use: users, roles (with wildcards and
// inheritance, via policy.Role.Grants), action-list shares, and org-,
// namespace- and resource-scoped bindings. It labels the request mixes and
// is what both engines are checked against.
//
// It is complete only for that subset: a conditional binding never grants
// (a condition needs context the datasets do not send), teams and agents
// are not expanded, and a principal not listed in the org denies. Each org
// is indexed on first use; an Oracle is not safe for concurrent use.
type Oracle struct {
	orgs    map[string]*authz.OrgData
	indexed map[string]*oracleOrg
}

type oracleOrg struct {
	members    map[string]bool
	byIdentity map[string][]*authz.Binding
}

// NewOracle returns the reference evaluator over d's orgs.
func NewOracle(d *Dataset) *Oracle {
	o := &Oracle{orgs: map[string]*authz.OrgData{}, indexed: map[string]*oracleOrg{}}
	for i := range d.Orgs {
		o.orgs[d.Orgs[i].Org] = &d.Orgs[i]
	}
	return o
}

func (o *Oracle) org(name string) *oracleOrg {
	if x, ok := o.indexed[name]; ok {
		return x
	}
	d, ok := o.orgs[name]
	if !ok {
		return nil
	}
	x := &oracleOrg{members: map[string]bool{}, byIdentity: map[string][]*authz.Binding{}}
	for _, p := range d.Principals {
		x.members[p.ID] = true
	}
	for i := range d.Bindings {
		b := &d.Bindings[i]
		x.byIdentity[b.Principal] = append(x.byIdentity[b.Principal], b)
	}
	o.indexed[name] = x
	return x
}

// Allowed reports whether some binding of the principal whose scope contains
// the resource grants type:action.
func (o *Oracle) Allowed(r *authz.Request) bool {
	x := o.org(r.Org)
	if x == nil || !x.members[r.Principal] {
		return false
	}
	m := o.orgs[r.Org].Policy
	ns := r.Namespace
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	for _, b := range x.byIdentity[r.Principal] {
		if b.Condition != "" || !scopeContains(b.Scope, ns, r.ResourceType, r.ResourceID) {
			continue
		}
		if grants(m, b, r.ResourceType, r.Action) {
			return true
		}
	}
	return false
}

// scopeContains: the org contains everything, a namespace its resources, a
// resource itself.
func scopeContains(s authz.Scope, ns, typ, id string) bool {
	switch {
	case s.IsOrg():
		return true
	case !s.IsResource():
		return s.Namespace == ns
	default:
		return s.Namespace == ns && s.Type == typ && s.ID == id
	}
}

func grants(m *policy.Model, b *authz.Binding, typ, action string) bool {
	if b.Role != "" {
		role, ok := m.Role(b.Role)
		return ok && role.Grants(typ, action)
	}
	return b.Scope.Type == typ && (slices.Contains(b.Actions, action) || slices.Contains(b.Actions, policy.Wildcard))
}
