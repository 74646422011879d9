package server_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNullBodyIsRefused: encoding/json decodes a JSON null body into any
// request as "nothing given", so `PUT /roles/x` with null reset the role
// and `PUT /audit/settings` with null turned decision logging off, with
// 200 (issue 11). A null body is 400 on every route that takes one
// (TestBadBodies sweeps them all); here the two that did damage, and that
// nothing changed.
func TestNullBodyIsRefused(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, backend, envOpts{})
			w := buildWorld(t, e, "")
			org := "/v1/orgs/" + w.org
			e.must(200, "PUT", org+"/audit/settings", w.owner, map[string]any{"decisions": "all"}, nil)
			state := func() string {
				t.Helper()
				var b strings.Builder
				for _, p := range []string{org + "/roles/" + w.params["role"], org + "/audit/settings"} {
					r := e.do("GET", p, w.owner, nil)
					if r.Status != 200 {
						t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
					}
					b.WriteString(string(r.Body) + "\n")
				}
				return b.String()
			}
			before := state()
			for _, tc := range []struct{ method, path, body string }{
				{"PUT", org + "/roles/" + w.params["role"], "null"},
				{"PUT", org + "/audit/settings", "null"},
				{"PUT", org + "/audit/settings", " \r\n\tnull \n"},
				{"POST", org + "/roles", "null"},
				{"POST", org + "/bindings", "null"},
				{"POST", org + "/check", "null"},  // the hand-written decoder
				{"POST", org + "/checks", "null"}, // the hand-written decoder
			} {
				r := e.doCT(tc.method, tc.path, w.owner, "application/json", tc.body)
				if r.Status != 400 {
					t.Errorf("%s %s with %q: status %d, want 400; body %.300s", tc.method, tc.path, tc.body, r.Status, r.Body)
					continue
				}
				if p := r.problem(t); !strings.Contains(p.Detail, "null") || p.Field != "" {
					t.Errorf("%s %s with %q: problem %+v, want one saying the body is null", tc.method, tc.path, tc.body, p)
				}
			}
			if diff := cmp.Diff(before, state()); diff != "" {
				t.Errorf("null bodies changed the role or the audit settings (-before +after):\n%s", diff)
			}
		})
	}
}
