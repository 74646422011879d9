package server_test

import (
	"encoding/json"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
	Comps   struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Summary     string `json:"summary"`
	Parameters  []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]json.RawMessage `json:"responses"`
}

// TestOpenAPIMatchesRouter walks the router: every documented operation is
// routed to exactly its own pattern by the server's mux, every route of
// the table is documented, path parameters are declared, bodies are
// documented iff the route reads one, and every $ref resolves.
func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	r := e.must(200, "GET", "/v1/openapi.json", "", nil, nil)
	var doc openAPIDoc
	r.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]openAPIOperation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	routed := map[string]*server.Route{}
	for _, rt := range e.srv.Routes() {
		routed[rt.Pattern()] = rt
	}
	var missing, extra []string
	for p := range routed {
		if _, ok := documented[p]; !ok {
			missing = append(missing, p)
		}
	}
	for p := range documented {
		if _, ok := routed[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not documented: %v\ndocumented operations not routed: %v", missing, extra)
	}
	ids := map[string]string{}
	for pattern, op := range documented {
		method, path, _ := strings.Cut(pattern, " ")
		// The mux itself must route a request for this path to exactly
		// this pattern (not a neighbour, not a 404/405).
		req := httptest.NewRequest(method, strings.NewReplacer("{", "x", "}", "").Replace(path), nil)
		if got := e.srv.Match(req); got != pattern {
			t.Errorf("%s: the mux routes %s %s to %q", pattern, method, req.URL.Path, got)
		}
		if prev, ok := ids[op.OperationID]; ok || op.OperationID == "" {
			t.Errorf("%s: operationId %q empty or shared with %s", pattern, op.OperationID, prev)
		}
		ids[op.OperationID] = pattern
		if op.Summary == "" {
			t.Errorf("%s: no summary", pattern)
		}
		var declared []string
		for _, p := range op.Parameters {
			if p.In == "path" {
				declared = append(declared, p.Name)
			}
		}
		var want []string
		for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		if d := cmp.Diff(want, declared); d != "" {
			t.Errorf("%s: path parameters (-pattern +documented):\n%s", pattern, d)
		}
		if (op.RequestBody != nil) != routed[pattern].HasBody() {
			t.Errorf("%s: request body documented %v, route reads one %v", pattern, op.RequestBody != nil, routed[pattern].HasBody())
		}
		if _, ok := op.Responses[strconv.Itoa(routed[pattern].Status)]; !ok {
			t.Errorf("%s: success status %d not documented", pattern, routed[pattern].Status)
		}
		if routed[pattern].Access != server.Public {
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s: 401 not documented", pattern)
			}
		}
	}
	// Every $ref resolves.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if _, ok := doc.Comps.Schemas[name]; !ok {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	var raw any
	r.json(t, &raw)
	walk(raw)
}
