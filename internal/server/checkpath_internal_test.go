package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
)

// routedTo is where a mux holding every route (and the server's other
// mounts and catch-all) sends a request: the pattern and {org} value of the
// handler that ran, or "redirect"/"other" when none of the routes did.
type routedTo struct {
	Pattern, Org string
}

func muxRoute(t *testing.T, r *http.Request) routedTo {
	t.Helper()
	mux := http.NewServeMux()
	var got routedTo
	for _, rt := range (&Server{}).routeTable() {
		pat := rt.Pattern()
		mux.HandleFunc(pat, func(w http.ResponseWriter, r *http.Request) {
			got = routedTo{Pattern: pat, Org: r.PathValue("org")}
		})
	}
	for _, p := range []string{mcpgw.Prefix, mcpgw.MetadataPrefix, "/console/", "GET /console"} {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) { got = routedTo{Pattern: "other"} })
	}
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) { got = routedTo{Pattern: "other"} })
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	if got == (routedTo{}) {
		got = routedTo{Pattern: "redirect"}
	}
	return got
}

// TestCheckPathOrgAgreesWithMux: the /check fast path of ServeHTTP takes a
// request only when the mux would route it, unchanged, to the /check route
// with the same {org}; every doubtful path is left to the mux (which may
// redirect, unescape or refuse it).
func TestCheckPathOrgAgreesWithMux(t *testing.T) {
	tests := []struct {
		method, target string
		wantFast       bool
		wantOrg        string
	}{
		{"POST", "/v1/orgs/acme/check", true, "acme"},
		{"POST", "/v1/orgs/org-0911/check", true, "org-0911"},
		{"POST", "/v1/orgs/a.b_c~d/check", true, "a.b_c~d"},
		{"POST", "/v1/orgs/acme/check?x=1", true, "acme"},
		{"GET", "/v1/orgs/acme/check", false, ""},
		{"HEAD", "/v1/orgs/acme/check", false, ""},
		{"post", "/v1/orgs/acme/check", false, ""},
		{"POST", "/v1/orgs//check", false, ""},
		{"POST", "/v1/orgs/./check", false, ""},
		{"POST", "/v1/orgs/../check", false, ""},
		{"POST", "/v1/orgs/a/b/check", false, ""},
		{"POST", "/v1/orgs/acme/../acme/check", false, ""},
		{"POST", "/v1/orgs/ac%6De/check", false, ""},
		{"POST", "/v1/orgs/a%2Fb/check", false, ""},
		{"POST", "/v1/orgs/acme/checks", false, ""},
		{"POST", "/v1/orgs/acme/check/", false, ""},
		{"POST", "/v1/orgs/check", false, ""},
		{"POST", "/v1/orgs/acme/xcheck", false, ""},
		{"POST", "//v1/orgs/acme/check", false, ""},
		{"POST", "/v2/orgs/acme/check", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			org, fast := checkPathOrg(r)
			if fast != tt.wantFast || org != tt.wantOrg {
				t.Fatalf("checkPathOrg = %q, %v; want %q, %v", org, fast, tt.wantOrg, tt.wantFast)
			}
			if !fast {
				return // the mux serves it, whatever it decides
			}
			if diff := cmp.Diff(routedTo{Pattern: checkRoutePattern, Org: org}, muxRoute(t, r)); diff != "" {
				t.Errorf("the fast path and the mux disagree (-fast +mux):\n%s", diff)
			}
		})
	}
}

// TestHeaderValue: headerValue answers as http.Header.Get for the
// canonical keys the check path reads — the first value, "" when absent
// or empty — so reading them without canonicalizing changes nothing.
func TestHeaderValue(t *testing.T) {
	h := http.Header{}
	h.Add("Authorization", "Bearer a")
	h.Add("Authorization", "Bearer b")
	h["X-Request-Id"] = []string{}
	h.Set("content-type", "application/json") // Set canonicalizes too
	for _, key := range []string{"Authorization", "X-Request-Id", "Content-Type", "Accept"} {
		if got, want := headerValue(h, key), h.Get(key); got != want {
			t.Errorf("headerValue(%q) = %q, Get = %q", key, got, want)
		}
	}
}
