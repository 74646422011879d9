package vault

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Injection: use without reveal for the MCP gateway (DESIGN §9). An MCP
// server is a resource (mcp_servers/<name>) whose spec references, under
// its top-level "secrets", the secret holding the upstream credential.
// The gateway (the server itself, for a caller it has authenticated)
// opens that secret to put it in the upstream requests; the value never
// leaves the server process, and the caller never sees it.

// Injected is a secret value released for injection. String and GoString
// never print the value.
type Injected struct {
	Name    string
	Version uint64
	Value   string
}

func (i Injected) String() string {
	return fmt.Sprintf("secret %s version %d for injection (value hidden)", i.Name, i.Version)
}

// GoString is String.
func (i Injected) GoString() string { return i.String() }

// Inject releases, for injection into upstream requests made for actor,
// the current value of secret name referenced by the resource ref's spec.
// The rules are the run token's: the actor must be a member of the org
// (ErrNotFound otherwise), the resource must exist (ErrNotFound), its
// current spec must reference the secret (ErrForbidden), and the secret
// must exist in the resource's namespace, not be expired, and admit the
// spec's author under its reference restriction (ErrConflict). Every
// release is an audit entry (secrets.inject) naming the resource, the
// secret and its version, never the value.
func (v *Vault) Inject(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, name string) (Injected, error) {
	var out Injected
	_, err := v.write(ctx, "inject secret", "secrets.inject", org, actor, func(o *op) error {
		o.target = store.RefKey(ref)
		if err := checkNamespace(ref.Namespace); err != nil {
			return err
		}
		res, err := o.tx.GetResource(ctx, org, ref)
		if err != nil {
			return err
		}
		names, err := SpecSecrets(res.Spec)
		if err != nil {
			return err
		}
		if !slices.Contains(names, name) {
			return errorf(ErrForbidden, o.name, "%s version %d does not reference the secret it names for its credential", store.RefKey(ref), res.Version)
		}
		found, err := o.tx.GetSealedSecrets(ctx, org, ref.Namespace, []string{name})
		if err != nil {
			return err
		}
		now := v.now()
		if len(found) != 1 || (!found[0].Secret.ExpiresAt.IsZero() && !now.Before(found[0].Secret.ExpiresAt)) {
			return errorf(ErrConflict, o.name, "%s version %d: its credential secret does not exist in namespace %q or has expired", store.RefKey(ref), res.Version, ref.Namespace)
		}
		ok, err := secretref.Admits(ctx, o.tx, found[0].Secret, res.UpdatedBy)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(ErrConflict, o.name, "%s version %d: its credential secret may not be referenced by its author %s", store.RefKey(ref), res.Version, res.UpdatedBy)
		}
		value, err := v.release(ctx, o, org, found[0], map[string]any{"resource_version": res.Version})
		if err != nil {
			return err
		}
		out = Injected{Name: found[0].Current.Name, Version: found[0].Current.Version, Value: string(value)}
		clear(value)
		return nil
	})
	if err != nil {
		return Injected{}, err
	}
	return out, nil
}

// release opens the current version of secret s for use without reveal
// inside operation o (of org), marks the secret used, and records the
// operation's audit entry: details plus the secret's name and version,
// never the value. The caller clears the value after use.
func (v *Vault) release(ctx context.Context, o *op, org string, s store.SealedSecret, details map[string]any) ([]byte, error) {
	cur := s.Current
	value, err := v.keys.open(Row{Org: org, Namespace: cur.Namespace, Name: cur.Name, Version: cur.Version},
		Sealed{KeyID: cur.KeyID, WrappedKey: cur.WrappedKey, Ciphertext: cur.Ciphertext})
	if err != nil {
		return nil, &Error{Pkg: pkg, Op: o.name, Msg: fmt.Sprintf("version %d of secret %q in namespace %q", cur.Version, cur.Name, cur.Namespace), Kind: kindOf(err), Cause: err}
	}
	if err := o.tx.TouchSecrets(ctx, org, cur.Namespace, []string{cur.Name}); err != nil {
		clear(value)
		return nil, err
	}
	details["secrets"] = []map[string]any{{"name": cur.Name, "version": cur.Version}}
	if err := o.record(o.target, nil, nil, details); err != nil {
		clear(value)
		return nil, err
	}
	return value, nil
}
