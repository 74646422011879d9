package authz

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/policy"
)

// cpolicy is a policy.Model compiled for fast matching: every resource type
// and action that a role pattern or an agent's conditional permission names
// is interned to a small int, and each role becomes a crole.
//
// A type or action the policy never names interns to -1; it can still be
// matched by wildcards (`*:*`, `*:a`, `t:*`) and by nothing else, which is
// exactly policy.Permission.Matches.
type cpolicy struct {
	// none marks an org without a policy: it denies everything.
	none bool
	// hasAsk: some role or agent has an `ask before` rule (asks.go).
	hasAsk  bool
	m       *policy.Model // never nil (an org without a policy gets an empty model)
	types   map[string]int32
	actions map[string]int32
	roles   map[string]int32 // role name → index in role
	role    []crole
	agents  map[string]*cagent
	// typesFast and actionsFast are types and actions again, inline, for
	// the check's cold path (issue 19): a map lookup reads the map's
	// header, then its group, then the key's bytes, each a cache miss
	// waiting for the one before; these are read at once.
	typesFast, actionsFast nameTable
}

// nameTable is a string → id table of up to nameFastMax names of up to
// nameFastLen bytes, inline; ok is false when the names did not fit (then
// the map is asked).
type nameTable struct {
	e  [nameFastMax]nameEntry
	n  uint8
	ok bool
}

type nameEntry struct {
	name [nameFastLen]byte
	n    uint8
	id   int32
}

const (
	nameFastMax = 16
	nameFastLen = 16
)

func newNameTable(m map[string]int32) nameTable {
	var t nameTable
	if len(m) > nameFastMax {
		return t
	}
	for name, id := range m {
		if len(name) > nameFastLen {
			return nameTable{}
		}
		e := &t.e[t.n]
		copy(e.name[:], name)
		e.n, e.id = uint8(len(name)), id
		t.n++
	}
	t.ok = true
	return t
}

// get returns the id of name (t.ok), -1 if t has no such name.
func (t *nameTable) get(name string) int32 {
	if len(name) > nameFastLen {
		return -1
	}
	for i := range t.e[:t.n] {
		e := &t.e[i]
		if int(e.n) == len(name) && string(e.name[:e.n]) == name {
			return e.id
		}
	}
	return -1
}

// crole is a role's flattened permissions in matching form.
type crole struct {
	r       *policy.Role
	all     bool     // *:*
	types   []int32  // t:* (sorted)
	actions []int32  // *:a (sorted)
	pairs   []uint64 // t:a as t<<32|a (sorted)
	// inline holds pairs when there are at most len(inline) of them (most
	// roles), so matching reads no other memory; npairs says how many.
	inline [3]uint64
	npairs uint8
	// anc lists, sorted, the role itself and every role it inherits from,
	// transitively (indexes in cpolicy.role): a principal bound to this
	// role holds each of them for role shares ("role:<name>").
	anc []int32
}

// holdsRole reports whether a binding of this role makes its holder hold
// role ri (the role itself or one it inherits).
func (r *crole) holdsRole(ri int32) bool {
	_, ok := slices.BinarySearch(r.anc, ri)
	return ok
}

// cagent is a policy-declared agent.
type cagent struct {
	a       *policy.Agent
	ceiling int32 // index of the ceiling role, -1 if the policy lacks it
	// cond lists the agent's conditional permissions on concrete types and
	// actions (a conditional permission with a wildcard can never equal a
	// request and is dropped).
	cond []ccond
	// obligations / advice when every rule is unconditional: returned
	// as is (capacity-capped so appends copy). nil when some rule has a
	// condition (then they are evaluated per decision).
	staticOblig, staticAdvice []*policy.Rule
	hasCondRules              bool
}

type ccond struct {
	t, a  int32
	conds []string
}

func pair(t, a int32) uint64 { return uint64(uint32(t))<<32 | uint64(uint32(a)) }

// ancestors is role i and every role it inherits from, transitively,
// sorted. Parents the policy lacks are skipped; cycles (which the compiler
// rejects) end the walk.
func (c *cpolicy) ancestors(i int32) []int32 {
	out := []int32{i}
	for k := 0; k < len(out); k++ {
		for _, name := range c.role[out[k]].r.Parents {
			if j, ok := c.roles[name]; ok && !slices.Contains(out, j) {
				out = append(out, j)
			}
		}
	}
	slices.Sort(out)
	return out
}

