package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
)

// TestUnknownQueryParameter: a query parameter the route does not take is
// refused naming it, not ignored — a typo in a filter (?princpal=) would
// otherwise answer the unfiltered list as if it were the filtered one.
func TestUnknownQueryParameter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	A := "/v1/orgs/" + w.org
	var all, mine api.List[api.Binding]
	e.must(200, "GET", A+"/bindings", w.owner, nil, &all)
	e.must(200, "GET", A+"/bindings?principal=user:"+w.ownerID+"&page_size=10", w.owner, nil, &mine)
	if len(mine.Items) == 0 || len(mine.Items) >= len(all.Items) {
		t.Fatalf("the filter should narrow the list: %d of %d", len(mine.Items), len(all.Items))
	}
	for _, tc := range []struct {
		path, field, says string
	}{
		{A + "/bindings?princpal=user:" + w.ownerID, "princpal", "takes principal, role, namespace, page_size, cursor"},
		{A + "/audit?limit=5", "limit", "page_size"},
		{"/v1/me?namespac=prod", "namespac", "namespace"},
		{A + "/bindings/" + mine.Items[0].ID + "?x=1", "x", "takes none"},
	} {
		r := e.do("GET", tc.path, w.owner, nil)
		if r.Status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400; body %s", tc.path, r.Status, r.Body)
			continue
		}
		if p := r.problem(t); p.Field != tc.field || !strings.Contains(p.Detail, tc.says) {
			t.Errorf("GET %s: field %q detail %q, want field %q and %q", tc.path, p.Field, p.Detail, tc.field, tc.says)
		}
	}
	// /check, which ServeHTTP routes past the mux, refuses one the same
	// way; a caller who is no member of the org gets the 404 every org
	// route gives it, before anything is judged on its behalf.
	other := buildWorld(t, e, "q") // its owner is no member of w.org
	for _, tc := range []struct {
		by, field string
		want      int
	}{{w.owner, "verbose", http.StatusBadRequest}, {other.owner, "", http.StatusNotFound}} {
		r := e.do("POST", A+"/check?verbose=1", tc.by, map[string]any{"principal": "user:" + w.ownerID, "action": "chains:run", "resource": "chains/x"})
		if p := r.problem(t); r.Status != tc.want || p.Field != tc.field {
			t.Errorf("POST /check?verbose=1: status %d field %q, want %d %q; body %s", r.Status, p.Field, tc.want, tc.field, r.Body)
		}
	}
}
