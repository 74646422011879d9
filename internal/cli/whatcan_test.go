package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestWhatCanNamespaceDefault: without -n, what-can answers for every
// namespace, and its help says so instead of the other decision verbs'
// `(default "default")`.
func TestWhatCanNamespaceDefault(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["alice"])
	tests := []struct {
		name string
		args []string
		want []string // namespaces of the rows
	}{
		{"every namespace without -n", []string{"what-can", "user:bob", "chains:run"}, []string{"dev", "dev", "prod", "prod", "prod"}},
		{"-n default is the default namespace only", []string{"what-can", "user:bob", "chains:run", "-n", "default"}, nil},
		{"-n prod", []string{"what-can", "user:bob", "chains:run", "-n", "prod"}, []string{"prod", "prod", "prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append(tt.args, "--server", srv.URL, "--org", "demo")...)
			if r.code != ExitOK {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
				got = append(got, strings.Fields(l)[0])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("namespaces (-want +got):\n%s\n%s", diff, r.stdout)
			}
		})
	}
	h := run(t, "", "what-can", "--help")
	line := ""
	for _, l := range strings.Split(h.stdout, "\n") {
		if strings.Contains(l, "--namespace") {
			line = l
		}
	}
	if !strings.Contains(line, "every namespace") || strings.Contains(line, `"default"`) {
		t.Errorf("what-can --help says of -n: %q; want every namespace as the default", line)
	}
}
