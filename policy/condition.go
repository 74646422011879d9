package policy

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
)

// Condition is a named CEL expression, compiled once.
//
// The expression sees three variables, each a map from string to any JSON
// value: `principal` (id, kind, attributes), `resource` (type, id,
// namespace, labels, attributes, spec) and `context` (what the caller sent).
// It must be of type bool.
type Condition struct {
	Name string
	Expr string
	Pos  token.Pos
	prg  cel.Program
}

// Vars is what a condition is evaluated against. Nil maps are empty.
type Vars struct {
	Principal map[string]any
	Resource  map[string]any
	Context   map[string]any
}

var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("principal", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("resource", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("context", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(fmt.Sprintf("policy: building the CEL environment: %v", err))
	}
	return env
}()

// ConditionCostLimit bounds one evaluation of a condition, in cel-go's
// cost units (about one per comparison, field access or comprehension
// step): a condition that reaches it stops with an error and fails closed
// (false for a grant; an `ask before` rule or an obligation then applies).
// Anyone may write an org's policy, and a condition runs on the server's
// CPU at each check that reaches it: without a bound, seven nested
// comprehensions over a ten-element list cost 10^7 steps, and three over a
// context list sent with the check far more (threat-model row 51). The
// bound leaves room for a scan of a list of tens of thousands of elements.
const ConditionCostLimit = 100_000

// compileCEL compiles expr and requires a bool result. The error text is a
// one-line message fit for a diagnostic.
func compileCEL(expr string) (cel.Program, error) {
	ast, iss := celEnv.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("%s", oneLine(iss.Err().Error()))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) && !ast.OutputType().IsExactType(cel.DynType) {
		return nil, fmt.Errorf("expression has type %s, want bool", ast.OutputType())
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if !boundedCost(ast) {
		opts = append(opts, cel.CostLimit(ConditionCostLimit))
	}
	prg, err := celEnv.Program(ast, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s", oneLine(err.Error()))
	}
	return prg, nil
}

// maxInputSize is more than the size (string length, list or map entries)
// of any value a condition can see: requests, resource specs and
// attributes are all far smaller (the largest request body is 4 MiB).
const maxInputSize = 1 << 26

// sizeBound tells cel-go's cost estimator that no input exceeds
// maxInputSize.
type sizeBound struct{}

func (sizeBound) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxInputSize}
}

func (sizeBound) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// boundedCost reports whether ast's worst-case cost, over inputs of any
// size up to maxInputSize, is within ConditionCostLimit: such a condition
// (comparisons, field accesses, tests against literals) needs no cost
// tracking, which costs each evaluation about a microsecond; any other
// (comprehensions, string functions over inputs) is tracked and stopped
// at the limit.
func boundedCost(ast *cel.Ast) bool {
	est, err := celEnv.EstimateCost(ast, sizeBound{})
	return err == nil && est.Max <= ConditionCostLimit
}

func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// Eval evaluates the condition. It fails closed: an evaluation error or a
// non-bool result yields false together with the error.
func (c *Condition) Eval(v Vars) (bool, error) {
	if c.prg == nil {
		return false, fmt.Errorf("condition %q is not compiled", c.Name)
	}
	out, _, err := c.prg.Eval(map[string]any{
		"principal": orEmpty(v.Principal),
		"resource":  orEmpty(v.Resource),
		"context":   orEmpty(v.Context),
	})
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", c.Name, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition %q: result is %T, want bool", c.Name, out.Value())
	}
	return b, nil
}

var emptyMap = map[string]any{}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return emptyMap
	}
	return m
}

// EvalCondition decides a named condition as DESIGN §1.1.6 says: a name
// defined with `condition` is evaluated as CEL; any other name is looked up
// in the context and holds only if it is the boolean true. Errors fail
// closed (false) and are returned for explanations.
func (m *Model) EvalCondition(name string, v Vars) (bool, error) {
	if c, ok := m.conditions[name]; ok {
		return c.Eval(v)
	}
	b, ok := v.Context[name].(bool)
	return ok && b, nil
}
