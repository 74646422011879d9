package directory

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// View is one state of the engine, asked the questions that compare two
// principals (DESIGN §1.2: a credential's minter against its principal):
// Standing, HighestLevel, Missing, Grants, PatternsHeld and
// EngineTargetScopes. The Directory's methods of those names ask the live
// engine; a pinned View (Pin) asks the state the engine held when it was
// pinned, which no later write changes.
type View struct{ eng *authz.Engine }

// Pin is the engine's current state, kept as it is: a later write is not
// seen through it. It reads nothing and copies nothing (the engine's
// published state is immutable: authz.Engine.Fork), so a caller may pin
// before a write it does not yet know will be allowed and compare after
// it committed (the keys a write stopped, threat-model row 99).
func (d *Directory) Pin() View { return View{d.eng.Fork()} }

// live is the View of the live engine.
func (d *Directory) live() View { return View{d.eng} }

// Standing is Directory.Standing at v.
func (v View) Standing(org, principal string, now time.Time) (member bool, why authz.Reason) {
	return v.eng.Standing(org, principal, now)
}

// Missing is Directory.Missing at v.
func (v View) Missing(org, principal string, sc authz.Scope, perms []policy.Permission) []policy.Permission {
	return v.eng.Missing(org, principal, sc, perms)
}

// HighestLevel is Directory.HighestLevel at v.
func (v View) HighestLevel(org, principal string, sc authz.Scope) int {
	return v.eng.HighestLevel(org, principal, sc)
}

// Grants is Directory.Grants at v.
func (v View) Grants(org, principal, namespace string) ([]authz.Grant, error) {
	gs, _, err := v.eng.Permissions(org, principal, namespace)
	return gs, err
}

// PatternsHeld is Directory.PatternsHeld at v.
func (v View) PatternsHeld(org, principal string, sc authz.Scope) []policy.Permission {
	return v.eng.PatternsHeld(org, principal, sc)
}

// EngineTargetScopes is Directory.EngineTargetScopes at v.
func (v View) EngineTargetScopes(org, target string) []authz.Scope {
	nss := v.eng.Namespaces(org)
	held := v.eng.ResourceScopesHeld(org, target)
	scopes := make([]authz.Scope, 1, 1+len(nss)+len(held))
	for _, n := range nss {
		scopes = append(scopes, authz.Scope{Namespace: n})
	}
	return append(scopes, held...)
}