// compilePolicy compiles m (nil means an empty policy).
func compilePolicy(m *policy.Model) *cpolicy {
	none := m == nil
	if none {
		m = &policy.Model{}
	}
	c := &cpolicy{
		none:    none,
		hasAsk:  m.HasAsks(),
		m:       m,
		types:   map[string]int32{},
		actions: map[string]int32{},
		roles:   make(map[string]int32, len(m.Roles)),
		role:    make([]crole, 0, len(m.Roles)),
		agents:  make(map[string]*cagent, len(m.Agents)),
	}
	for _, r := range m.Roles {
		if r == nil {
			continue
		}
		if _, dup := c.roles[r.Name]; dup {
			continue // the compiler guarantees unique names; be safe
		}
		cr := crole{r: r}
		for _, p := range r.Permissions {
			switch {
			case p.Resource == policy.Wildcard && p.Action == policy.Wildcard:
				cr.all = true
			case p.Resource == policy.Wildcard:
				cr.actions = append(cr.actions, intern(c.actions, p.Action))
			case p.Action == policy.Wildcard:
				cr.types = append(cr.types, intern(c.types, p.Resource))
			default:
				cr.pairs = append(cr.pairs, pair(intern(c.types, p.Resource), intern(c.actions, p.Action)))
			}
		}
		slices.Sort(cr.types)
		cr.types = slices.Compact(cr.types)
		slices.Sort(cr.actions)
		cr.actions = slices.Compact(cr.actions)
		slices.Sort(cr.pairs)
		cr.pairs = slices.Compact(cr.pairs)
		if len(cr.pairs) <= len(cr.inline) {
			cr.npairs = uint8(copy(cr.inline[:], cr.pairs))
			cr.pairs = nil
		}
		c.roles[r.Name] = int32(len(c.role))
		c.role = append(c.role, cr)
	}
	for i := range c.role {
		c.role[i].anc = c.ancestors(int32(i))
	}
	for _, a := range m.Agents {
		if a == nil {
			continue
		}
		ca := &cagent{a: a, ceiling: -1}
		if i, ok := c.roles[a.Role]; ok {
			ca.ceiling = i
		}
		for _, cp := range a.Conditional {
			if cp.Permission.IsWildcard() {
				continue
			}
			ca.cond = append(ca.cond, ccond{
				t:     intern(c.types, cp.Permission.Resource),
				a:     intern(c.actions, cp.Permission.Action),
				conds: cp.Conditions,
			})
		}
		for _, r := range a.Obligations {
			if r != nil && r.Condition != "" {
				ca.hasCondRules = true
			}
		}
		for _, r := range a.Advice {
			if r != nil && r.Condition != "" {
				ca.hasCondRules = true
			}
		}
		if !ca.hasCondRules {
			ca.staticOblig = nonNilRules(a.Obligations)
			ca.staticAdvice = nonNilRules(a.Advice)
		}
		c.agents[a.Name] = ca
	}
	c.typesFast, c.actionsFast = newNameTable(c.types), newNameTable(c.actions)
	return c
}

func nonNilRules(rs []*policy.Rule) []*policy.Rule {
	var out []*policy.Rule
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out[:len(out):len(out)]
}

func intern(m map[string]int32, s string) int32 {
	if i, ok := m[s]; ok {
		return i
	}
	i := int32(len(m))
	m[s] = i
	return i
}

// typeID and actionID intern request strings; -1 when the policy never
// names them.
func (c *cpolicy) typeID(s string) int32 {
	if c.typesFast.ok {
		return c.typesFast.get(s)
	}
	if i, ok := c.types[s]; ok {
		return i
	}
	return -1
}

func (c *cpolicy) actionID(s string) int32 {
	if c.actionsFast.ok {
		return c.actionsFast.get(s)
	}
	if i, ok := c.actions[s]; ok {
		return i
	}
	return -1
}

// roleIdx returns the index of the named role, -1 if the policy lacks it.
func (c *cpolicy) roleIdx(name string) int32 {
	if i, ok := c.roles[name]; ok {
		return i
	}
	return -1
}

// grants is policy.Role.Grants on interned ids.
func (r *crole) grants(t, a int32) bool {
	if r.all {
		return true
	}
	if t >= 0 && hasInt32(r.types, t) {
		return true
	}
	if a >= 0 && hasInt32(r.actions, a) {
		return true
	}
	if t < 0 || a < 0 {
		return false
	}
	if r.npairs > 0 {
		p := pair(t, a)
		for _, x := range r.inline[:r.npairs] {
			if x == p {
				return true
			}
		}
		return false
	}
	if len(r.pairs) > 0 {
		_, ok := slices.BinarySearch(r.pairs, pair(t, a))
		return ok
	}
	return false
}

// grantsType reports whether the role has any pattern on resource type t
// (including wildcards); used by explanations ("has chains but not run").
func (r *crole) grantsType(t int32) bool {
	if r.all || len(r.actions) > 0 {
		return true
	}
	if t < 0 {
		return false
	}
	if hasInt32(r.types, t) {
		return true
	}
	for _, p := range r.inline[:r.npairs] {
		if int32(p>>32) == t {
			return true
		}
	}
	for _, p := range r.pairs {
		if int32(p>>32) == t {
			return true
		}
	}
	return false
}

func hasInt32(s []int32, v int32) bool {
	if len(s) < 8 {
		for _, x := range s {
			if x == v {
				return true
			}
		}
		return false
	}
	_, ok := slices.BinarySearch(s, v)
	return ok
}

// conditional returns the conditions of the agent's conditional permission
// for exactly (t, a); ok is false when there is none. (With ok true and no
// conditions, nothing can hold: the permission is unusable.)
func (a *cagent) conditional(t, at int32) (conds []string, ok bool) {
	if a == nil || t < 0 || at < 0 {
		return nil, false
	}
	for i := range a.cond {
		if a.cond[i].t == t && a.cond[i].a == at {
			return a.cond[i].conds, true
		}
	}
	return nil, false
}
