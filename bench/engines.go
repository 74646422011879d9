package bench

import (
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/gatehouse-dev/gatehouse/authz"
)

// BuildGatehouse returns a new engine holding every org, org i loaded with
// LoadOrg at revision i+1 — the cold start of a server from its store.
func BuildGatehouse(orgs []authz.OrgData) (*authz.Engine, error) {
	e := authz.New()
	for i := range orgs {
		if err := e.LoadOrg(uint64(i+1), orgs[i]); err != nil {
			return nil, fmt.Errorf("gatehouse: LoadOrg %s: %w", orgs[i].Org, err)
		}
	}
	return e, nil
}

// BuildCasbin returns an enforcer of d's Casbin model holding d's p and g
// rules, added with Casbin's bulk management API (AddPolicies,
// AddGroupingPolicies), as Casbin's own benchmarks do. There is no adapter:
// nothing is persisted.
func BuildCasbin(d *Dataset) (*casbin.Enforcer, error) {
	if d.CasbinModel == "" {
		return nil, fmt.Errorf("casbin: dataset %s has no Casbin form", d.Name)
	}
	m, err := model.NewModelFromString(d.CasbinModel)
	if err != nil {
		return nil, fmt.Errorf("casbin: model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("casbin: enforcer: %w", err)
	}
	if len(d.CasbinP) > 0 {
		if ok, err := e.AddPolicies(d.CasbinP); err != nil || !ok {
			return nil, fmt.Errorf("casbin: AddPolicies(%d rules) = %v, %v", len(d.CasbinP), ok, err)
		}
	}
	if len(d.CasbinG) > 0 {
		if ok, err := e.AddGroupingPolicies(d.CasbinG); err != nil || !ok {
			return nil, fmt.Errorf("casbin: AddGroupingPolicies(%d rules) = %v, %v", len(d.CasbinG), ok, err)
		}
	}
	return e, nil
}

// CasbinPerTenant is Casbin's best practice for multi-tenant data: one
// enforcer per domain (here a Gatehouse namespace of an org), each holding
// only its domain's p and g rules, and a request routed to its domain's
// enforcer. With the model's `r.dom == p.dom` and domain-scoped g rules
// this answers exactly as one enforcer holding every rule, without
// scanning the other domains' rules.
type CasbinPerTenant struct {
	byDomain map[string]*casbin.Enforcer
}

// Enforce routes the request (sub, dom, obj, act) to dom's enforcer; a
// domain with no rules denies.
func (c *CasbinPerTenant) Enforce(rvals ...any) (bool, error) {
	dom, _ := rvals[1].(string)
	e := c.byDomain[dom]
	if e == nil {
		return false, nil
	}
	return e.Enforce(rvals...)
}

// Domains is how many enforcers c holds.
func (c *CasbinPerTenant) Domains() int { return len(c.byDomain) }

// BuildCasbinPerTenant builds one enforcer of d's Casbin model per domain
// of d's rules, with Casbin's bulk management API as BuildCasbin does.
func BuildCasbinPerTenant(d *Dataset) (*CasbinPerTenant, error) {
	if d.CasbinModel == "" {
		return nil, fmt.Errorf("casbin: dataset %s has no Casbin form", d.Name)
	}
	p := map[string][][]string{}
	for _, r := range d.CasbinP {
		p[r[1]] = append(p[r[1]], r)
	}
	g := map[string][][]string{}
	for _, r := range d.CasbinG {
		g[r[2]] = append(g[r[2]], r)
	}
	c := &CasbinPerTenant{byDomain: map[string]*casbin.Enforcer{}}
	for dom := range p {
		m, err := model.NewModelFromString(d.CasbinModel)
		if err != nil {
			return nil, fmt.Errorf("casbin: model: %w", err)
		}
		e, err := casbin.NewEnforcer(m)
		if err != nil {
			return nil, fmt.Errorf("casbin: enforcer: %w", err)
		}
		if ok, err := e.AddPolicies(p[dom]); err != nil || !ok {
			return nil, fmt.Errorf("casbin: %s: AddPolicies(%d rules) = %v, %v", dom, len(p[dom]), ok, err)
		}
		if len(g[dom]) > 0 {
			if ok, err := e.AddGroupingPolicies(g[dom]); err != nil || !ok {
				return nil, fmt.Errorf("casbin: %s: AddGroupingPolicies(%d rules) = %v, %v", dom, len(g[dom]), ok, err)
			}
		}
		c.byDomain[dom] = e
	}
	return c, nil
}

// VerifyCasbinPerTenant is VerifyCasbin for the per-tenant enforcers.
func VerifyCasbinPerTenant(c *CasbinPerTenant, reqs []Request) error {
	return verify("casbin-per-tenant", reqs, func(r *Request) (bool, error) {
		return c.Enforce(r.Casbin...)
	})
}

// VerifyGatehouse checks the engine's answer to every request against the
// reference label. The error lists up to five mismatches and wraps
// ErrDisagree.
func VerifyGatehouse(e *authz.Engine, reqs []Request) error {
	return verify("gatehouse", reqs, func(r *Request) (bool, error) {
		return e.Check(&r.Gatehouse).Allowed, nil
	})
}

// VerifyCasbin is VerifyGatehouse for Casbin; an Enforce error counts as a
// mismatch.
func VerifyCasbin(e *casbin.Enforcer, reqs []Request) error {
	return verify("casbin", reqs, func(r *Request) (bool, error) {
		return e.Enforce(r.Casbin...)
	})
}

func verify(engine string, reqs []Request, decide func(*Request) (bool, error)) error {
	var bad []string
	n := 0
	for i := range reqs {
		r := &reqs[i]
		got, err := decide(r)
		if err == nil && got == r.Want {
			continue
		}
		n++
		if len(bad) < 5 {
			g := r.Gatehouse
			msg := fmt.Sprintf("#%d %s %s %s/%s/%s %s: got %v, want %v", i, g.Org, g.Principal, g.Namespace, g.ResourceType, g.ResourceID, g.Action, got, r.Want)
			if err != nil {
				msg += " (error: " + err.Error() + ")"
			}
			bad = append(bad, msg)
		}
	}
	if n > 0 {
		return fmt.Errorf("%w: %s differs from the reference on %d of %d requests: %s", ErrDisagree, engine, n, len(reqs), strings.Join(bad, "; "))
	}
	return nil
}
