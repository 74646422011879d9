package vault

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Run tokens: use without reveal.
//
// A principal allowed to run a resource (<type>:run on it, e.g. chains:run)
// asks for a run token. The token is bound to the resource's current
// version and namespace and to the secrets that version's spec references;
// it lives a short time and can be exchanged once, by a service principal
// (the runtime) that may itself run the resource, for exactly those
// secrets' current values. The issuer never sees a value and, without
// secrets:list, not even the names.

// RunTokenPrefix starts every run token, so that it is recognizable in a
// leak scanner.
const RunTokenPrefix = "ghrun_"

// runTokenBytes is the token's entropy.
const runTokenBytes = 32

// RunOptions tune IssueRunToken.
type RunOptions struct {
	// Runtime, when set, is the only service principal ("service:runner")
	// that may exchange the token.
	Runtime string
	// TTL shortens the token's life below the vault's default (never
	// lengthens it beyond MaxRunTokenTTL); 0 means the default.
	TTL time.Duration
	// ApprovalID names the person's approval of this run the caller
	// consumed in the same write (IssueRunTokenIn from package runs): the
	// issuer's request, allowed by the policy but for an `ask before`
	// rule, then counts as allowed — at issue and at exchange (the token
	// keeps it). It lifts nothing else.
	ApprovalID string
	// OnBehalfOf is the user the issuer acts for (an agent's or a
	// service's run, "" for none): the token keeps it, and an exchange
	// checks that the issuer may still run the resource on that user's
	// behalf (threat-model row 54).
	OnBehalfOf string
}

// RunGrant is an issued run token. Token is shown once; the vault keeps
// only its SHA-256.
type RunGrant struct {
	Token           string            `json:"token"`
	TokenID         string            `json:"token_id"` // the first 16 hex digits of its SHA-256, for audit correlation
	Resource        authz.ResourceRef `json:"resource"`
	ResourceVersion uint64            `json:"resource_version"`
	ExpiresAt       time.Time         `json:"expires_at"`
	Runtime         string            `json:"runtime,omitempty"`
	// SecretCount is how many secrets the token releases; Secrets names
	// them only when the issuer holds secrets:list in the namespace.
	SecretCount int      `json:"secret_count"`
	Secrets     []string `json:"secrets,omitempty"`
}

// String never prints the token.
func (g RunGrant) String() string {
	return fmt.Sprintf("run token %s for %s version %d (token hidden)", g.TokenID, store.RefKey(g.Resource), g.ResourceVersion)
}

// GoString is String.
func (g RunGrant) GoString() string { return g.String() }

// Released is one secret released by an exchange.
type Released struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	Value   string `json:"value"`
}

// Release is what an exchange hands the runtime. String and GoString
// never print values.
type Release struct {
	Resource        authz.ResourceRef `json:"resource"`
	ResourceVersion uint64            `json:"resource_version"`
	IssuedBy        string            `json:"issued_by"`
	Secrets         []Released        `json:"secrets"`
}

func (r Release) String() string {
	names := make([]string, len(r.Secrets))
	for i, s := range r.Secrets {
		names[i] = s.Name
	}
	return fmt.Sprintf("release of %s version %d: %s (values hidden)", store.RefKey(r.Resource), r.ResourceVersion, strings.Join(names, ", "))
}

// GoString is String.
func (r Release) GoString() string { return r.String() }

func tokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormedToken reports whether s has the shape of a run token.
func wellFormedToken(s string) bool {
	body, ok := strings.CutPrefix(s, RunTokenPrefix)
	if !ok || len(body) != base64.RawURLEncoding.EncodedLen(runTokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(body)
	return err == nil
}

// mayRun is the engine's decision on p doing <type>:run on ref, on behalf
// of user onBehalf when set (every grant counts, shares included,
// conditions evaluated without context).
func (v *Vault) mayRun(org, p, onBehalf string, ref authz.ResourceRef, now time.Time, approved bool) bool {
	if v.eng == nil {
		return false
	}
	req := &authz.Request{Org: org, Principal: p, OnBehalfOf: onBehalf, Namespace: ref.Namespace, ResourceType: ref.Type, ResourceID: ref.ID, Action: "run", Now: now}
	if approved {
		return v.eng.AllowsApproved(req)
	}
	return v.eng.Allows(req)
}

// GatewayOnlyType is the resource type whose referenced secrets only the
// MCP gateway uses (internal/mcp.ServerType): no run token is issued for
// it.
const GatewayOnlyType = "mcp_servers"

// IssueRunToken issues a run token for the resource ref. Needs
// <type>:run on the resource (ErrForbidden; ErrNotFound if it does not
// exist). Every secret the resource's current spec references must exist
// in its namespace, not be expired, and admit the spec's author under its
// reference restriction (ErrConflict otherwise; the message names the
// secrets only to an issuer holding secrets:list). Never for an MCP
// server (GatewayOnlyType: ErrInvalid).
func (v *Vault) IssueRunToken(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, opts RunOptions) (RunGrant, error) {
	var out RunGrant
	opts.ApprovalID = "" // only a write that consumed the approval may say so (IssueRunTokenIn)
	_, err := v.write(ctx, "issue run token", "secrets.run_token", org, actor, func(o *op) error {
		var err error
		out, _, err = v.issueRunToken(o, ref, opts)
		return err
	})
	if err != nil {
		return RunGrant{}, err
	}
	return out, nil
}

// IssueRunTokenIn is IssueRunToken inside the caller's store write tx
// (package runs records the run, consumes its approval and issues its
// token in one transaction). It also returns the names of the secrets the
// token releases. A refusal is not recorded here (the caller's write
// rolls back): the caller passes the error to RecordRunTokenRefusal after
// its write failed.
func (v *Vault) IssueRunTokenIn(ctx context.Context, tx store.Tx, actor Actor, org string, ref authz.ResourceRef, opts RunOptions) (RunGrant, []string, error) {
	const name = "issue run token"
	if v.eng == nil {
		return RunGrant{}, nil, errMaintenance(name)
	}
	if err := checkOrg(org); err != nil {
		return RunGrant{}, nil, errorf(ErrNotFound, name, "org %q", org)
	}
	o := &op{v: v, ctx: ctx, name: name, action: "secrets.run_token", org: org, actor: actor, r: tx, tx: tx}
	if err := v.dir.CatchUp(ctx, tx); err != nil {
		return RunGrant{}, nil, mapErr(name, err)
	}
	if err := o.enter(); err != nil {
		return RunGrant{}, nil, mapErr(name, err)
	}
	g, names, err := v.issueRunToken(o, ref, opts)
	if err != nil {
		return RunGrant{}, nil, mapErr(name, err)
	}
	return g, names, nil
}

// RecordRunTokenRefusal records a refusal IssueRunTokenIn returned, once
// the caller's write has rolled back, as IssueRunToken records its own.
func (v *Vault) RecordRunTokenRefusal(ctx context.Context, actor Actor, org string, ref authz.ResourceRef, err error) {
	v.recordRefusal(&op{v: v, ctx: ctx, name: "issue run token", action: "secrets.run_token", org: org, actor: actor,
		member: v.isMember(ctx, v.st, org, actor.Principal), target: store.RefKey(ref)}, err)
}

// issueRunToken is IssueRunToken's work in o's transaction.
func (v *Vault) issueRunToken(o *op, ref authz.ResourceRef, opts RunOptions) (RunGrant, []string, error) {
	ctx, org, actor := o.ctx, o.org, o.actor
	var out RunGrant
	var names []string
	err := func() error {
		o.target = store.RefKey(ref)
		if err := checkNamespace(ref.Namespace); err != nil {
			return err
		}
		// An unknown namespace is 404 (namespaces are no secret from
		// members; another org's are none of the caller's business).
		if _, err := o.tx.GetNamespace(ctx, org, ref.Namespace); err != nil {
			return err
		}
		if ref.Type == GatewayOnlyType {
			// An MCP server's credential is injected by the gateway into
			// its upstream requests and never released to anyone
			// (DESIGN §9): a run token would hand it to a runtime.
			return errorf(ErrInvalid, o.name, "no run token for %s: an MCP server's credential is only injected by the gateway", ref.Type)
		}
		now := v.now()
		if !v.mayRun(org, actor.Principal, opts.OnBehalfOf, ref, now, opts.ApprovalID != "") {
			return &Error{Pkg: pkg, Op: o.name, Msg: fmt.Sprintf("requires %s:run on %s", ref.Type, store.RefKey(ref)), Kind: ErrForbidden,
				Permission: ref.Type + ":run", Scope: authz.Scope{Namespace: ref.Namespace}.String()}
		}
		// Looked up after the permission: a caller who may not run it gets
		// the same refusal whether or not it exists.
		res, err := o.tx.GetResource(ctx, org, ref)
		if err != nil {
			return err
		}
		if opts.Runtime != "" {
			kind, name, ok := strings.Cut(opts.Runtime, ":")
			if !ok || kind != authz.KindService {
				return errorf(ErrInvalid, o.name, "runtime %.64q is not a service principal (service:<name>)", opts.Runtime)
			}
			if _, err := o.tx.GetService(ctx, org, name); err != nil {
				return err
			}
		}
		ttl := v.ttl
		if opts.TTL < 0 {
			return errorf(ErrInvalid, o.name, "ttl must not be negative")
		}
		if opts.TTL > 0 {
			ttl = min(opts.TTL, v.ttl)
		}
		names, err = SpecSecrets(res.Spec)
		if err != nil {
			return err
		}
		lists := o.mayList(ref.Namespace)
		found, err := o.tx.GetSealedSecrets(ctx, org, ref.Namespace, names)
		if err != nil {
			return err
		}
		var bad []string
		byName := map[string]store.Secret{}
		for _, s := range found {
			byName[s.Secret.Name] = s.Secret
		}
		for _, n := range names {
			s, ok := byName[n]
			if !ok || (!s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)) {
				bad = append(bad, n)
				continue
			}
			ok, err := secretref.Admits(ctx, o.tx, s, res.UpdatedBy)
			if err != nil {
				return err
			}
			if !ok {
				bad = append(bad, n)
			}
		}
		if len(bad) > 0 {
			what := fmt.Sprintf("%d of the secrets it references", len(bad))
			if lists {
				what = fmt.Sprintf("the secrets %s it references", strings.Join(bad, ", "))
			}
			return errorf(ErrConflict, o.name, "%s version %d cannot run: %s do not exist in namespace %q, have expired, or may not be referenced by its author %s",
				store.RefKey(ref), res.Version, what, ref.Namespace, res.UpdatedBy)
		}
		raw, err := randomBytes(runTokenBytes)
		if err != nil {
			return err
		}
		token := RunTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
		id := tokenID(token)
		rt, err := o.tx.CreateRunToken(ctx, store.RunToken{
			Org: org, ID: id, Resource: ref, ResourceVersion: res.Version, Secrets: names,
			IssuedBy: actor.Principal, Runtime: opts.Runtime, ExpiresAt: now.Add(ttl), ApprovalID: opts.ApprovalID, OnBehalfOf: opts.OnBehalfOf,
		})
		if err != nil {
			return err
		}
		out = RunGrant{Token: token, TokenID: id[:16], Resource: ref, ResourceVersion: res.Version, ExpiresAt: rt.ExpiresAt,
			Runtime: opts.Runtime, SecretCount: len(names)}
		if lists {
			out.Secrets = names
		}
		return o.record(o.target, nil, nil, map[string]any{
			"resource_version": res.Version, "secrets": names, "token_id": out.TokenID, "expires_at": rt.ExpiresAt, "runtime": opts.Runtime,
		})
	}()
	if err != nil {
		return RunGrant{}, nil, err
	}
	return out, names, nil
}

