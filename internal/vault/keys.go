package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// CheckKeyring verifies, before anything is written, that keyring is the
// right one for the database, then records a key check for each of its
// keys the database has not seen:
//
//   - every recorded key the keyring holds must open its key check (else
//     ErrWrongMasterKey: the process must not start);
//   - every key that wraps a secret version must be in the keyring (else
//     ErrKeyMissing), and one of its wrapped data keys must open (a second
//     proof that does not rely on the key-check rows).
//
// A wrong key therefore fails fast with a message naming the key id and
// where it came from, and changes nothing.
func CheckKeyring(ctx context.Context, st store.Store, k *Keyring) error {
	const op = "check master keyring"
	_, err := st.Write(ctx, func(tx store.Tx) error {
		recorded, err := tx.ListVaultKeys(ctx)
		if err != nil {
			return err
		}
		known := map[uint32]bool{}
		for _, rk := range recorded {
			known[rk.ID] = true
			if k.Has(rk.ID) && !k.verifyKeyCheck(rk.ID, rk.Check) {
				return &Error{Pkg: pkg, Op: op, Kind: ErrWrongMasterKey, Msg: fmt.Sprintf(
					"master key %d from %s is not the key this database was sealed with (its key check does not open); refusing to start, nothing was changed",
					rk.ID, k.Source())}
			}
		}
		used, err := tx.CountSecretVersionsByKey(ctx)
		if err != nil {
			return err
		}
		for _, id := range sortedIDs(used) {
			if used[id] == 0 {
				continue
			}
			if !k.Has(id) {
				return &Error{Pkg: pkg, Op: op, Kind: ErrKeyMissing, Msg: fmt.Sprintf(
					"%d secret versions are wrapped by master key %d, which the keyring from %s (ids %s) lacks; add it back, refusing to start",
					used[id], id, k.Source(), idList(k.IDs()))}
			}
			sample, err := tx.ListSecretVersionsByKey(ctx, id, store.SecretVersionKey{}, 1)
			if err != nil {
				return err
			}
			if len(sample) == 1 {
				sv := sample[0]
				dk, err := k.unwrap(Row{Org: sv.Org, Namespace: sv.Namespace, Name: sv.Name, Version: sv.Version}, sv.KeyID, sv.WrappedKey)
				if err != nil {
					return &Error{Pkg: pkg, Op: op, Kind: ErrWrongMasterKey, Msg: fmt.Sprintf(
						"master key %d from %s does not open the data keys it is recorded to wrap; refusing to start, nothing was changed",
						id, k.Source())}
				}
				clear(dk)
			}
		}
		for _, id := range k.IDs() {
			if known[id] {
				continue
			}
			check, err := k.keyCheck(id)
			if err != nil {
				return err
			}
			if err := tx.PutVaultKey(ctx, store.VaultKey{ID: id, Check: check}); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(op, err)
}

func sortedIDs[V any](m map[uint32]V) []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func idList(ids []uint32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(uint64(id), 10)
	}
	return strings.Join(s, ", ")
}

// KeyStatus describes one master key id.
type KeyStatus struct {
	ID        uint32 `json:"id"`
	InKeyring bool   `json:"in_keyring"`
	Active    bool   `json:"active"`   // wraps new data keys
	Recorded  bool   `json:"recorded"` // the database has its key check
	Retired   bool   `json:"retired"`
	Versions  int64  `json:"versions"` // secret versions it wraps
}

// Keys reports every master key id known to the keyring or the database.
func (v *Vault) Keys(ctx context.Context) ([]KeyStatus, error) {
	const op = "list master keys"
	recorded, err := v.st.ListVaultKeys(ctx)
	if err != nil {
		return nil, mapErr(op, err)
	}
	used, err := v.st.CountSecretVersionsByKey(ctx)
	if err != nil {
		return nil, mapErr(op, err)
	}
	all := map[uint32]*KeyStatus{}
	get := func(id uint32) *KeyStatus {
		if all[id] == nil {
			all[id] = &KeyStatus{ID: id}
		}
		return all[id]
	}
	for _, id := range v.keys.IDs() {
		ks := get(id)
		ks.InKeyring, ks.Active = true, id == v.keys.Active()
	}
	for _, rk := range recorded {
		ks := get(rk.ID)
		ks.Recorded, ks.Retired = true, !rk.RetiredAt.IsZero()
	}
	for id, n := range used {
		get(id).Versions = n
	}
	out := make([]KeyStatus, 0, len(all))
	for _, id := range sortedIDs(all) {
		out = append(out, *all[id])
	}
	return out, nil
}

// RotateReport says what RotateMaster did.
type RotateReport struct {
	Active    uint32            `json:"active"`
	Rewrapped map[uint32]int64  `json:"rewrapped"` // by the key they were wrapped with before
	Unused    []uint32          `json:"unused"`    // keys that now wrap nothing (retire them)
	Skipped   map[uint32]string `json:"skipped,omitempty"`
}

// rewrapBatch is how many data keys one transaction re-wraps.
const rewrapBatch = 200

// RotateMaster re-wraps every data key not wrapped by the keyring's active
// key under it, in batches of transactions; ciphertexts are not touched,
// so no value is ever decrypted. Keys the keyring lacks are reported in
// Skipped. Safe to run while servers serve (a concurrently deleted version
// is skipped) and to run again. Recorded in the audit log of the
// deployment (audit.SystemOrg).
func (v *Vault) RotateMaster(ctx context.Context, by string) (RotateReport, error) {
	const op = "rotate master key"
	rep := RotateReport{Active: v.keys.Active(), Rewrapped: map[uint32]int64{}}
	used, err := v.st.CountSecretVersionsByKey(ctx)
	if err != nil {
		return rep, mapErr(op, err)
	}
	for _, id := range sortedIDs(used) {
		if id == rep.Active || used[id] == 0 {
			continue
		}
		if !v.keys.Has(id) {
			if rep.Skipped == nil {
				rep.Skipped = map[uint32]string{}
			}
			rep.Skipped[id] = "not in the keyring"
			continue
		}
		after := store.SecretVersionKey{}
		for {
			batch, err := v.st.ListSecretVersionsByKey(ctx, id, after, rewrapBatch)
			if err != nil {
				return rep, mapErr(op, err)
			}
			if len(batch) == 0 {
				break
			}
			var n int64
			_, err = v.st.Write(ctx, func(tx store.Tx) error {
				n = 0
				for _, sv := range batch {
					row := Row{Org: sv.Org, Namespace: sv.Namespace, Name: sv.Name, Version: sv.Version}
					re, err := v.keys.rewrap(row, Sealed{KeyID: sv.KeyID, WrappedKey: sv.WrappedKey, Ciphertext: sv.Ciphertext}, rep.Active)
					if err != nil {
						return &Error{Pkg: pkg, Op: op, Msg: fmt.Sprintf("version %d of secret %q in namespace %q of org %q", sv.Version, sv.Name, sv.Namespace, sv.Org),
							Kind: kindOf(err), Cause: err}
					}
					sv.KeyID, sv.WrappedKey, sv.Ciphertext = re.KeyID, re.WrappedKey, nil
					if err := tx.RewrapSecretVersion(ctx, sv); errors.Is(err, store.ErrNotFound) {
						continue // deleted meanwhile
					} else if err != nil {
						return err
					}
					n++
				}
				return nil
			})
			if err != nil {
				return rep, mapErr(op, err)
			}
			rep.Rewrapped[id] += n
			last := batch[len(batch)-1]
			after = store.SecretVersionKey{Org: last.Org, Namespace: last.Namespace, Name: last.Name, Version: last.Version}
		}
	}
	ks, err := v.Keys(ctx)
	if err != nil {
		return rep, err
	}
	for _, k := range ks {
		if k.ID != rep.Active && k.Versions == 0 && !k.Retired {
			rep.Unused = append(rep.Unused, k.ID)
		}
	}
	v.recordSystem(ctx, by, "vault.rotate_master", map[string]any{"active": rep.Active, "rewrapped": rep.Rewrapped, "unused": rep.Unused})
	return rep, nil
}

// RetireKey marks master key id retired once nothing is wrapped by it
// (ErrConflict otherwise); it may then be removed from the keyring. The
// active key cannot be retired.
func (v *Vault) RetireKey(ctx context.Context, by string, id uint32) error {
	const op = "retire master key"
	if id == v.keys.Active() {
		return errorf(ErrConflict, op, "key %d is the active key; add a newer key and run rotate-master first", id)
	}
	_, err := v.st.Write(ctx, func(tx store.Tx) error { return tx.RetireVaultKey(ctx, id) })
	if err != nil {
		return mapErr(op, err)
	}
	v.recordSystem(ctx, by, "vault.retire_key", map[string]any{"key_id": id})
	return nil
}

// recordSystem records a deployment-wide vault event (best effort: the
// change it records is done and idempotent).
func (v *Vault) recordSystem(ctx context.Context, by, action string, details map[string]any) {
	if by == "" {
		by = "system:vault"
	}
	e := audit.Entry{Org: audit.SystemOrg, Actor: audit.Actor{Principal: by}, Action: action, Target: "vault", Result: audit.Success, Details: rawJSON(details)}
	if _, err := v.st.Write(ctx, func(tx store.Tx) error { return v.audit.Record(ctx, tx, e) }); err != nil {
		v.log.Warn("vault: recording in the audit log failed", "action", action, "err", err)
	}
}
