package sqlcore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStringsKeyIsExistsKey: existsStrings must find what Prefetch and
// noteFound remembered under existsKey, so for string arguments the two
// keys must be the same bytes.
func TestStringsKeyIsExistsKey(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		args []string
	}{
		{"org", `SELECT 1 FROM orgs WHERE id = $1`, []string{"acme"}},
		{"namespace", namespaceExistsSQL, []string{"acme", "bulk"}},
		{"member", memberExistsSQL, []string{"acme", "u1"}},
		{"resource", resourceExistsSQL, []string{"acme", "bulk", "chains", "c1"}},
		{"empty and NUL arguments", resourceExistsSQL, []string{"", "a\x00s", "", "x"}},
		{"no arguments", `SELECT 1`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			boxed := make([]any, len(tt.args))
			for i, a := range tt.args {
				boxed[i] = a
			}
			want, ok := existsKey(tt.sql, boxed)
			if !ok {
				t.Fatalf("existsKey(%q, %q) is not cacheable", tt.sql, tt.args)
			}
			got := string(appendStringsKey([]byte("stale scratch"), tt.sql, tt.args)[len("stale scratch"):])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("appendStringsKey differs from existsKey (-existsKey +appendStringsKey):\n%s", diff)
			}
		})
	}
}
