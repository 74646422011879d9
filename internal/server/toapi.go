package server

import (
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// The edge: domain types become package api's wire types here, so that
// a store or directory type can change without changing the API.
// Types with the same fields convert directly; TestRoutesServeAPITypes
// checks the results against the OpenAPI document.

// each maps f over xs (nil stays nil; listOf makes it []).
func each[S, D any](xs []S, f func(S) D) []D {
	if xs == nil {
		return nil
	}
	out := make([]D, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// one maps the result of a read: one(apiOrg)(s.dir.GetOrg(...)).
func one[S, D any](f func(S) D) func(S, error) (D, error) {
	return func(v S, err error) (D, error) {
		if err != nil {
			var zero D
			return zero, err
		}
		return f(v), nil
	}
}

func (s *Server) apiOrg(o store.Org) api.Org {
	out := api.Org{ID: o.ID, Name: o.Name, Template: o.Template, CreatedAt: o.CreatedAt}
	if l := o.Lifecycle; l != (authz.LifecycleSettings{}) {
		out.Lifecycle = &api.OrgLifecycle{InactiveDays: int(l.InactiveAfter / day), AttestationDays: int(l.AttestEvery / day)}
	}
	life := s.dir.ApprovalLifetimes(o.Approvals)
	out.Approvals = &api.OrgApprovalSettings{PendingTTL: lifetimeText(life.PendingTTL), UseWindow: lifetimeText(life.UseWindow),
		PendingTTLDefault: o.Approvals.PendingTTL == 0, UseWindowDefault: o.Approvals.UseWindow == 0}
	return out
}

// lifetimeText writes a lifetime as a Go duration without zero units
// ("24h", "15m", "1h30m").
func lifetimeText(d time.Duration) string {
	t := d.String()
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}

const day = 24 * time.Hour

func apiNamespace(n store.Namespace) api.Namespace { return api.Namespace(n) }
func apiUser(u store.User) api.User                { return api.User(u) }
func apiMember(m store.Member) api.Member          { return api.Member(m) }
func apiAgent(a store.Agent) api.Agent {
	return api.Agent{Org: a.Org, Name: a.Name, Role: a.Role, Sponsor: a.Sponsor, ExpiresAt: a.ExpiresAt, Attributes: a.Attributes,
		CreatedAt: a.CreatedAt, Sponsors: a.Lifecycle().Sponsors, Suspended: a.Suspended, AttestedAt: a.AttestedAt, LastUsedAt: a.LastUsedAt}
}
func apiService(s store.Service) api.Service {
	out := api.Service{Org: s.Org, Name: s.Name, Attributes: s.Attributes, CreatedAt: s.CreatedAt, Suspended: s.Suspended, Status: "active",
		Sponsors: s.Sponsors, Lifecycle: s.Lifecycle, AttestedAt: s.AttestedAt, LastUsedAt: s.LastUsedAt}
	if s.Suspended {
		out.Status = string(authz.ReasonSuspended)
	}
	return out
}
func apiTeam(t store.Team) api.Team       { return api.Team(t) }
func apiPolicy(p store.Policy) api.Policy { return api.Policy(p) }

func apiScope(s authz.Scope) api.Scope { return api.Scope(s) }

func apiBindingCore(b authz.Binding) api.BindingCore {
	return api.BindingCore{ID: b.ID, Principal: b.Principal, Role: b.Role, Actions: b.Actions, Scope: apiScope(b.Scope), Condition: b.Condition,
		ExpiresAt: b.ExpiresAt}
}

func apiBinding(b store.Binding) api.Binding {
	return api.Binding{BindingCore: apiBindingCore(b.Binding), Org: b.Org, CreatedBy: b.CreatedBy, CreatedAt: b.CreatedAt}
}

func apiRef(r authz.ResourceRef) api.ResourceRef { return api.ResourceRef(r) }

func apiResource(r store.Resource) api.Resource {
	return api.Resource{ResourceCore: api.ResourceCore(r.Resource), Org: r.Org, Spec: r.Spec, Version: r.Version,
		UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func apiResourceVersion(v store.ResourceVersion) api.ResourceVersion {
	return api.ResourceVersion{Org: v.Org, Ref: apiRef(v.Ref), Version: v.Version, Spec: v.Spec, Labels: v.Labels,
		Attributes: v.Attributes, Author: v.Author, CreatedAt: v.CreatedAt}
}

func apiDiffEntry(d store.DiffEntry) api.DiffEntry {
	return api.DiffEntry{Path: d.Path, Op: string(d.Op), Old: d.Old, New: d.New}
}

// apiAPIKey is a key's metadata: never its hash.
func apiAPIKey(k store.APIKey) api.APIKey {
	return api.APIKey{ID: k.ID, Org: k.Org, Principal: k.Principal, Name: k.Name, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, LastUsedAt: k.LastUsedAt}
}

// apiAgentToken is an agent token's metadata (the token is never stored).
func apiAgentToken(t store.AgentToken) api.AgentTokenInfo {
	return api.AgentTokenInfo{ID: t.ID, Agent: t.Agent, OnBehalfOf: t.OnBehalfOf, Audience: t.Audience, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, RevokedBy: t.RevokedBy}
}

// apiInvitation is an invitation: never its token's hash.
func apiInvitation(i store.Invitation) api.Invitation {
	return api.Invitation{ID: i.ID, Org: i.Org, Email: i.Email, Role: i.Role, InvitedBy: i.InvitedBy, CreatedAt: i.CreatedAt,
		ExpiresAt: i.ExpiresAt, AcceptedAt: i.AcceptedAt, AcceptedBy: i.AcceptedBy, RevokedAt: i.RevokedAt}
}

func apiSecret(s store.Secret) api.Secret { return api.Secret(s) }

// apiSecretVersion is a version's metadata: never its key or ciphertext.
func apiSecretVersion(v store.SecretVersion) api.SecretVersion {
	return api.SecretVersion{Org: v.Org, Namespace: v.Namespace, Name: v.Name, Version: v.Version, KeyID: v.KeyID,
		CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
}

func apiSubject(s authz.Subject) api.Subject { return api.Subject(s) }

func apiRole(r directory.RoleInfo) api.Role { return api.Role(r) }

func apiVersionHistory(h directory.VersionHistory) api.VersionHistory {
	out := api.VersionHistory{Version: h.Version, Author: h.Author, CreatedAt: h.CreatedAt, Diff: each(h.Diff, apiDiffEntry)}
	if h.Audit != nil {
		e := apiAuditEntry(*h.Audit)
		out.Audit = &e
	}
	return out
}

// apiHash is a hash in hex, "" for the zero hash (absent on the wire).
func apiHash(h audit.Hash) string {
	if h == (audit.Hash{}) {
		return ""
	}
	return h.String()
}

func apiAuditEntry(e audit.Entry) api.AuditEntry {
	return api.AuditEntry{Org: e.Org, Seq: e.Seq, Time: e.Time, Actor: api.AuditActor(e.Actor), Action: e.Action, Target: e.Target,
		Result: string(e.Result), Message: e.Message, Before: e.Before, After: e.After, Details: e.Details, Hash: apiHash(e.Hash), Redacted: e.Redacted}
}

func apiCheckpoint(c audit.Checkpoint) api.Checkpoint {
	return api.Checkpoint{Org: c.Org, Seq: c.Seq, Head: c.Head.String(), At: c.At, Time: c.Time, KeyID: c.KeyID, Signature: c.Signature}
}

func apiAuditSettings(s audit.Settings) api.AuditSettings {
	return api.AuditSettings{Decisions: string(s.Decisions), SampleRate: s.SampleRate}
}

func apiRunGrant(g vault.RunGrant) api.RunGrant {
	return api.RunGrant{Token: g.Token, TokenID: g.TokenID, Resource: apiRef(g.Resource), ResourceVersion: g.ResourceVersion,
		ExpiresAt: g.ExpiresAt, Runtime: g.Runtime, SecretCount: g.SecretCount, Secrets: g.Secrets}
}

func apiRelease(r vault.Release) api.Release {
	return api.Release{Resource: apiRef(r.Resource), ResourceVersion: r.ResourceVersion, IssuedBy: r.IssuedBy,
		Secrets: each(r.Secrets, func(s vault.Released) api.Released { return api.Released(s) })}
}

// apiDiagnostic is a positioned policy finding.
func apiDiagnostic(d token.Diagnostic) api.Diagnostic {
	return api.Diagnostic{Pos: api.Pos(d.Pos), Severity: d.Severity.String(), Code: d.Code, Message: d.Message, Hint: d.Hint}
}

func apiAuditReport(r audit.Report) api.AuditReport {
	return api.AuditReport{Org: r.Org, First: r.First, Last: r.Last, Entries: r.Entries, Head: r.Head.String(), Pruned: r.Pruned,
		Checkpoints: r.Checkpoints, Anchored: r.Anchored, MACsChecked: r.MACsChecked, RecordedHead: r.RecordedHead}
}

// apiProblem is a problem document as package api's type (a batch item's).
func apiProblem(p *Problem) api.Problem { return p.Problem }

// Requests the other way: api types to the domain's.

func bindingSpec(b api.BindingSpec) (directory.BindingSpec, error) {
	life, err := lifetime(b.Lifetime)
	return directory.BindingSpec{Principal: b.Principal, Role: b.Role, Scope: authz.Scope(b.Scope), Condition: b.Condition, Lifetime: life}, err
}

// lifetime reads a grant's lifetime; expires_in is a Go duration.
func lifetime(l api.Lifetime) (directory.Lifetime, error) {
	out := directory.Lifetime{ExpiresAt: l.ExpiresAt}
	if l.ExpiresIn != "" {
		d, err := time.ParseDuration(l.ExpiresIn)
		if err != nil || d <= 0 {
			return out, invalidField("expires_in", "expires_in %q is not a positive duration such as 30m or 2h", l.ExpiresIn)
		}
		out.For = d
	}
	return out, nil
}

func auditSettings(s api.AuditSettings) audit.Settings {
	return audit.Settings{Decisions: audit.DecisionMode(s.Decisions), SampleRate: s.SampleRate}
}
