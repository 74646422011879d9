package server_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestBindingConditionMustNameSomething: a binding whose condition names
// neither a declared condition nor a context flag the policy names (a typo
// such as busines_hours) is refused at write time with a 400 naming the
// condition field, instead of being stored to fail closed forever. The
// refusal comes after bindings:create, so it shows the policy's names only
// to a caller who may bind.
func TestBindingConditionMustNameSomething(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			org := "/v1/orgs/" + w.org
			bind := func(token, cond string) resp {
				t.Helper()
				return e.do("POST", org+"/bindings", token, map[string]any{
					"principal": "user:" + w.viewerID, "role": "operator", "scope": map[string]any{"namespace": "prod"}, "condition": cond})
			}
			refused := func(name, cond, detail string) {
				t.Helper()
				r := bind(w.owner, cond)
				if r.Status != 400 {
					t.Fatalf("%s: %q: %d %s, want 400", name, cond, r.Status, r.Body)
				}
				p := r.problem(t)
				if p.Field != "condition" || !strings.Contains(p.Detail, detail) {
					t.Errorf("%s: %q: field %q detail %q, want field condition and %q", name, cond, p.Field, p.Detail, detail)
				}
			}
			refused("the template declares no condition", "business_hours", "the policy declares none")

			var pol store.Policy
			e.must(200, "GET", org+"/policy", w.owner, nil, &pol)
			text := pol.Text + `
condition business_hours = "context.hour >= 9 && context.hour < 18"
agent Flagged: viewer {
    can read chains when in_prod
}
`
			e.must(200, "PUT", org+"/policy", w.owner, server.PolicyRequest{Text: text}, nil)

			refused("a typo", "busines_hours", "did you mean business_hours?")
			refused("a name nothing declares", "nowhere", `"nowhere" (characters 1-7 of the condition) is neither a condition`)
			if r := bind(w.viewer, "busines_hours"); r.Status != 403 {
				t.Errorf("a caller who may not bind: %d %s, want 403 (before the policy's names are checked)", r.Status, r.Body)
			}
			for _, cond := range []string{"business_hours", "in_prod"} {
				if r := bind(w.owner, cond); r.Status != 201 {
					t.Errorf("declared %q: %d %s, want 201", cond, r.Status, r.Body)
				}
			}
		})
	}
}
