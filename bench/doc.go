// Package bench compares the Gatehouse decision engine (package authz) with
// Casbin on the same data, and measures the Gatehouse-only goals of
// docs/benchmarks.md (heap per binding, cold build, binding change latency,
// resource lookup).
//
// It is a separate Go module so that comparison-only dependencies (Casbin)
// never enter the main module's go.mod; it imports the main module through a
// replace directive.
//
// Invariants:
//   - Datasets are generated deterministically (fixed seeds, no map-order
//     dependence) and once per process; both engines are built from the same
//     generated Dataset, never from separately generated data.
//   - Every request slice is half allowed and half denied according to a
//     naive reference evaluator (oracle.go), and before any timing both
//     engines must agree with that reference on every request; a benchmark
//     whose engines disagree fails instead of reporting a number.
//   - Timed loops contain only the operation being measured; generation,
//     building and verification happen before b.ResetTimer (or with the
//     timer stopped).
//
// Mapping to Casbin's RBAC-with-domains model (r = sub, dom, obj, act):
// sub is the Gatehouse principal id, dom is "<org>/<namespace>", obj is
// "<type>/<id>" and act is the action. Casbin has no scope hierarchy, so an
// org-scoped Gatehouse binding becomes one grouping rule per namespace of the
// org, and a resource-scoped binding becomes direct p rules on the resource.
// Where roles hold wildcard patterns, the Casbin matcher uses keyMatch on obj
// and act ("chains/*", "*"); otherwise it uses plain equality.
package bench
