package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// CheckName validates a secret name (secretref.CheckName): an
// environment variable name, [A-Z_][A-Z0-9_]*, at most 128 bytes.
// ErrInvalid otherwise.
func CheckName(name string) error {
	var ie *secretref.InvalidError
	if err := secretref.CheckName(name); errors.As(err, &ie) {
		return &Error{Pkg: pkg, Op: "check name", Msg: ie.Reason, Kind: ErrInvalid, Field: "name"}
	}
	return nil
}

func checkNamespace(ns string) error {
	if !ident.IsSlug(ns) {
		return &Error{Pkg: pkg, Op: "check namespace", Msg: fmt.Sprintf("namespace %.64q is not a namespace name", ns), Kind: ErrInvalid, Field: "namespace"}
	}
	return nil
}

// CheckValue validates a secret value: UTF-8 text without NUL (it becomes
// an environment variable), at most MaxValueBytes. The message never
// quotes the value.
func CheckValue(value []byte) error {
	switch {
	case len(value) > MaxValueBytes:
		return &Error{Pkg: pkg, Op: "check value", Msg: fmt.Sprintf("the value is larger than %d bytes", MaxValueBytes), Kind: ErrInvalid, Field: "value"}
	case !utf8.Valid(value):
		return &Error{Pkg: pkg, Op: "check value", Msg: "the value is not UTF-8 text", Kind: ErrInvalid, Field: "value"}
	case bytes.IndexByte(value, 0) >= 0:
		return &Error{Pkg: pkg, Op: "check value", Msg: "the value contains a NUL byte (it could not be an environment variable)", Kind: ErrInvalid, Field: "value"}
	}
	return nil
}

// Meta is a secret's editable metadata.
type Meta struct {
	Description string
	ExpiresAt   time.Time // zero: never
	// ReferableBy restricts who may reference the secret from a resource
	// spec ("user:bob", "team:builders", "role:builder"); empty: anyone
	// holding secrets:list in the namespace.
	ReferableBy []string
}

func (v *Vault) checkExpiry(op string, t time.Time) error {
	if !t.IsZero() && !t.After(v.now()) {
		return &Error{Pkg: pkg, Op: op, Msg: "expires_at is in the past", Kind: ErrInvalid, Field: "expires_at"}
	}
	return nil
}

