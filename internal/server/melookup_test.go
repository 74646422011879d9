package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestMeLookupResources: one paged call lists what the caller may run in
// every org it is a member of — all of it, once, in org order — and
// nothing of orgs it is not in; a key confined to an org sees that org.
func TestMeLookupResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	gina := e.user("gina")
	other := e.user("hank")
	var want []string
	for _, org := range []string{"zeta", "alpha", "mid"} {
		e.must(201, "POST", "/v1/orgs", gina, map[string]any{"id": org}, nil)
		for _, id := range []string{"c2", "c1", "c3"} {
			e.must(201, "POST", "/v1/orgs/"+org+"/resources", gina, map[string]any{"namespace": "default", "type": "chains", "id": id}, nil)
			want = append(want, org+"/default/chains/"+id)
		}
	}
	e.must(201, "POST", "/v1/orgs", other, map[string]any{"id": "hanks"}, nil)
	e.must(201, "POST", "/v1/orgs/hanks/resources", other, map[string]any{"namespace": "default", "type": "chains", "id": "secret"}, nil)
	slices.Sort(want)

	collect := func(key string, size string) []string {
		t.Helper()
		var got []string
		cursor := ""
		for range 20 {
			q := url.Values{"action": {"chains:run"}, "page_size": {size}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var page api.MeLookupResourcesResponse
			e.must(200, "GET", "/v1/me/lookup/resources?"+q.Encode(), key, nil, &page)
			for _, r := range page.Items {
				got = append(got, r.Org+"/"+r.Namespace+"/"+r.Type+"/"+r.ID)
			}
			if page.Revision == 0 {
				t.Errorf("page without a revision")
			}
			if cursor = page.NextCursor; cursor == "" {
				return got
			}
		}
		t.Fatalf("more than 20 pages")
		return nil
	}
	for _, size := range []string{"1", "2", "4", "100"} {
		if d := cmp.Diff(want, collect(gina, size)); d != "" {
			t.Errorf("page_size %s (-want +got):\n%s", size, d)
		}
	}
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/orgs/mid/apikeys", gina, map[string]any{}, &kc)
	if d := cmp.Diff([]string{"mid/default/chains/c1", "mid/default/chains/c2", "mid/default/chains/c3"}, collect(kc.Token, "2")); d != "" {
		t.Errorf("a key confined to mid (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"hanks/default/chains/secret"}, collect(other, "10")); d != "" {
		t.Errorf("hank (-want +got):\n%s", d)
	}
	for _, tc := range []struct{ name, query string }{
		{"no action", "page_size=5"},
		{"bad action", "action=run"},
		{"bad page size", "action=chains:run&page_size=0"},
		{"forged cursor", "action=chains:run&cursor=bm90IGEgY3Vyc29y"},
		{"bad namespace", "action=chains:run&namespace=No%20Such"},
	} {
		r := e.do("GET", "/v1/me/lookup/resources?"+tc.query, gina, nil)
		if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 400 or 422; body %s", tc.name, r.Status, r.Body)
		}
	}
}
