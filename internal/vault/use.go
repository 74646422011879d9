package vault

import (
	"context"
	"fmt"
)

// OpenForUse returns the current value of secret name of org's namespace
// ns for the server's own use on a caller's behalf: use without reveal
// (DESIGN §1.4), e.g. a credential the MCP import and gateway add to an
// upstream request. It authorizes nothing and audits nothing: its caller
// must have authorized the use (the spec that references the secret was
// accepted from the same actor, which vets secrets:list and referable_by)
// and must keep the value inside the process: never answer, log or audit
// it, and clear it after use. A missing secret is ErrNotFound; an expired
// one ErrConflict (an expired credential is not used).
func (v *Vault) OpenForUse(ctx context.Context, org, ns, name string) ([]byte, error) {
	const op = "use secret"
	found, err := v.st.GetSealedSecrets(ctx, org, ns, []string{name})
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", op, err)
	}
	if len(found) == 0 {
		return nil, errorf(ErrNotFound, op, "secret %q in namespace %q does not exist", name, ns)
	}
	s := found[0]
	if !s.Secret.ExpiresAt.IsZero() && !v.now().Before(s.Secret.ExpiresAt) {
		return nil, errorf(ErrConflict, op, "secret %q in namespace %q has expired; rotate it or change its expiry", name, ns)
	}
	cur := s.Current
	value, err := v.keys.open(Row{Org: org, Namespace: cur.Namespace, Name: cur.Name, Version: cur.Version},
		Sealed{KeyID: cur.KeyID, WrappedKey: cur.WrappedKey, Ciphertext: cur.Ciphertext})
	if err != nil {
		return nil, &Error{Pkg: pkg, Op: op, Msg: fmt.Sprintf("secret %q in namespace %q", name, ns), Kind: kindOf(err), Cause: err}
	}
	return value, nil
}
