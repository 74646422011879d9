package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/policy/parser"
)

// naiveMatrix is the matrix's specification, cell by cell, the slow way:
// a role column has a row's pattern when one of its flattened patterns
// covers it; an agent column when its role's does, conditionally when the
// agent lists the permission as conditional.
func naiveMatrix(m *Model, mx Matrix) [][]string {
	var out [][]string
	for _, row := range mx.Rows {
		var cells []string
		for _, col := range mx.Columns {
			role := col.Name
			if col.Kind == "agent" {
				role = col.Role
			}
			r, ok := m.Role(role)
			c := CellNone
			if ok {
				for _, q := range r.Permissions {
					if q.Covers(row.Permission) {
						c = CellGranted
					}
				}
			}
			if c == CellGranted && ok {
				asks := r.Asks
				if a, isAgent := m.Agent(col.Name); col.Kind == "agent" && isAgent {
					asks = append(slices.Clone(asks), a.Asks...)
				}
				for _, ask := range asks {
					if ask.Permission == row.Permission {
						c = CellApproval
					}
				}
			}
			if a, isAgent := m.Agent(col.Name); c == CellGranted && col.Kind == "agent" && isAgent {
				for _, cp := range a.Conditional {
					if cp.Permission == row.Permission {
						c = CellConditional
					}
				}
			}
			cells = append(cells, c)
		}
		out = append(out, cells)
	}
	return out
}

// checkMatrix builds m's matrix and compares it with the naive one.
func checkMatrix(t *testing.T, m *Model) {
	t.Helper()
	mx, err := BuildMatrix(m)
	if errors.Is(err, ErrMatrixTooLarge) {
		return
	}
	if err != nil {
		t.Fatalf("BuildMatrix: %v", err)
	}
	var got [][]string
	for _, r := range mx.Rows {
		if len(r.Cells) != len(mx.Columns) || (r.Conditions != nil && len(r.Conditions) != len(mx.Columns)) {
			t.Fatalf("row %s: %d cells, %d conditions, %d columns", r.Permission, len(r.Cells), len(r.Conditions), len(mx.Columns))
		}
		for i, c := range r.Cells {
			if (c == CellConditional) != (r.Conditions != nil && len(r.Conditions[i]) > 0) {
				t.Fatalf("row %s column %d: cell %q with conditions %v", r.Permission, i, c, r.Conditions)
			}
		}
		got = append(got, r.Cells)
	}
	if diff := cmp.Diff(naiveMatrix(m, mx), got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("matrix (-naive +built):\n%s", diff)
	}
}

func matrixSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	for _, pattern := range []string{"testdata/compile/*.policy", "testdata/lint/*.policy", "testdata/parse/*.policy", "../templates/*.policy", "../examples/*.policy"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			seeds[f] = src
		}
	}
	return seeds
}

// TestMatrixAgreesWithCovers: on every policy of the repository, the
// matrix's binary searches give the cells a scan of Covers gives.
func TestMatrixAgreesWithCovers(t *testing.T) {
	n := 0
	for name, src := range matrixSeeds(t) {
		m, _ := Load(name, src, LintOptions{})
		if m == nil {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) { checkMatrix(t, m) })
	}
	if n < 5 {
		t.Fatalf("only %d seed policies compiled", n)
	}
}

// hostilePolicy is the file: 10,001 roles each declaring its own
// permission, one of which inherits from the other 10,000.
func hostilePolicy() []byte {
	const n = 10_000
	var b strings.Builder
	parents := make([]string, n)
	for i := range n {
		fmt.Fprintf(&b, "role r%d {\n  permission res%d { read }\n}\n", i, i)
		parents[i] = fmt.Sprintf("r%d", i)
	}
	fmt.Fprintf(&b, "role big: %s {\n  permission big { read }\n}\n", strings.Join(parents, ", "))
	return []byte(b.String())
}

// TestMatrixTooLarge: the hostile policy compiles, but its
// 10,001 × 10,001 matrix is refused, by size, before it is built; a
// matrix at the bound is built.
func TestMatrixTooLarge(t *testing.T) {
	m, diags := Load("hostile.policy", hostilePolicy(), LintOptions{})
	if m == nil {
		t.Fatalf("the hostile policy does not compile: %v", diags.Errors())
	}
	if _, err := BuildMatrix(m); !errors.Is(err, ErrMatrixTooLarge) ||
		!strings.Contains(err.Error(), "10001 permissions × 10001 roles and agents") {
		t.Errorf("BuildMatrix err = %v, want ErrMatrixTooLarge naming the size", err)
	}
	// 1024 roles with one permission each, and one agent: 1024 × 1025
	// is over the bound; 1023 roles are under it.
	square := func(n int) *Model {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "role r%d { permission p%d { a } }\n", i, i)
		}
		b.WriteString("agent A: r0 { }\n")
		return MustLoad("square.policy", b.String())
	}
	if _, err := BuildMatrix(square(1024)); !errors.Is(err, ErrMatrixTooLarge) {
		t.Errorf("1024 × 1025: err = %v, want ErrMatrixTooLarge", err)
	}
	mx, err := BuildMatrix(square(1023))
	if err != nil || len(mx.Rows) != 1023 || len(mx.Columns) != 1024 {
		t.Errorf("1023 × 1024: %d rows, %d columns, err %v", len(mx.Rows), len(mx.Columns), err)
	}
}

// TestCompileSharedInheritanceTooComplex: roles that keep little but
// look at a lot (300 roles each inheriting the same 1,000 permissions
// through 300 parents: 90 million look-ups) exceed the flattening budget,
// though what they keep (600,000 entries) would fit.
func TestCompileSharedInheritanceTooComplex(t *testing.T) {
	var b strings.Builder
	b.WriteString("role a { permission r { ")
	for i := range 1000 {
		fmt.Fprintf(&b, "x%d, ", i)
	}
	b.WriteString("} }\n")
	var bs []string
	for i := range 300 {
		fmt.Fprintf(&b, "role b%d: a { }\n", i)
		bs = append(bs, fmt.Sprintf("b%d", i))
	}
	for i := range 300 {
		fmt.Fprintf(&b, "role c%d: %s { }\n", i, strings.Join(bs, ", "))
	}
	m, diags := Load("shared.policy", []byte(b.String()), LintOptions{})
	if m != nil {
		t.Fatal("the policy compiled")
	}
	if diff := cmp.Diff([]string{CodeTooComplex}, codes(diags)); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
}

// FuzzMatrix: whatever the source, parse → compile → matrix never panics,
// and a matrix that is built agrees cell by cell with the naive one.
func FuzzMatrix(f *testing.F) {
	for _, src := range matrixSeeds(f) {
		f.Add(src)
	}
	f.Add([]byte("role a { permission * { read } }\nrole b: a { permission x { * } }\nagent A: b { can read x when c }\ncondition c = \"true\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := parser.ParseFile("f.policy", src)
		if diags.HasErrors() {
			return
		}
		m, _ := Compile(file)
		if m == nil {
			return
		}
		checkMatrix(t, m)
	})
}
