package api

// ImpactRequest asks what a new policy text would change
// (POST /v1/orgs/{org}/policy/impact).
type ImpactRequest struct {
	Text string `json:"text"` // the proposed policy, as for PUT /policy
}

// Impact answers "who would gain or lose which permission, where?" for a
// proposed policy or binding, computed against the org's bindings at
// Revision. Nothing is stored. docs/impact.md explains how.
type Impact struct {
	Org      string `json:"org"`
	Revision uint64 `json:"revision"` // the org's data the analysis was made on
	// What was analysed: "policy" (a new policy text) or "binding" (a
	// binding that would be created).
	Subject string        `json:"subject"`
	Summary ImpactSummary `json:"summary"`
	// Changes, sorted by principal, then scope (org, namespaces,
	// resources), permission and change.
	Changes []ImpactChange `json:"changes"`
}

// ImpactSummary counts an Impact.
type ImpactSummary struct {
	Principals        int      `json:"principals"` // principals with at least one change
	Gained            int      `json:"gained"`     // changes that grant
	Lost              int      `json:"lost"`       // changes that take away
	BindingsExamined  int      `json:"bindings_examined"`
	RolesChanged      []string `json:"roles_changed"`      // roles whose permissions differ (policy only)
	AgentsChanged     []string `json:"agents_changed"`     // agents whose rules or ceiling differ (policy only)
	ConditionsChanged []string `json:"conditions_changed"` // conditions whose expression differs (policy only)
}

// ImpactChange is one permission one principal would gain or lose.
type ImpactChange struct {
	Principal string `json:"principal"`
	Scope     Scope  `json:"scope"`      // zero: the whole org
	ScopeText string `json:"scope_text"` // "org", "ns/prod" or "prod/chains/nightly"
	// Permission is a RESOURCE:ACTION pattern ("chains:delete", "billing:*").
	Permission string `json:"permission"`
	Change     string `json:"change"` // "gained" or "lost"
	// Conditions: the permission is the one held only when one of these
	// holds; absent means unconditionally.
	Conditions []string `json:"conditions,omitempty"`
	// Text says the change in a sentence: "user:ann gains chains:delete at org".
	Text string `json:"text"`
}
