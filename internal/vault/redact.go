package vault

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Redaction: use without reveal extends to outputs (DESIGN §1.4). A run's
// output summary is stored only after every value of a secret released
// to that run has been replaced by "[REDACTED:<NAME>]". The values are
// opened here and never leave the package: Redactor returns a function.

// minRedactLen: values shorter than this are not searched for (a
// one-byte secret would redact every occurrence of a letter); such a
// secret is not a secret worth the name, and the vault's own rules take
// values as they come.
const minRedactLen = 4

// Redactor returns a function that replaces, in a text, every current
// value of the named secrets of org's namespace, as written (encoded forms
// such as base64 are not searched). Secrets that no longer exist are
// skipped. It authorizes nothing: it is the runs
// record's, on the server's own behalf, and reveals nothing.
func (v *Vault) Redactor(ctx context.Context, org, ns string, names []string) (func(string) string, error) {
	if len(names) == 0 {
		return func(s string) string { return s }, nil
	}
	found, err := v.st.GetSealedSecrets(ctx, org, ns, names)
	if err != nil {
		return nil, fmt.Errorf("vault: redact: %w", err)
	}
	type pair struct{ value, mark string }
	var pairs []pair
	for _, s := range found {
		cur := s.Current
		value, err := v.keys.open(Row{Org: org, Namespace: cur.Namespace, Name: cur.Name, Version: cur.Version},
			Sealed{KeyID: cur.KeyID, WrappedKey: cur.WrappedKey, Ciphertext: cur.Ciphertext})
		if err != nil {
			return nil, &Error{Pkg: pkg, Op: "redact", Msg: fmt.Sprintf("secret %q in namespace %q", cur.Name, cur.Namespace), Kind: kindOf(err), Cause: err}
		}
		if len(value) >= minRedactLen {
			pairs = append(pairs, pair{string(value), "[REDACTED:" + cur.Name + "]"})
		}
		clear(value)
	}
	// Longest first, so that a value containing another is replaced whole.
	slices.SortFunc(pairs, func(a, b pair) int { return len(b.value) - len(a.value) })
	return func(s string) string {
		for _, p := range pairs {
			s = strings.ReplaceAll(s, p.value, p.mark)
		}
		return s
	}, nil
}

// RunTokenSecrets returns the names of the secrets the run token (as
// issued: the token itself) releases; the runs record keeps them so that
// it can redact the run's output.
func (v *Vault) RunTokenSecrets(ctx context.Context, org, token string) ([]string, error) {
	rt, err := v.st.GetRunToken(ctx, org, tokenID(token))
	if err != nil {
		return nil, fmt.Errorf("vault: run token: %w", err)
	}
	return rt.Secrets, nil
}
