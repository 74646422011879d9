package directory

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// GrantableRoles lists the roles of the org's policy the actor may hand
// out at org scope under DESIGN §1.2 (the very rule a binding, a role
// change or an invitation is checked with): what a form may offer. It
// needs members:create or bindings:create (someone who may grant
// something); anyone else gets an empty list, not an error.
func (d *Directory) GrantableRoles(ctx context.Context, actor Actor, org string) ([]RoleInfo, error) {
	var out []RoleInfo
	err := d.read(ctx, "list grantable roles", org, actor, func(o *op) error {
		if o.need("members:create", authz.Scope{}) != nil && o.need("bindings:create", authz.Scope{}) != nil {
			return nil
		}
		name, err := o.template()
		if err != nil {
			return err
		}
		tmpl := templateRoleNames(name)
		for _, r := range o.pol().Roles {
			if o.mayChange(roleGrant(r), authz.Scope{}, "") == nil {
				out = append(out, roleInfo(r, tmpl))
			}
		}
		return nil
	})
	return out, err
}

// ReplacePolicyAt is ReplacePolicy on the condition that the org's
// policy is still at version (the one the editor started from): someone
// else's save in between is ErrConflict, and nothing is written.
func (d *Directory) ReplacePolicyAt(ctx context.Context, actor Actor, org, text string, force bool, version uint64) (uint64, error) {
	if len(text) > store.MaxPolicyBytes {
		return 0, invalid("policy", "larger than %d bytes", store.MaxPolicyBytes)
	}
	return d.write(ctx, "replace policy", org, actor, func(o *op) error {
		if err := o.need("policy:update", authz.Scope{}); err != nil {
			return err
		}
		cur, err := o.r.GetPolicy(o.ctx, org)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return errorf(ErrConflict, o.name, "the policy was changed by %s (version %d) after you opened version %d; reload to see it and apply your edit again", cur.Author, cur.Version, version)
		}
		return o.changePolicy(text, force)
	})
}
