package api

import "time"

// The change feed (GET /v1/orgs/{org}/changes) and snapshot (GET
// /v1/orgs/{org}/snapshot): an org's decision state and its changes, for
// replicas (docs/replicas.md). Package authz/feed encodes and decodes
// them with the engine's own types; these are the public contract (the
// server's contract test checks that both have the same JSON shape).

// ChangesPage answers GET /v1/orgs/{org}/changes?after=A: the org's events
// after A in revision order. Revision is where to resume (after=Revision);
// the org's state is complete through it even when Events is empty.
type ChangesPage struct {
	Org      string        `json:"org"`
	After    uint64        `json:"after"`
	Revision uint64        `json:"revision"`
	Events   []ChangeEvent `json:"events"`
}

// ChangeEvent is every change of the org at one revision (none: the
// deployment moved on and the org did not).
type ChangeEvent struct {
	Revision uint64        `json:"revision"`
	Changes  []StateChange `json:"changes,omitempty"`
}

// StateChange is one change of an org's decision state. Op is one of
// binding.put (Binding), binding.delete (ID), principal.put (Principal),
// principal.delete (ID), team.put (Team), team.delete (ID), resource.put
// and resource.delete (Resource), namespace.put and namespace.delete (ID),
// policy.set (Policy: the text), org.lifecycle (Lifecycle), org.delete.
type StateChange struct {
	Op        string             `json:"op"`
	ID        string             `json:"id,omitempty"`
	Binding   *BindingCore       `json:"binding,omitempty"`
	Principal *PrincipalCore     `json:"principal,omitempty"`
	Team      *TeamCore          `json:"team,omitempty"`
	Resource  *ResourceCore      `json:"resource,omitempty"`
	Policy    *string            `json:"policy,omitempty"`
	Lifecycle *LifecycleSettings `json:"lifecycle,omitempty"`
}

// PrincipalCore is a member, agent or service as the engine sees it.
type PrincipalCore struct {
	ID         string              `json:"id"`
	Attributes map[string]any      `json:"attributes,omitempty"`
	Role       string              `json:"role,omitempty"` // an agent's ceiling role
	ExpiresAt  time.Time           `json:"expires_at,omitzero"`
	Lifecycle  *PrincipalLifecycle `json:"lifecycle,omitempty"`
}

// PrincipalLifecycle is what the engine's suspension rules read of an
// agent (or a service that asked for them).
type PrincipalLifecycle struct {
	Sponsors       []string  `json:"sponsors,omitempty"`
	RequireSponsor bool      `json:"require_sponsor,omitempty"`
	Suspended      bool      `json:"suspended,omitempty"`
	AttestedAt     time.Time `json:"attested_at,omitzero"`
	LastUsedAt     time.Time `json:"last_used_at,omitzero"`
	// NoOrgRules: the org's inactivity and attestation rules do not apply
	// (a service that did not opt in).
	NoOrgRules bool `json:"no_org_rules,omitempty"`
}

// TeamCore is a team as the engine sees it: its slug and members.
type TeamCore struct {
	Slug    string   `json:"slug"`
	Members []string `json:"members"`
}

// LifecycleSettings are an org's suspension rules as the engine holds
// them, in nanoseconds (0: off).
type LifecycleSettings struct {
	InactiveAfter int64 `json:"inactive_after,omitempty"`
	AttestEvery   int64 `json:"attest_every,omitempty"`
}

// SnapshotHeader is the first line of GET /v1/orgs/{org}/snapshot (JSON
// Lines). The lines after it are StateChange puts — every principal.put,
// then team.put, binding.put and resource.put — and the last line is a
// SnapshotTrailer; a stream without it was cut short.
type SnapshotHeader struct {
	Format     string            `json:"format"`   // "gatehouse.snapshot.v1"
	Org        string            `json:"org"`      //
	Revision   uint64            `json:"revision"` // the org exactly as of this revision: follow with after=Revision
	Policy     *string           `json:"policy"`   // the policy text; null: none yet
	Lifecycle  LifecycleSettings `json:"lifecycle"`
	Namespaces []string          `json:"namespaces"`
	Principals int               `json:"principals"`
	Teams      int               `json:"teams"`
	Bindings   int               `json:"bindings"`
	Resources  int               `json:"resources"`
}

// SnapshotTrailer is a snapshot's last line.
type SnapshotTrailer struct {
	End   bool `json:"end"`
	Lines int  `json:"lines"` // the put lines between header and trailer
}
