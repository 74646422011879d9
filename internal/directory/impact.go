package directory

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Impact is an impact analysis (docs/impact.md) made against the org as of
// Revision.
type Impact struct {
	authz.Impact
	Revision uint64
}

// PolicyImpact answers "if the org's policy became text, who would gain
// or lose what, where?" without storing anything. It reveals every
// binding's effect, so it needs policy:read and bindings:read at org
// scope; a non-member gets ErrNotFound as for any org it cannot see. A
// text that does not compile is a *PolicyError (422, positioned).
func (d *Directory) PolicyImpact(ctx context.Context, actor Actor, org, text string) (Impact, error) {
	if len(text) > store.MaxPolicyBytes {
		return Impact{}, invalid("policy", "larger than %d bytes", store.MaxPolicyBytes)
	}
	var out Impact
	err := d.read(ctx, "policy impact", org, actor, func(o *op) error {
		snap, err := o.impactSnapshot("policy:read", "bindings:read")
		if err != nil {
			return err
		}
		next, diags := d.comp.load(text)
		if next == nil {
			return &PolicyError{Diagnostics: diags}
		}
		data := snap.OrgData(d.snapshotModel(snap))
		imp, err := authz.PolicyImpact(&data, next)
		out = Impact{Impact: imp, Revision: snap.Revision}
		return err
	})
	return out, err
}

// BindingImpact answers "if this binding were created, who would gain
// what, where?" (`gatehouse bind --dry-run`) without creating it. Needs
// bindings:read at org scope (the answer depends on every binding of the
// principal and its teams); the spec is validated as CreateBinding
// validates it (the escalation rules are CreateBinding's, not checked
// here: a dry run reports the effect, not whether the actor may cause it).
func (d *Directory) BindingImpact(ctx context.Context, actor Actor, org string, spec BindingSpec) (Impact, error) {
	if err := checkPrincipal("principal", spec.Principal, true); err != nil {
		return Impact{}, err
	}
	if err := checkScope(spec.Scope); err != nil {
		return Impact{}, err
	}
	if spec.Condition != "" {
		if err := checkName("condition", spec.Condition); err != nil {
			return Impact{}, err
		}
	}
	var out Impact
	err := d.read(ctx, "binding impact", org, actor, func(o *op) error {
		snap, err := o.impactSnapshot("bindings:read")
		if err != nil {
			return err
		}
		m := d.snapshotModel(snap)
		if _, ok := m.Role(spec.Role); !ok {
			return invalid("role", "the org's policy has no role %q", spec.Role)
		}
		if err := checkBindingCondition(m, spec.Condition); err != nil {
			return err
		}
		data := snap.OrgData(m)
		b := authz.Binding{ID: "dry-run", Principal: spec.Principal, Role: spec.Role, Scope: spec.Scope, Condition: spec.Condition}
		imp, err := authz.BindingImpact(&data, []authz.Binding{b}, nil)
		out = Impact{Impact: imp, Revision: snap.Revision}
		return err
	})
	return out, err
}

// impactSnapshot authorizes an impact analysis (perms at org scope) and
// reads the org whole.
func (o *op) impactSnapshot(perms ...string) (*store.OrgSnapshot, error) {
	for _, p := range perms {
		if err := o.need(p, authz.Scope{}); err != nil {
			return nil, err
		}
	}
	return o.d.st.LoadOrg(o.ctx, o.org)
}

// snapshotModel is the policy the engine has for a snapshot.
func (d *Directory) snapshotModel(snap *store.OrgSnapshot) *policy.Model {
	if snap.Policy.Version == 0 {
		return denyAll
	}
	return d.comp.engineModel(snap.Policy.Text)
}
