package api

// Reach is a principal's blast radius: everything it could do if its
// credentials were stolen (GET /v1/orgs/{org}/principals/{principal}/reach).
type Reach struct {
	Principal string `json:"principal"`
	Revision  uint64 `json:"revision"`
	// Status is "active", or why the principal can do nothing now
	// (expired, suspended, sponsor_gone, inactive, attestation_due).
	Status string `json:"status"`
	// Namespaces, each with its entries ranked most destructive first.
	Namespaces []NamespaceReach `json:"namespaces"`
	// Secrets it could cause to be injected: referenced by the specs of
	// resources it may run (namespaces where the caller may list secrets;
	// HiddenSecrets counts the references elsewhere).
	Secrets       []SecretReach `json:"secrets,omitempty"`
	HiddenSecrets int           `json:"hidden_secrets,omitempty"`
	// Tools are the MCP tools (resources of type "tools", action
	// tools:call) it may call, those that need approval marked.
	Tools []ToolReach `json:"tools,omitempty"`
	// Truncated: only the first 2,000 resources in reach were scanned
	// for secrets and tools.
	Truncated bool `json:"truncated,omitempty"`
	// Summary says it in a few sentences for a person.
	Summary string `json:"summary"`
}

// NamespaceReach is what a principal reaches in one namespace.
type NamespaceReach struct {
	Namespace string       `json:"namespace"`
	Entries   []ReachEntry `json:"entries"`
}

// ReachEntry is one permission pattern the principal holds: on every
// resource it covers (Resources of them exist now), or on one Resource.
type ReachEntry struct {
	Permission string       `json:"permission"`
	Resource   *ResourceRef `json:"resource,omitempty"`
	Resources  int          `json:"resources"`
	// Conditions: it holds only when one of them does.
	Conditions []string `json:"conditions,omitempty"`
	// Severity: "all" (every action), "destructive", "change" or "read".
	Severity string `json:"severity"`
	// Approvals are the `ask before` rules that apply to actions this
	// entry covers: each needs a person's approval, every time, when the
	// rule's conditions hold (for a pattern such as chains:*, only the
	// action each rule names).
	Approvals []ReachApproval `json:"approvals,omitempty"`
}

// ReachApproval is an `ask before` rule that applies to a principal.
type ReachApproval struct {
	// Permission is the "<type>:<action>" that needs approval.
	Permission string `json:"permission"`
	// Rule is the rule as written, Source where ("role builder",
	// "policy:12:5").
	Rule   string `json:"rule"`
	Owner  string `json:"owner"`
	Source string `json:"source,omitempty"`
	// Quorum is how many distinct people must approve; From the roles of
	// which an approver must hold one (empty: anyone holding
	// decisions:approve).
	Quorum int      `json:"quorum"`
	From   []string `json:"from,omitempty"`
	// Conditions: it applies only when all of them hold (the rule's, and
	// the condition of the binding that makes it apply); empty: always.
	Conditions []string `json:"conditions,omitempty"`
}

// ToolReach is an MCP tool a principal may call; Approvals, when set,
// say that each call needs approval first.
type ToolReach struct {
	Namespace string          `json:"namespace"`
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Approvals []ReachApproval `json:"approvals,omitempty"`
}

// SecretReach is a secret the principal could cause to be injected, and
// the runnable resources whose specs reference it.
type SecretReach struct {
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	Via       []ResourceRef `json:"via"`
	// ViaApproval are resources referencing it that it may run only with
	// a person's approval.
	ViaApproval []ResourceRef `json:"via_approval,omitempty"`
}