// refused is the one answer for a token that cannot be exchanged; reason
// goes to the audit entry and the log, not to the caller.
func refused(name, reason string) error {
	return &Error{Pkg: pkg, Op: name, Msg: "the run token is unknown, expired, already used, or no longer valid for its resource", Kind: ErrTokenRefused,
		Cause: errors.New(reason)}
}

// Exchange releases a run token's secrets to the runtime. The actor must
// be a service principal of the org (ErrForbidden) allowed to run the
// token's resource (ErrForbidden); the token must be well-formed, of the
// org, unexpired, unused, meant for this runtime if it names one, and its
// resource must still exist at the version it was issued for, with the
// issuer still allowed to run it (ErrTokenRefused otherwise, one answer
// for every case). Every secret must still exist and not be expired
// (ErrConflict). The token is consumed in the same transaction that
// records the exchange; a failed exchange consumes nothing.
func (v *Vault) Exchange(ctx context.Context, actor Actor, org, token string) (Release, error) {
	var out Release
	_, err := v.write(ctx, "exchange run token", "secrets.exchange", org, actor, func(o *op) error {
		o.target = "runs"
		if kind, _, _ := strings.Cut(actor.Principal, ":"); kind != authz.KindService {
			return errorf(ErrForbidden, o.name, "only a service principal (the runtime) exchanges run tokens")
		}
		if !wellFormedToken(token) {
			return refused(o.name, "malformed token")
		}
		id := tokenID(token)
		rt, err := o.tx.GetRunToken(ctx, org, id)
		if errors.Is(err, store.ErrNotFound) {
			return refused(o.name, "unknown token "+id[:16])
		} else if err != nil {
			return err
		}
		o.target = store.RefKey(rt.Resource)
		now := v.now()
		switch {
		case !rt.UsedAt.IsZero():
			return refused(o.name, fmt.Sprintf("token %s was used already, at %s by %s (replay)", id[:16], rt.UsedAt.Format(time.RFC3339Nano), rt.UsedBy))
		case !now.Before(rt.ExpiresAt):
			return refused(o.name, fmt.Sprintf("token %s expired at %s", id[:16], rt.ExpiresAt.Format(time.RFC3339Nano)))
		case rt.Runtime != "" && rt.Runtime != actor.Principal:
			return refused(o.name, fmt.Sprintf("token %s is for runtime %s", id[:16], rt.Runtime))
		}
		res, err := o.tx.GetResource(ctx, org, rt.Resource)
		if errors.Is(err, store.ErrNotFound) {
			return refused(o.name, fmt.Sprintf("token %s: the resource was deleted", id[:16]))
		} else if err != nil {
			return err
		}
		if res.Version != rt.ResourceVersion {
			return refused(o.name, fmt.Sprintf("token %s: the resource changed from version %d to %d", id[:16], rt.ResourceVersion, res.Version))
		}
		if !v.mayRun(org, rt.IssuedBy, rt.OnBehalfOf, rt.Resource, now, rt.ApprovalID != "") {
			return refused(o.name, fmt.Sprintf("token %s: its issuer %s may no longer run the resource (on behalf of %q)", id[:16], rt.IssuedBy, rt.OnBehalfOf))
		}
		// A run a person approved is approved for the runtime that
		// carries it out too: the runtime's own ask rules gate the runs it
		// starts itself (at issue), not the approved run it executes.
		if !v.mayRun(org, actor.Principal, "", rt.Resource, now, rt.ApprovalID != "") {
			return errorf(ErrForbidden, o.name, "the runtime needs %s:run on %s", rt.Resource.Type, store.RefKey(rt.Resource))
		}
		found, err := o.tx.GetSealedSecrets(ctx, org, rt.Resource.Namespace, rt.Secrets)
		if err != nil {
			return err
		}
		if len(found) != len(rt.Secrets) {
			return errorf(ErrConflict, o.name, "%d of the token's secrets no longer exist in namespace %q", len(rt.Secrets)-len(found), rt.Resource.Namespace)
		}
		out = Release{Resource: rt.Resource, ResourceVersion: rt.ResourceVersion, IssuedBy: rt.IssuedBy, Secrets: make([]Released, 0, len(found))}
		released := make([]map[string]any, 0, len(found))
		for _, s := range found {
			if !s.Secret.ExpiresAt.IsZero() && !now.Before(s.Secret.ExpiresAt) {
				return errorf(ErrConflict, o.name, "secret %q in namespace %q expired at %s", s.Secret.Name, s.Secret.Namespace, s.Secret.ExpiresAt.Format(time.RFC3339))
			}
			cur := s.Current
			value, err := v.keys.open(Row{Org: org, Namespace: cur.Namespace, Name: cur.Name, Version: cur.Version},
				Sealed{KeyID: cur.KeyID, WrappedKey: cur.WrappedKey, Ciphertext: cur.Ciphertext})
			if err != nil {
				return &Error{Pkg: pkg, Op: o.name, Msg: fmt.Sprintf("version %d of secret %q in namespace %q", cur.Version, cur.Name, cur.Namespace), Kind: kindOf(err), Cause: err}
			}
			out.Secrets = append(out.Secrets, Released{Name: cur.Name, Version: cur.Version, Value: string(value)})
			clear(value)
			released = append(released, map[string]any{"name": cur.Name, "version": cur.Version})
		}
		if _, err := o.tx.UseRunToken(ctx, org, id, actor.Principal); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return refused(o.name, fmt.Sprintf("token %s was used already (replay)", id[:16]))
			}
			return err
		}
		if err := o.tx.TouchSecrets(ctx, org, rt.Resource.Namespace, rt.Secrets); err != nil {
			return err
		}
		return o.record(o.target, nil, nil, map[string]any{
			"resource_version": rt.ResourceVersion, "issued_by": rt.IssuedBy, "token_id": id[:16], "secrets": released,
		})
	})
	if err != nil {
		return Release{}, err
	}
	return out, nil
}
