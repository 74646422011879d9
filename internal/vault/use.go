package vault

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// OpenForUse returns the current value of secret name of ref's namespace
// for the server's own use on actor's behalf in a request about ref (use
// without reveal, DESIGN §1.4): the credential the MCP import sends to an
// upstream before the spec naming it is stored (Inject is the gateway's,
// for a stored spec). It authorizes nothing: its caller must have
// authorized the use (the import first has the directory accept, as a
// dry run, the spec referencing the secret from the same actor, which
// vets secrets:list and referable_by) and must keep the value inside the
// process: never answer, log or audit it, and clear it after use. Every
// use is an audit entry (secrets.inject, purpose "mcp import") naming ref,
// the secret and its version, never the value. A missing secret is
// ErrNotFound; an expired one ErrConflict (an expired credential is not
// used).
func (v *Vault) OpenForUse(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, name string) ([]byte, error) {
	var out []byte
	_, err := v.write(ctx, "use secret", "secrets.inject", org, actor, func(o *op) error {
		o.target = store.RefKey(ref)
		if err := checkNamespace(ref.Namespace); err != nil {
			return err
		}
		found, err := o.tx.GetSealedSecrets(ctx, org, ref.Namespace, []string{name})
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return errorf(ErrNotFound, o.name, "secret %q in namespace %q does not exist", name, ref.Namespace)
		}
		s := found[0]
		if !s.Secret.ExpiresAt.IsZero() && !v.now().Before(s.Secret.ExpiresAt) {
			return errorf(ErrConflict, o.name, "secret %q in namespace %q has expired; rotate it or change its expiry", name, ref.Namespace)
		}
		out, err = v.release(ctx, o, org, s, map[string]any{"purpose": "mcp import"})
		return err
	})
	if err != nil {
		clear(out)
		return nil, err
	}
	return out, nil
}
