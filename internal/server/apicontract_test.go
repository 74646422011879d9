package server

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
)

// wireType pairs a Go type a route reads or answers with the api type
// that is its public contract.
func wireType[Served, API any]() (reflect.Type, reflect.Type) {
	return reflect.TypeFor[Served](), reflect.TypeFor[API]()
}

// apiTypes maps the request and response types the server still defines
// itself (the problem document, which carries the error behind a 500;
// the audit verification request, whose checkpoints' hashes are validated
// as they are decoded) to their api types. Every other route reads and answers package api's types
// directly. TestRoutesServeAPITypes fails for a route whose types are
// neither, so a new route cannot escape the check.
var apiTypes = func() map[reflect.Type]reflect.Type {
	m := map[reflect.Type]reflect.Type{}
	add := func(s, a reflect.Type) { m[s] = a }
	add(wireType[AuditVerifyRequest, api.AuditVerifyRequest]())
	add(wireType[Problem, api.Problem]())
	// The change feed is encoded with the engine's own types (package
	// authz/feed), so that a replica applies what it decodes as is.
	add(wireType[feed.Page, api.ChangesPage]())
	add(wireType[feed.Header, api.SnapshotHeader]())
	return m
}()

var apiPkg = reflect.TypeFor[api.Org]().PkgPath()

// TestRoutesServeAPITypes checks the OpenAPI document against package api
// field by field, in both directions: for every route, the JSON Schema of
// what it reads and answers (as the document states it) must equal the
// schema of its api type — the same members, each required or optional
// alike, with the same value types, recursively.
func TestRoutesServeAPITypes(t *testing.T) {
	t.Parallel()
	checked := map[reflect.Type]bool{}
	check := func(t *testing.T, what string, served reflect.Type) {
		t.Helper()
		if checked[served] {
			return
		}
		checked[served] = true
		apiT, ok := apiTypes[served]
		if served.PkgPath() == apiPkg {
			apiT, ok = served, true // served as the api type itself
		}
		if !ok {
			t.Errorf("%s: %v has no api type in apiTypes", what, served)
			return
		}
		if diff := cmp.Diff(wireSchema(served), wireSchema(apiT)); diff != "" {
			t.Errorf("%s: %v does not match %v (-served +api):\n%s", what, served, apiT, diff)
		}
	}
	for _, rt := range (&Server{}).routeTable() {
		if rt.raw != nil {
			continue
		}
		if rt.hasBody {
			check(t, rt.Pattern()+" request", rt.reqType)
		}
		check(t, rt.Pattern()+" response", rt.respType)
	}
	check(t, "problem", reflect.TypeFor[Problem]())
	for served := range apiTypes {
		if !checked[served] {
			t.Errorf("apiTypes lists %v, which no route serves", served)
		}
	}
}

// TestWireSchemaSeesDifferences: the comparison fails on a renamed
// member, a member made optional, and a changed value type.
func TestWireSchemaSeesDifferences(t *testing.T) {
	type base struct {
		A string   `json:"a"`
		B []string `json:"b,omitempty"`
	}
	type renamed struct {
		A string   `json:"a2"`
		B []string `json:"b,omitempty"`
	}
	type optional struct {
		A string   `json:"a,omitempty"`
		B []string `json:"b,omitempty"`
	}
	type retyped struct {
		A int      `json:"a"`
		B []string `json:"b,omitempty"`
	}
	want := wireSchema(reflect.TypeFor[base]())
	for _, other := range []reflect.Type{reflect.TypeFor[renamed](), reflect.TypeFor[optional](), reflect.TypeFor[retyped]()} {
		if cmp.Equal(want, wireSchema(other)) {
			t.Errorf("%v compares equal to base", other)
		}
	}
}

// wireSchema is t's JSON Schema as the OpenAPI document states it, with
// every $ref resolved and the prose (descriptions, the reason enum)
// dropped: only the JSON shape is compared.
func wireSchema(t reflect.Type) any {
	g := &schemaGen{defs: map[string]any{}, seen: map[reflect.Type]string{}}
	root := g.schema(t)
	var resolve func(v any, depth int) any
	resolve = func(v any, depth int) any {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if depth > 8 {
					return "recursive"
				}
				return resolve(g.defs[ref[len("#/components/schemas/"):]], depth+1)
			}
			out := map[string]any{}
			for k, x := range v {
				if k == "description" || k == "enum" {
					continue
				}
				out[k] = resolve(x, depth)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = resolve(x, depth)
			}
			return out
		default:
			return v
		}
	}
	return resolve(root, 0)
}
