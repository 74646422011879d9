package server

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
)

// The OpenAPI 3.1 document is built from the route table at start: paths
// and operations from the routes, JSON Schemas by reflection from each
// route's request and response Go types (json tags, omitempty → optional).
// TestOpenAPIMatchesRouter keeps it true: every pattern registered on the
// mux is documented and every documented operation is routed.

// openAPIErrors are the problem statuses every authenticated operation
// may answer.
var openAPIErrors = []int{400, 401, 403, 404, 409, 413, 415, 422, 429, 503}

type schemaGen struct {
	defs map[string]any
	seen map[reflect.Type]string
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	rawType         = reflect.TypeFor[json.RawMessage]()
	reasonType      = reflect.TypeFor[authz.Reason]()
	textMarshalType = reflect.TypeFor[encoding.TextMarshaler]()
)

// name is a type's component name: "CheckRequest" for this package's
// and package api's types, "store.Org" for others, "List_store.Org" for generic ones.
func schemaName(t reflect.Type) string {
	n := t.Name()
	pkg := t.PkgPath()
	short := pkg[strings.LastIndex(pkg, "/")+1:]
	if i := strings.IndexByte(n, '['); i >= 0 {
		base, args := n[:i], strings.TrimSuffix(n[i+1:], "]")
		var parts []string
		for _, a := range strings.Split(args, ",") {
			a = strings.TrimSpace(a)
			a = a[strings.LastIndex(a, "/")+1:]
			a = strings.TrimPrefix(a, "server.")
			a = strings.TrimPrefix(a, "api.")
			a = strings.NewReplacer("[", "_", "]", "", "*", "").Replace(a)
			parts = append(parts, a)
		}
		n = base + "_" + strings.Join(parts, "_")
	}
	if short != "server" && short != "api" && short != "" {
		n = short + "." + n
	}
	return n
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{"description": "any JSON value"}
	case t == reasonType:
		return map[string]any{"type": "string", "enum": authz.Reasons(),
			"description": "why a deny is a deny (absent when allowed); docs/api.md says what each means"}
	case t.Kind() != reflect.Struct && reflect.PointerTo(t).Implements(textMarshalType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{"description": "any JSON value"}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := schemaName(t)
		if _, ok := g.seen[t]; !ok {
			g.seen[t] = name
			g.defs[name] = nil // reserve (recursive types)
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// object is a struct's schema: its exported, json-visible fields;
// embedded structs are flattened as encoding/json does.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if f.Tag.Get("openapi") == "reason" { // package api's reasons are strings
				props[name] = g.schema(reasonType)
			}
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
	}
	walk(t)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		out["required"] = required
	}
	return out
}

func (s *Server) buildOpenAPI() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}, seen: map[reflect.Type]string{}}
	problemRef := g.schema(reflect.TypeFor[api.Problem]())
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"operationId": operationID(rt),
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
		}
		var params []any
		for _, p := range pathParams(rt.Path) {
			params = append(params, map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false,
				"description": q.Doc, "schema": map[string]any{"type": q.Type}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.hasBody {
			op["requestBody"] = map[string]any{
				"required": !rt.OptionalBody,
				"content":  map[string]any{"application/json": map[string]any{"schema": g.schema(rt.reqType)}},
			}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(rt.Status)}
		switch {
		case rt.raw != nil:
			ok["content"] = map[string]any{rt.ContentType: map[string]any{"schema": map[string]any{}}}
		case rt.ContentType != "":
			ok["content"] = map[string]any{rt.ContentType: map[string]any{"schema": g.schema(rt.respType)}}
		default:
			content := map[string]any{"application/json": map[string]any{"schema": g.schema(rt.respType)}}
			if rt.Streams != "" {
				content[rt.Streams] = map[string]any{"schema": map[string]any{"type": "string"}}
			}
			ok["content"] = content
		}
		responses[strconv.Itoa(rt.Status)] = ok
		if rt.raw == nil {
			for _, st := range openAPIErrors {
				if rt.Access == Public && !rt.OptionalAuth && (st == 401 || st == 403) {
					continue
				}
				responses[strconv.Itoa(st)] = map[string]any{
					"description": http.StatusText(st),
					"content":     map[string]any{"application/problem+json": map[string]any{"schema": problemRef}},
				}
			}
			responses["500"] = map[string]any{
				"description": "Internal error (the detail names only the request id)",
				"content":     map[string]any{"application/problem+json": map[string]any{"schema": problemRef}},
			}
		}
		op["responses"] = responses
		switch {
		case rt.OptionalAuth:
			op["security"] = []any{map[string]any{}, map[string]any{"bearer": []any{}}}
		case rt.Access == Public:
			op["security"] = []any{}
		}
		if rt.Perm != "" {
			op["x-gatehouse-permission"] = rt.Perm
		}
		op["x-gatehouse-access"] = rt.Access.String()
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Gatehouse API",
			"version":     "v1",
			"description": "Who can run what, for AI agent platforms. Errors are application/problem+json (RFC 9457) with stable type URIs under " + ProblemBase + "; see docs/api.md.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "An API key (gth_...) or a session token (a JWT from POST /v1/sessions)."},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationID is a stable id derived from the method and path:
// "post_orgs_org_check".
func operationID(rt *Route) string {
	p := strings.TrimPrefix(rt.Path, "/v1")
	p = strings.NewReplacer("{", "", "}", "", "/", "_", ".", "_", "-", "_").Replace(p)
	return strings.ToLower(rt.Method) + p
}

// pathParams lists a path's {wildcards} in order.
func pathParams(path string) []string {
	var out []string
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, strings.TrimSuffix(path[i+1:i+j], "..."))
		path = path[i+j+1:]
	}
}
