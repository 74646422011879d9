package policy

import (
	"strings"
	"testing"
)

// TestConditionCostIsBounded (threat-model row 51): anyone may create an
// org and write its policy, and a condition's CEL runs on the server's
// CPU at every check that reaches it. Nested comprehensions make a short
// expression cost exponentially many steps (here 10^7), and a context list
// sent with the check multiplies them; evaluation must stop at the cost
// limit and fail closed (false, with an error naming the limit), while
// ordinary conditions — a membership test over a 1,000-element context
// list included — still decide.
func TestConditionCostIsBounded(t *testing.T) {
	ten := "[0,1,2,3,4,5,6,7,8,9]"
	nested := "true"
	for _, v := range []string{"g", "f", "e", "d", "c", "b", "a"} {
		nested = ten + ".all(" + v + ", " + nested + " && " + v + " >= 0)"
	}
	tags := make([]any, 1000)
	for i := range tags {
		tags[i] = "t"
	}
	tags[999] = "wanted"
	ctx := map[string]any{"tags": tags, "n": 3}
	for _, row := range []struct {
		name, expr string
		want       bool
		costly     bool // must stop at the cost limit
		tracked    bool // evaluated with cost tracking (its cost grows with its input)
	}{
		{"a comparison", "context.n == 3", true, false, false},
		{"a comparison with a string literal", "context.tags[999] == 'wanted' && context.n > 2", true, false, false},
		{"membership in a 1,000-element list", "context.tags.exists(t, t == 'wanted')", true, false, true},
		{"'in' over a 1,000-element list", "'wanted' in context.tags", true, false, true},
		{"seven nested comprehensions over ten elements (10^7 steps)", nested, false, true, true},
		{"a comprehension over the context, nested twice", "context.tags.all(a, context.tags.all(b, a != 'x'))", false, true, true},
	} {
		t.Run(row.name, func(t *testing.T) {
			if ast, iss := celEnv.Compile(row.expr); iss.Err() != nil {
				t.Fatal(iss.Err())
			} else if got := boundedCost(ast); got == row.tracked {
				t.Errorf("boundedCost = %v, want %v: a condition whose cost grows with its input must be tracked", got, !row.tracked)
			}
			prg, err := compileCEL(row.expr)
			if err != nil {
				t.Fatal(err)
			}
			c := &Condition{Name: "c", Expr: row.expr, prg: prg}
			got, err := c.Eval(Vars{Context: ctx})
			if got != row.want {
				t.Fatalf("Eval = %v (%v), want %v", got, err, row.want)
			}
			if row.costly && (err == nil || !strings.Contains(err.Error(), "cost limit")) {
				t.Errorf("Eval error %v, want the cost limit", err)
			}
			if !row.costly && err != nil {
				t.Errorf("Eval error %v", err)
			}
		})
	}
}
