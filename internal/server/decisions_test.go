package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// TestConsistency: a write's revision, passed as consistency.at_least,
// makes the next decision see it — a grant and, the "new enemy" case, a
// revocation; a revision that is never reached answers 503 with
// Retry-After after the bounded wait, never an older answer.
func TestConsistency(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, envOpts{cfg: func(c *server.Config) { c.ConsistencyTimeout = 100 * time.Millisecond }})
			w := buildWorld(t, e, "")
			check := func(rev uint64) (server.CheckResponse, resp) {
				var got server.CheckResponse
				r := e.do("POST", "/v1/orgs/acme/check", w.viewer, map[string]any{
					"action": "chains:create", "namespace": "prod", "consistency": map[string]any{"at_least": rev}})
				if r.Status == 200 {
					r.json(t, &got)
				}
				return got, r
			}
			if got, _ := check(w.rev); got.Allowed {
				t.Fatal("viewer may create chains before any grant")
			}
			var b server.Written[struct {
				ID string `json:"id"`
			}]
			e.must(201, "POST", "/v1/orgs/acme/bindings", w.owner, map[string]any{
				"principal": "user:viewer", "role": "builder", "scope": map[string]any{"namespace": "prod"}}, &b)
			if got, r := check(b.Revision); !got.Allowed || got.Revision < b.Revision {
				t.Errorf("after the grant at %d: %d %s", b.Revision, r.Status, r.Body)
			}
			var del server.Revision
			e.must(200, "DELETE", "/v1/orgs/acme/bindings/"+b.Item.ID, w.owner, nil, &del)
			if del.Revision <= b.Revision {
				t.Errorf("delete answered revision %d after %d", del.Revision, b.Revision)
			}
			if got, r := check(del.Revision); got.Allowed || r.Status != 200 {
				t.Errorf("after the revocation at %d: %d %s", del.Revision, r.Status, r.Body)
			}
			// Unreachable: 503 not-caught-up with Retry-After, on every
			// decision route.
			far := del.Revision + 1_000_000
			for _, tc := range []struct{ method, path string }{
				{"POST", "/v1/orgs/acme/check"}, {"POST", "/v1/orgs/acme/checks"}, {"POST", "/v1/orgs/acme/explain"},
				{"POST", "/v1/orgs/acme/lookup/resources"}, {"POST", "/v1/orgs/acme/lookup/subjects"},
				{"GET", fmt.Sprintf("/v1/orgs/acme/principals/user:viewer/permissions?at_least=%d", far)},
			} {
				var body any
				if tc.method == "POST" {
					body = map[string]any{"action": "chains:run", "consistency": map[string]any{"at_least": far}}
					if strings.HasSuffix(tc.path, "checks") {
						body = map[string]any{"checks": []any{map[string]any{"action": "chains:run"}}, "consistency": map[string]any{"at_least": far}}
					}
				}
				start := time.Now()
				r := e.do(tc.method, tc.path, w.owner, body)
				if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
					t.Errorf("%s %s at an unreachable revision: %d (Retry-After %q) %s", tc.method, tc.path, r.Status, r.Header.Get("Retry-After"), r.Body)
					continue
				}
				if p := r.problem(t); p.Type != server.ProblemBase+server.ProblemNotCaughtUp {
					t.Errorf("%s: problem %s", tc.path, p.Type)
				}
				if time.Since(start) > 20*time.Second {
					t.Errorf("%s: the wait was not bounded", tc.path)
				}
			}
		})
	}
}

