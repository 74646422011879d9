package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMatrixMarksApproval: a granted permission an ask rule names is an
// approval cell for the role (not the roles inheriting it: ask rules are
// not inherited) and the agents whose ceiling it is or that ask
// themselves; other cells are unchanged.
func TestMatrixMarksApproval(t *testing.T) {
	src := `
role admin level 100 {
    permission chains { update, run }
    permission decisions { approve }
}
role builder level 50 {
    permission chains { update, run }
    ask before update chains when in_prod from admin quorum 2
}
role lead: builder level 60 {
}
agent Deployer: admin {
    ask before run chains
}
agent Helper: builder {
}
`
	m, diags := Load("m.policy", []byte(src), LintOptions{})
	if m == nil {
		t.Fatalf("does not compile: %v", diags)
	}
	mx, err := BuildMatrix(m)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, r := range mx.Rows {
		got[r.Permission.String()] = map[string]string{}
		for i, c := range r.Cells {
			got[r.Permission.String()][mx.Columns[i].Name] = c
		}
	}
	want := map[string]map[string]string{
		"chains:update":     {"admin": CellGranted, "lead": CellGranted, "builder": CellApproval, "Deployer": CellGranted, "Helper": CellApproval},
		"chains:run":        {"admin": CellGranted, "lead": CellGranted, "builder": CellGranted, "Deployer": CellApproval, "Helper": CellGranted},
		"decisions:approve": {"admin": CellGranted, "lead": CellNone, "builder": CellNone, "Deployer": CellGranted, "Helper": CellNone},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
	checkMatrix(t, m)
}
