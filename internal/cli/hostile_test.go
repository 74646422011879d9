package cli

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// hostilePolicy is the file: 10,001 roles each declaring its own
// permission, one of which inherits from the other 10,000. It compiles
// (the server accepts it in tens of MiB), but its matrix would be
// 10,000 rows × 10,001 columns.
func hostilePolicy() string {
	const n = 10_000
	var b strings.Builder
	parents := make([]string, n)
	for i := range n {
		fmt.Fprintf(&b, "role r%d {\n  permission res%d { read }\n}\n", i, i)
		parents[i] = fmt.Sprintf("r%d", i)
	}
	fmt.Fprintf(&b, "role big: %s {\n  permission big { read }\n}\n", strings.Join(parents, ", "))
	return b.String()
}

// allocated runs f and returns the bytes it allocated (all goroutines':
// the test is not parallel, so it is nearly all f's).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostilePolicyBoundedWork: every offline policy command finishes
// on the hostile file within a generous allocation budget; matrix refuses
// the table with a clear error (exit 2) instead of building gigabytes of
// it. Before the bound, matrix allocated about 4 GB here.
func TestHostilePolicyBoundedWork(t *testing.T) {
	path := writeFile(t, "hostile.policy", hostilePolicy())
	const budget = 256 << 20 // bytes allocated per command; they need a fraction of it
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"matrix", []string{"policy", "matrix", path}, ExitBadInput, "10001 permissions × 10001 roles and agents is more than 1048576 cells"},
		{"matrix json", []string{"policy", "matrix", "-o", "json", path}, ExitBadInput, "matrix too large"},
		{"lint", []string{"policy", "lint", path}, ExitOK, ""},
		{"fmt", []string{"policy", "fmt", path}, ExitOK, ""},
		{"check", []string{"policy", "check", path, "--subject", "role:big", "--permission", "res9999:read"}, ExitOK, ""},
		{"check deny", []string{"policy", "check", path, "--subject", "role:r1", "--permission", "res2:read"}, ExitDeny, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r result
			n := allocated(func() { r = run(t, "", tt.args...) })
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %.300q; want exit %d and %q", r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
			t.Logf("%s: %d MiB allocated", tt.name, n>>20)
			if n > budget {
				t.Errorf("%s allocated %d MiB, budget %d MiB", tt.name, n>>20, budget>>20)
			}
		})
	}
}
