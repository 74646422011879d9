// Package suite is a policy test suite: a `*_test.yaml` file of fixtures
// (principals, teams, bindings, agents, resources with attributes) and
// expectations (allow, deny, obligations, advice, the deny reason, words of
// the explanation), written case by case or as tables, and the runner that
// decides every expectation with the real engine (docs/policy-tests.md).
//
// Invariants:
//   - Decode never panics and never stops at the first mistake: every
//     problem in a file comes back as a positioned diagnostic
//     (file:line:col), and a Suite is returned only when there are none.
//   - Unknown keys are errors, not ignored: a misspelt `expect` must not
//     turn a test into one that always passes.
//   - The runner decides with authz.Engine on an org built only from the
//     suite's fixtures; nothing outside the file (and its policy) counts.
//   - A case passes only when every expectation it states holds.
package suite

import (
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// Expectation is the decision a case expects.
type Expectation string

// Expectations. ApprovalRequired is part of the file format so suites can
// be written for it, but the engine cannot yet answer it: Decode refuses
// it with a positioned error rather than letting such a case pass or fail
// for the wrong reason.
const (
	Allow            Expectation = "allow"
	Deny             Expectation = "deny"
	ApprovalRequired Expectation = "approval_required"
)

// Suite is one decoded test file.
type Suite struct {
	File string // the file name positions refer to
	Name string
	// Policy is where the policy comes from: a path relative to the file's
	// directory or "template:NAME"; Decode fills in the default
	// (<base>.policy next to <base>_test.yaml).
	Policy    string
	PolicyPos token.Pos
	Org       authz.OrgData // fixtures; Org.Policy is set by the runner
	Cases     []Case
}

// Case is one expectation about one request.
type Case struct {
	Name    string
	Pos     token.Pos
	Request authz.Request // Org is set by the runner
	Expect  Expectation
	// Obligations and Advice, when non-nil, must equal the decision's
	// rule texts (order ignored).
	Obligations, Advice []string
	// Reason, when set, must equal a deny's reason (authz.Reason).
	Reason string
	// Explain, when set, must be contained in the explanation's summary.
	Explain string
}

// Result is the outcome of one case.
type Result struct {
	Case   *Case
	Passed bool
	// Failure says what differed, for a failed case.
	Failure string
	// Got is the decision seen ("allow" or "deny").
	Got string
}