// TestBatchChecks: up to 1,000 checks answered independently — a bad item
// or one the caller may not ask gets its own problem, the others their
// decisions; 1,001 is refused whole.
func TestBatchChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	items := make([]map[string]any, server.MaxBatch)
	for i := range items {
		switch i % 4 {
		case 0:
			items[i] = map[string]any{"action": "chains:read", "namespace": "prod"} // viewer may read
		case 1:
			items[i] = map[string]any{"action": "chains:run", "resource": "chains/triage", "namespace": "prod"}
		case 2:
			items[i] = map[string]any{"action": "chains:delete"}
		case 3:
			items[i] = map[string]any{"action": "chains:read", "resource": fmt.Sprintf("chains/c%d", i)}
		}
	}
	items[7] = map[string]any{"action": "chains*:run"}                       // malformed
	items[8] = map[string]any{"action": "chains:run", "resource": "tools/x"} // type mismatch
	items[9] = map[string]any{"action": "chains:run", "principal": "user:owner"}
	var got server.BatchCheckResponse
	e.must(200, "POST", "/v1/orgs/acme/checks", w.viewer, map[string]any{"checks": items}, &got)
	if len(got.Results) != server.MaxBatch {
		t.Fatalf("%d results for %d checks", len(got.Results), server.MaxBatch)
	}
	for i, r := range got.Results {
		var want bool
		var wantErr string
		switch {
		case i == 7 || i == 8:
			wantErr = server.ProblemBase + server.ProblemInvalid
		case i == 9:
			wantErr = server.ProblemBase + server.ProblemForbidden // asking about another principal
		case i%4 == 0 || i%4 == 3:
			want = true
		}
		if wantErr != "" {
			if r.Error == nil || r.Error.Type != wantErr || r.Allowed || !strings.HasPrefix(r.Error.Field, fmt.Sprintf("checks[%d]", i)) {
				t.Errorf("item %d: %+v, want error %s", i, r, wantErr)
			}
			continue
		}
		if r.Error != nil || r.Allowed != want {
			t.Errorf("item %d: %+v, want allowed=%v", i, r, want)
		}
	}
	// The cache of who may ask holds per namespace whether the caller asks
	// about itself or about others: having asked about itself never lets a
	// viewer ask about someone else.
	for range 2 {
		e.must(200, "POST", "/v1/orgs/acme/check", w.viewer, map[string]any{"action": "chains:read", "namespace": "prod"}, nil)
		e.must(403, "POST", "/v1/orgs/acme/check", w.viewer, map[string]any{"action": "chains:read", "namespace": "prod", "principal": "user:owner"}, nil)
	}
	over := make([]map[string]any, server.MaxBatch+1)
	for i := range over {
		over[i] = map[string]any{"action": "chains:read"}
	}
	r := e.do("POST", "/v1/orgs/acme/checks", w.viewer, map[string]any{"checks": over})
	if r.Status != 400 || r.problem(t).Field != "checks" {
		t.Errorf("1,001 checks: %d %s", r.Status, r.Body)
	}
}

// TestBatchChecksReuseNothing: /checks reuses its items and results
// between calls (a pool), so concurrent and successive batches of other
// sizes, other orgs and other callers — some with bad items, some
// refused whole — must each get exactly their own answers: one result per
// item, no leftover decision, error or reason of an earlier call.
func TestBatchChecksReuseNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	worlds := []*world{buildWorld(t, e, ""), buildWorld(t, e, "b")}
	type batch struct {
		w     *world
		items []map[string]any
		want  []string // "allow", "deny" or "error"
	}
	mk := func(w *world, n, seed int) batch {
		b := batch{w: w}
		for i := range n {
			switch (i + seed) % 3 {
			case 0:
				b.items = append(b.items, map[string]any{"action": "chains:read", "namespace": w.org[:len(w.org)-4] + "prod"})
				b.want = append(b.want, "allow")
			case 1:
				b.items = append(b.items, map[string]any{"action": "chains:delete"})
				b.want = append(b.want, "deny")
			case 2:
				b.items = append(b.items, map[string]any{"action": "chains:run", "resource": "tools/x"})
				b.want = append(b.want, "error")
			}
		}
		return b
	}
	var batches []batch
	for i, n := range []int{server.MaxBatch, 1, 7, 500, 2, server.MaxBatch, 3} {
		batches = append(batches, mk(worlds[i%2], n, i))
	}
	run := func(t *testing.T, b batch) {
		t.Helper()
		var got server.BatchCheckResponse
		r := e.do("POST", "/v1/orgs/"+b.w.org+"/checks", b.w.viewer, map[string]any{"checks": b.items})
		if r.Status != 200 {
			t.Errorf("%s: %d %s", b.w.org, r.Status, r.Body)
			return
		}
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Errorf("%s: %v", b.w.org, err)
			return
		}
		if len(got.Results) != len(b.items) {
			t.Errorf("%s: %d results for %d checks", b.w.org, len(got.Results), len(b.items))
			return
		}
		for i, r := range got.Results {
			switch b.want[i] {
			case "allow":
				if !r.Allowed || r.Error != nil || r.Reason != "" {
					t.Errorf("%s item %d: %+v, want allowed", b.w.org, i, r)
				}
			case "deny":
				if r.Allowed || r.Error != nil || r.Reason == "" {
					t.Errorf("%s item %d: %+v, want a denial with its reason", b.w.org, i, r)
				}
			case "error":
				if r.Allowed || r.Error == nil || r.Error.Field != fmt.Sprintf("checks[%d].resource", i) {
					t.Errorf("%s item %d: %+v, want its own error", b.w.org, i, r)
				}
			}
		}
	}
	// Successive, with a batch refused whole (bad JSON mid-way, too many
	// items) between them: the refused call's items must not surface.
	for i, b := range batches {
		run(t, b)
		bad := `{"checks":[{"action":"chains:read","namespace":"prod"},{"action":` + fmt.Sprint(i) + `}]}`
		if r := e.do("POST", "/v1/orgs/"+b.w.org+"/checks", b.w.viewer, bad); r.Status != 400 {
			t.Errorf("malformed batch: %d %s", r.Status, r.Body)
		}
	}
	// Concurrent.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range 6 {
				run(t, batches[(g+k)%len(batches)])
			}
		})
	}
	wg.Wait()
}
