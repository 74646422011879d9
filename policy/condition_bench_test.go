package policy

import "testing"

// BenchmarkConditionEval: one evaluation of a condition whose cost is
// bounded whatever its input (untracked) and of one that scans a list
// (evaluated with cel-go's cost tracking, ConditionCostLimit).
func BenchmarkConditionEval(b *testing.B) {
	tags := []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "wanted"}
	vars := Vars{Context: map[string]any{"hour": 10, "tags": tags}, Resource: map[string]any{"namespace": "prod"}}
	for _, bc := range []struct{ name, expr string }{
		{"comparison", "context.hour >= 9 && context.hour < 17 && resource.namespace == 'prod'"},
		{"exists-over-10", "context.tags.exists(t, t == 'wanted')"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			prg, err := compileCEL(bc.expr)
			if err != nil {
				b.Fatal(err)
			}
			c := &Condition{Name: "c", Expr: bc.expr, prg: prg}
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := c.Eval(vars); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
