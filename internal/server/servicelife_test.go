package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
)

// TestServiceLifecycleHTTP: services under the agents' lifecycle, end to
// end. Sponsors are optional and validated (400 naming the field); a
// sponsored service whose last sponsor leaves is sponsor_gone — decisions
// deny, its API key is 401, run tokens it issued are refused, list
// --status finds it — until an admin
// assigns new sponsors; a service without sponsors never is. Who else
// could make it happen: another org's admin (404), a viewer (403), an
// admin below the service's level (403), a non-sponsor attesting (403).
func TestServiceLifecycleHTTP(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			w := newTokWorld(t, backend)
			e := w.e
			org := "/v1/orgs/" + w.org
			deploy := w.serviceKey("deploy", "operator")
			decide := func(p string) api.CheckResponse {
				t.Helper()
				var out api.CheckResponse
				e.must(200, "POST", org+"/check", w.owner, map[string]any{"principal": p, "action": "chains:read", "resource": "chains/deploy", "namespace": "prod"}, &out)
				return out
			}
			var out struct {
				Revision uint64      `json:"revision"`
				Item     api.Service `json:"item"`
			}

			// Bad input names the field.
			var many []string
			for i := range 17 {
				many = append(many, fmt.Sprintf("user:u%d", i))
			}
			for _, tc := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"lifecycle without sponsors", map[string]any{"name": "x", "lifecycle": true}, "lifecycle"},
				{"an agent as sponsor", map[string]any{"name": "x", "sponsors": []string{"agent:Helper"}}, "sponsors"},
				{"a stranger as sponsor", map[string]any{"name": "x", "sponsors": []string{"user:nobody"}}, "sponsors"},
				{"17 sponsors", map[string]any{"name": "x", "sponsors": many}, "sponsors"},
				{"sponsors not a list", map[string]any{"name": "x", "sponsors": "user:apvop"}, "sponsors"},
			} {
				if p := e.do("POST", org+"/services", w.owner, tc.body).problem(t); p.Status != 400 || p.Field != tc.field {
					t.Errorf("%s: %d field %q, want 400 naming %s", tc.name, p.Status, p.Field, tc.field)
				}
			}

			// Who else could change the sponsors or attest.
			e.user("svcothers")
			other := e.user("svcotheradmin")
			e.must(201, "POST", "/v1/orgs", other, map[string]any{"id": "svcother"}, nil)
			sponsorsOf := map[string]any{"sponsors": []string{"user:apvop"}}
			if r := e.do("PATCH", org+"/services/deploy", other, sponsorsOf); r.Status != 404 {
				t.Errorf("another org's owner changing sponsors: %d %s", r.Status, r.Body)
			}
			if r := e.do("PATCH", org+"/services/deploy", w.v, sponsorsOf); r.Status != 403 {
				t.Errorf("a viewer changing sponsors: %d %s", r.Status, r.Body)
			}
			e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": "root", "role": "owner"}, nil)
			if r := e.do("PATCH", org+"/services/root", w.ann, sponsorsOf); r.Status != 403 {
				t.Errorf("an admin changing the sponsors of an owner-level service: %d %s", r.Status, r.Body)
			}

			e.must(200, "PATCH", org+"/services/deploy", w.ann, map[string]any{"sponsors": []string{"user:apvop", "user:apvop"}, "lifecycle": true}, &out)
			if got := out.Item; len(got.Sponsors) != 1 || got.Sponsors[0] != "user:apvop" || !got.Lifecycle || got.Status != "active" || got.AttestedAt.IsZero() {
				t.Errorf("sponsored and opted in: %+v", got)
			}
			if r := e.do("POST", org+"/services/deploy/attest", other, nil); r.Status != 404 {
				t.Errorf("another org's owner attesting: %d", r.Status)
			}
			if r := e.do("POST", org+"/services/deploy/attest", w.owner, nil); r.Status != 403 {
				t.Errorf("the org's owner, not a sponsor, attesting: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", org+"/services/deploy/attest", deploy, nil); r.Status != 403 {
				t.Errorf("the service attesting itself: %d %s", r.Status, r.Body)
			}
			e.must(200, "POST", org+"/services/deploy/attest", w.op, nil, &out)
			if out.Item.Status != "active" || out.Revision == 0 {
				t.Errorf("attested: %+v", out)
			}

			// A run token the service issues, for the platform to exchange.
			w.jobWithSecret()
			pending, later := w.runToken(deploy, "service:platform"), w.runToken(deploy, "service:platform")

			// The last sponsor leaves: sponsor_gone everywhere.
			e.must(200, "DELETE", org+"/members/apvop", w.owner, nil, nil)
			if d := decide("service:deploy"); d.Allowed || d.Reason != string(authz.ReasonSponsorGone) {
				t.Errorf("decision after the last sponsor left: %+v", d)
			}
			if d := decide("service:lowly"); !d.Allowed {
				t.Errorf("a service without sponsors: %+v", d)
			}
			if r := e.do("GET", org+"/services/deploy", deploy, nil); r.Status != 401 {
				t.Errorf("the key of a sponsor_gone service: %d %s", r.Status, r.Body)
			}
			if r := e.do("POST", org+"/runs/exchange", w.platform, map[string]any{"token": pending}); r.Status != 403 {
				t.Errorf("exchanging a run token a sponsor_gone service issued: %d %s", r.Status, r.Body)
			}
			var ex api.ExplainResponse
			e.must(200, "POST", org+"/explain", w.owner, map[string]any{"principal": "service:deploy", "action": "chains:read", "resource": "chains/deploy", "namespace": "prod"}, &ex)
			if !strings.Contains(ex.Summary, "sponsor_gone") {
				t.Errorf("explain: %q", ex.Summary)
			}
			var list struct {
				Items []api.Service `json:"items"`
			}
			e.must(200, "GET", org+"/services?status=sponsor_gone", w.owner, nil, &list)
			if len(list.Items) != 1 || list.Items[0].Name != "deploy" || len(list.Items[0].Sponsors) != 0 || list.Items[0].Status != "sponsor_gone" {
				t.Errorf("services sponsor_gone: %+v", list.Items)
			}
			e.must(200, "GET", org+"/services?status=suspended", w.owner, nil, &list)
			if len(list.Items) != 1 {
				t.Errorf("services suspended (any reason): %+v", list.Items)
			}
			e.must(200, "GET", org+"/services?status=active", w.owner, nil, &list)
			for _, sv := range list.Items {
				if sv.Name == "deploy" {
					t.Errorf("deploy listed as active")
				}
			}

			// An admin assigns a new sponsor: everything works again.
			e.must(200, "PATCH", org+"/services/deploy", w.ann, map[string]any{"sponsors": []string{"user:apvamy"}}, &out)
			if out.Item.Status != "active" {
				t.Errorf("after a new sponsor: %+v", out.Item)
			}
			if d := decide("service:deploy"); !d.Allowed {
				t.Errorf("decision after a new sponsor: %+v", d)
			}
			if r := e.do("GET", org+"/services/deploy", deploy, nil); r.Status != 200 {
				t.Errorf("the key after a new sponsor: %d %s", r.Status, r.Body)
			}
			var rel api.Release
			e.must(200, "POST", org+"/runs/exchange", w.platform, map[string]any{"token": later}, &rel)
			if len(rel.Secrets) != 1 {
				t.Errorf("exchange after a new sponsor: %+v", rel)
			}
			ar := e.must(200, "GET", org+"/audit?page_size=1000", w.owner, nil, nil)
			for _, a := range []string{`"service.attest"`, `"service.update"`} {
				if !strings.Contains(string(ar.Body), a) {
					t.Errorf("no %s audit entry", a)
				}
			}
		})
	}
}
