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

// decideAssuming is decide (acting principal and, on behalf of a user, the
// user) with unmet conditions assumed: whether some conditions would allow
// the request, and which.
func (snap *snapshot) decideAssuming(req *Request) (bool, []string) {
	o, ns, ok := snap.resolve(req)
	if !ok {
		return false, nil
	}
	a := &condAssume{}
	if req.OnBehalfOf != "" {
		pk, _, _ := parsePrincipal(req.Principal)
		uk, _, _ := parsePrincipal(req.OnBehalfOf)
		if (pk != KindAgent && pk != KindService) || uk != KindUser {
			return false, nil
		}
		u := newEval(o, ns, req)
		u.assume = a
		if ok, _ := u.decide(req.OnBehalfOf); !ok {
			return false, nil
		}
	}
	e := newEval(o, ns, req)
	e.assume = a
	if ok, _ := e.decide(req.Principal); !ok {
		return false, nil
	}
	return true, a.sorted()
}
