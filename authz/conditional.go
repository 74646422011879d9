package authz

import "slices"

// Conditional answers (LookupSubjectsRequest.IncludeConditional,
// LookupResourcesRequest.IncludeConditional): a principal or resource that
// Check denies only because a condition does not hold now is listed with
// the conditions that would allow it, as SpiceDB reports conditional
// permissionship, instead of being left out. The decision is re-made with
// every condition that does not hold assumed to hold (conditions only ever
// gate grants, so assuming them can only allow more); the conditions so
// assumed on the way to the allow are the answer's conditions.

// condAssume records the conditions a decision assumed.
type condAssume struct{ names []string }

func (a *condAssume) add(name string) {
	if !slices.Contains(a.names, name) {
		a.names = append(a.names, name)
	}
}

func (a *condAssume) sorted() []string {
	out := slices.Clone(a.names)
	slices.Sort(out)
	return out
}

// conditionalDecide says whether some conditions, assumed to hold, would
// allow the request (or answer approval required, as lookups list what
// may be done with approval), and which (sorted).
func (snap *snapshot) conditionalDecide(req *Request) (bool, []string) {
	a := &condAssume{}
	d, _ := snap.decideAssuming(req, a)
	if !d.Allowed && !d.ApprovalRequired { // allowed, with a person's approval or without
		return false, nil
	}
	return true, a.sorted()
}