// List lists the secrets' metadata (never values) of namespace ns, or of
// every namespace where the actor holds secrets:list when ns is "". In one
// namespace it needs secrets:list there (ErrForbidden). A page may hold
// fewer rows than asked while more follow.
func (v *Vault) List(ctx context.Context, actor Actor, org, ns string, p store.Page) ([]store.Secret, string, error) {
	var out []store.Secret
	var next string
	err := v.read(ctx, "list secrets", org, actor, func(o *op) error {
		if ns != "" {
			if err := checkNamespace(ns); err != nil {
				return err
			}
			if _, err := o.r.GetNamespace(ctx, org, ns); err != nil {
				return err
			}
			if err := o.need(ns, permList); err != nil {
				return err
			}
		}
		ss, n, err := o.r.ListSecrets(ctx, org, store.SecretFilter{Namespace: ns}, p)
		if err != nil {
			return err
		}
		next = n
		for _, s := range ss {
			if ns != "" || o.mayList(s.Namespace) {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, next, err
}

// Get returns a secret's metadata. Needs secrets:list (ErrNotFound
// without it).
func (v *Vault) Get(ctx context.Context, actor Actor, org, ns, name string) (store.Secret, error) {
	var out store.Secret
	err := v.read(ctx, "get secret", org, actor, func(o *op) error {
		var err error
		out, err = o.visible(ns, name)
		return err
	})
	return out, err
}

// History lists a secret's versions (metadata: number, master key id,
// author, time), newest first. Needs secrets:list.
func (v *Vault) History(ctx context.Context, actor Actor, org, ns, name string, p store.Page) ([]store.SecretVersion, string, error) {
	var out []store.SecretVersion
	var next string
	err := v.read(ctx, "list secret versions", org, actor, func(o *op) error {
		if _, err := o.visible(ns, name); err != nil {
			return err
		}
		var err error
		out, next, err = o.r.ListSecretVersions(ctx, org, ns, name, p)
		return err
	})
	return out, next, err
}

// Create creates a secret with its first value. Needs secrets:create and
// secrets:list in the namespace (without list a principal could learn
// names by collision). ErrConflict if the name is taken.
func (v *Vault) Create(ctx context.Context, actor Actor, org, ns, name string, value []byte, m Meta) (store.Secret, uint64, error) {
	var out store.Secret
	rev, err := v.write(ctx, "create secret", "secrets.create", org, actor, func(o *op) error {
		o.target = secretTarget(ns, name)
		if err := checkNamespace(ns); err != nil {
			return err
		}
		if err := CheckName(name); err != nil {
			return err
		}
		if err := CheckValue(value); err != nil {
			return err
		}
		if err := v.checkExpiry(o.name, m.ExpiresAt); err != nil {
			return err
		}
		if _, err := o.r.GetNamespace(ctx, org, ns); err != nil {
			return err
		}
		if err := o.need(ns, permCreate); err != nil {
			return err
		}
		if err := o.need(ns, permList); err != nil {
			return err
		}
		sealed, err := v.keys.seal(Row{Org: org, Namespace: ns, Name: name, Version: 1}, value)
		if err != nil {
			return err
		}
		out, err = o.tx.CreateSecret(ctx, store.Secret{
			Org: org, Namespace: ns, Name: name, Description: m.Description, ExpiresAt: m.ExpiresAt,
			ReferableBy: m.ReferableBy, CreatedBy: actor.Principal,
		}, sealedVersion(org, ns, name, 1, sealed))
		if err != nil {
			return err
		}
		return o.record(o.target, nil, &out, map[string]any{"namespace": ns, "name": name, "version": out.Version, "key_id": sealed.KeyID})
	})
	return out, rev, err
}

func sealedVersion(org, ns, name string, version uint64, s Sealed) store.SecretVersion {
	return store.SecretVersion{Org: org, Namespace: ns, Name: name, Version: version, KeyID: s.KeyID, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext}
}

// Update changes a secret. Nil fields keep their value; a Value makes a
// new version.
type Update struct {
	Value       *[]byte
	Description *string
	ExpiresAt   *time.Time // the zero time clears the expiry
	ReferableBy *[]string
	// IfVersion, when set, makes the update ErrConflict unless the current
	// version is IfVersion.
	IfVersion uint64
}

// Update changes a secret's metadata and/or value (a new version). Needs
// secrets:list (ErrNotFound without) and secrets:update (ErrForbidden).
func (v *Vault) Update(ctx context.Context, actor Actor, org, ns, name string, u Update) (store.Secret, uint64, error) {
	return v.change(ctx, actor, org, ns, name, "update secret", "secrets.update", permUpdate, u, false)
}

// Rotate replaces a secret's value with a new version and stamps its
// rotation time. Needs secrets:list (ErrNotFound without) and
// secrets:rotate (ErrForbidden).
func (v *Vault) Rotate(ctx context.Context, actor Actor, org, ns, name string, value []byte, ifVersion uint64) (store.Secret, uint64, error) {
	return v.change(ctx, actor, org, ns, name, "rotate secret", "secrets.rotate", permRotate, Update{Value: &value, IfVersion: ifVersion}, true)
}

func (v *Vault) change(ctx context.Context, actor Actor, org, ns, name, opName, action string, perm policy.Permission,
	u Update, rotate bool) (store.Secret, uint64, error) {
	var out store.Secret
	rev, err := v.write(ctx, opName, action, org, actor, func(o *op) error {
		cur, err := o.visible(ns, name)
		if err != nil {
			return err
		}
		if err := o.need(ns, perm); err != nil {
			return err
		}
		if u.Value != nil {
			if err := CheckValue(*u.Value); err != nil {
				return err
			}
		}
		if u.ExpiresAt != nil {
			if err := v.checkExpiry(o.name, *u.ExpiresAt); err != nil {
				return err
			}
		}
		su := store.SecretUpdate{
			Org: org, Namespace: ns, Name: name, Description: u.Description, ExpiresAt: u.ExpiresAt,
			ReferableBy: u.ReferableBy, Rotated: rotate, Author: actor.Principal, IfVersion: u.IfVersion,
		}
		details := map[string]any{"namespace": ns, "name": name}
		if u.Value != nil {
			if u.IfVersion != 0 && u.IfVersion != cur.Version {
				return errorf(ErrConflict, o.name, "secret %q is at version %d, not %d", name, cur.Version, u.IfVersion)
			}
			next := cur.Version + 1
			sealed, err := v.keys.seal(Row{Org: org, Namespace: ns, Name: name, Version: next}, *u.Value)
			if err != nil {
				return err
			}
			sv := sealedVersion(org, ns, name, next, sealed)
			su.NewVersion = &sv
			details["key_id"] = sealed.KeyID
		}
		out, err = o.tx.UpdateSecret(ctx, su)
		if err != nil {
			return err
		}
		details["version"] = out.Version
		details["new_value"] = u.Value != nil
		return o.record(o.target, &cur, &out, details)
	})
	return out, rev, err
}

// Delete deletes a secret and all its versions. Needs secrets:list
// (ErrNotFound without) and secrets:delete (ErrForbidden). A secret that a
// resource spec of its namespace references is not deleted (ErrConflict
// naming the resources) unless opts.Force: resources that reference a
// deleted secret cannot obtain run tokens until their spec changes.
func (v *Vault) Delete(ctx context.Context, actor Actor, org, ns, name string, opts DeleteOptions) (uint64, error) {
	return v.write(ctx, "delete secret", "secrets.delete", org, actor, func(o *op) error {
		cur, err := o.visible(ns, name)
		if err != nil {
			return err
		}
		// Permission first: only a principal who may delete learns what
		// references the secret, forced or not.
		if err := o.need(ns, permDelete); err != nil {
			return err
		}
		refs, err := referencing(ctx, o.tx, org, ns, name)
		if err != nil {
			return err
		}
		if len(refs) > 0 && !opts.Force {
			return errorf(ErrConflict, o.name, "secret %q in namespace %q is referenced by %s; remove it from their specs first, or delete with force (their runs will then fail)",
				name, ns, listed(refs, maxListedRefs))
		}
		if err := o.tx.DeleteSecret(ctx, org, ns, name); err != nil {
			return err
		}
		details := map[string]any{"namespace": ns, "name": name, "version": cur.Version}
		if opts.Force {
			details["forced"] = true
			if len(refs) > 0 {
				details["referenced_by"] = refs
			}
		}
		return o.record(o.target, &cur, nil, details)
	})
}

// DeleteOptions modify Delete.
type DeleteOptions struct {
	// Force deletes a secret that resource specs still reference (their
	// runs then fail to get it); the audit entry records that the delete
	// was forced and what referenced the secret. It needs exactly what a
	// delete needs.
	Force bool
}

// maxListedRefs bounds the resources an error names.
const maxListedRefs = 10

// referencing lists, sorted, the resources of namespace ns whose current
// spec references secret name, as "namespace/type/id".
func referencing(ctx context.Context, r store.Reader, org, ns, name string) ([]string, error) {
	var out []string
	page := store.Page{Size: store.MaxPageSize}
	for {
		rs, next, err := r.ListResources(ctx, org, store.ResourceFilter{Namespace: ns}, page)
		if err != nil {
			return nil, err
		}
		for _, res := range rs {
			full, err := r.GetResource(ctx, org, res.Ref())
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			names, err := SpecSecrets(full.Spec)
			if err != nil {
				continue // a spec the write path refused cannot hold a reference
			}
			if _, found := slices.BinarySearch(names, name); found {
				out = append(out, res.Namespace+"/"+res.Type+"/"+res.ID)
			}
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	slices.Sort(out)
	return out, nil
}

// listed joins at most max items and says how many it left out.
func listed(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}

// Revealed is a secret value handed to a principal allowed to read it.
// Its String and GoString never print the value.
type Revealed struct {
	Namespace string
	Name      string
	Version   uint64
	Value     []byte
}

func (r Revealed) String() string {
	return fmt.Sprintf("secret %s/%s version %d (value hidden)", r.Namespace, r.Name, r.Version)
}

// GoString is String.
func (r Revealed) GoString() string { return r.String() }

// Reveal returns a secret's value (version 0: the current one). Needs
// secrets:list (ErrNotFound without) and secrets:read (ErrForbidden). An
// expired secret's current value is not revealed (ErrConflict). The reveal
// is audited and stamps the secret's last use.
func (v *Vault) Reveal(ctx context.Context, actor Actor, org, ns, name string, version uint64) (Revealed, error) {
	var out Revealed
	_, err := v.write(ctx, "reveal secret", "secrets.read", org, actor, func(o *op) error {
		cur, err := o.visible(ns, name)
		if err != nil {
			return err
		}
		if err := o.need(ns, permRead); err != nil {
			return err
		}
		if version == 0 {
			version = cur.Version
		}
		if version == cur.Version && !cur.ExpiresAt.IsZero() && !v.now().Before(cur.ExpiresAt) {
			return errorf(ErrConflict, o.name, "secret %q in namespace %q expired at %s; rotate it or change its expiry", name, ns, cur.ExpiresAt.Format(time.RFC3339))
		}
		sv, err := o.tx.GetSecretVersion(ctx, org, ns, name, version)
		if err != nil {
			return err
		}
		value, err := v.keys.open(Row{Org: org, Namespace: ns, Name: name, Version: sv.Version}, Sealed{KeyID: sv.KeyID, WrappedKey: sv.WrappedKey, Ciphertext: sv.Ciphertext})
		if err != nil {
			return &Error{Pkg: pkg, Op: o.name, Msg: fmt.Sprintf("version %d of secret %q in namespace %q", sv.Version, name, ns), Kind: kindOf(err), Cause: err}
		}
		if err := o.tx.TouchSecrets(ctx, org, ns, []string{name}); err != nil {
			return err
		}
		if err := o.record(o.target, nil, nil, map[string]any{"namespace": ns, "name": name, "version": sv.Version}); err != nil {
			clear(value)
			return err
		}
		out = Revealed{Namespace: ns, Name: name, Version: sv.Version, Value: value}
		return nil
	})
	if err != nil {
		return Revealed{}, err
	}
	return out, nil
}

// kindOf is the sentinel of an envelope error.
func kindOf(err error) error {
	for _, k := range []error{ErrKeyMissing, ErrCorrupt, ErrCrypto, ErrInvalid} {
		if errors.Is(err, k) {
			return k
		}
	}
	return ErrCrypto
}
