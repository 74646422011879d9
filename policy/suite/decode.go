package suite

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a test file, as the parser bounds a policy.
const MaxFileSize = 1 << 20

// maxCases bounds the cases a file (with its tables expanded) may make.
const maxCases = 100_000

// Diagnostic codes of a bad test file.
const (
	CodeYAML    = "test-yaml"    // not YAML, or not one document
	CodeSchema  = "test-schema"  // an unknown key, a wrong type, a missing field
	CodeValue   = "test-value"   // a value of the right type that is not valid
	CodeTooMany = "test-too-big" // the file or its expanded cases are too large
)

// Decode reads one test file. file is the name positions refer to (and
// whose base names the default policy). The Suite is nil iff the list has
// an error.
func Decode(file string, src []byte) (*Suite, token.List) {
	d := &decoder{file: file}
	if len(src) > MaxFileSize {
		d.errs.Errorf(token.Pos{File: file, Line: 1, Col: 1}, CodeTooMany, "", "test file is %d bytes, more than the limit of %d", len(src), MaxFileSize)
		return nil, d.errs
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		d.errs.Add(yamlErrPos(file, err), token.Error, CodeYAML, yamlErrMsg(err), "")
		return nil, d.errs
	}
	s := &Suite{File: file}
	if len(doc.Content) == 0 {
		d.errs.Errorf(token.Pos{File: file, Line: 1, Col: 1}, CodeSchema, "", "empty test file: want a mapping with tests or tables")
		return nil, d.errs
	}
	d.suite(doc.Content[0], s)
	d.errs.Sort()
	if d.errs.HasErrors() {
		return nil, d.errs
	}
	return s, nil
}

// DefaultPolicy is the policy a test file names when it names none:
// "mentiko_test.yaml" → "mentiko.policy".
func DefaultPolicy(file string) string {
	base := path.Base(strings.ReplaceAll(file, "\\", "/"))
	for _, suf := range []string{"_test.yaml", "_test.yml", ".yaml", ".yml"} {
		if b, ok := strings.CutSuffix(base, suf); ok {
			return b + ".policy"
		}
	}
	return base + ".policy"
}

type decoder struct {
	file string
	errs token.List
	// seen principals, so those named only in bindings and teams become
	// members of the fixture org.
	principals map[string]bool
	namespaces map[string]bool
	bindingIDs map[string]bool
}

func (d *decoder) pos(n *yaml.Node) token.Pos {
	return token.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, code, format string, args ...any) {
	d.errs.Errorf(d.pos(n), code, "", format, args...)
}

// fields walks a mapping node, calling each known key's handler with its
// value node; unknown and repeated keys are errors naming the known ones.
func (d *decoder) fields(n *yaml.Node, what string, known map[string]func(v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, CodeSchema, "%s: want a mapping, got %s", what, kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, CodeSchema, "%s: a key must be a plain word", what)
			continue
		}
		h, ok := known[k.Value]
		if !ok {
			d.errorf(k, CodeSchema, "%s: unknown key %q (known: %s)", what, k.Value, keyList(known))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, CodeSchema, "%s: key %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		h(v)
	}
	return true
}

func keyList(m map[string]func(*yaml.Node)) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

func (d *decoder) str(n *yaml.Node, what string, dst *string) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, CodeSchema, "%s: want a string, got %s", what, kindName(n))
		return
	}
	*dst = n.Value
}

// strList accepts a list of strings.
func (d *decoder) strList(n *yaml.Node, what string, dst *[]string) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, CodeSchema, "%s: want a list, got %s", what, kindName(n))
		return
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		var s string
		d.str(c, what, &s)
		out = append(out, s)
	}
	*dst = out
}

// list calls f for each item of a sequence node.
func (d *decoder) list(n *yaml.Node, what string, f func(*yaml.Node)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, CodeSchema, "%s: want a list, got %s", what, kindName(n))
		return
	}
	for _, c := range n.Content {
		f(c)
	}
}

// value converts a YAML node to a JSON-like value: integers are int64,
// other numbers float64, maps map[string]any, lists []any.
func (d *decoder) value(n *yaml.Node, what string, depth int) (any, bool) {
	n = resolve(n)
	if depth > 32 {
		d.errorf(n, CodeValue, "%s: nested too deep", what)
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, true
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				d.errorf(n, CodeValue, "%s: %q is not a boolean", what, n.Value)
				return nil, false
			}
			return b, true
		case "!!int":
			i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			if err != nil {
				d.errorf(n, CodeValue, "%s: %q is not a 64-bit integer", what, n.Value)
				return nil, false
			}
			return i, true
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				d.errorf(n, CodeValue, "%s: %q is not a finite number", what, n.Value)
				return nil, false
			}
			return f, true
		}
		return n.Value, true
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, ok := d.value(c, what, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	case yaml.MappingNode:
		return d.object(n, what, depth+1)
	}
	d.errorf(n, CodeSchema, "%s: unsupported YAML node", what)
	return nil, false
}

func (d *decoder) object(n *yaml.Node, what string, depth int) (map[string]any, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, CodeSchema, "%s: want a mapping, got %s", what, kindName(n))
		return nil, false
	}
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, CodeSchema, "%s: a key must be a string", what)
			return nil, false
		}
		if _, dup := out[k.Value]; dup {
			d.errorf(k, CodeSchema, "%s: key %q given twice", what, k.Value)
			return nil, false
		}
		v, ok := d.value(n.Content[i+1], what+"."+k.Value, depth)
		if !ok {
			return nil, false
		}
		out[k.Value] = v
	}
	return out, true
}

func (d *decoder) suite(root *yaml.Node, s *Suite) {
	d.principals = map[string]bool{}
	d.namespaces = map[string]bool{authz.DefaultNamespace: true}
	d.bindingIDs = map[string]bool{}
	var tests, tables *yaml.Node
	policyNode := root
	ok := d.fields(root, "test file", map[string]func(*yaml.Node){
		"name":   func(v *yaml.Node) { d.str(v, "name", &s.Name) },
		"policy": func(v *yaml.Node) { d.str(v, "policy", &s.Policy); policyNode = v },
		"namespaces": func(v *yaml.Node) {
			d.list(v, "namespaces", func(c *yaml.Node) {
				var ns string
				d.str(c, "namespaces", &ns)
				if d.ident(c, "namespace", ns) {
					d.addNamespace(&s.Org, ns)
				}
			})
		},
		"principals": func(v *yaml.Node) { d.list(v, "principals", func(c *yaml.Node) { d.principal(c, &s.Org) }) },
		"teams":      func(v *yaml.Node) { d.list(v, "teams", func(c *yaml.Node) { d.team(c, &s.Org) }) },
		"bindings":   func(v *yaml.Node) { d.list(v, "bindings", func(c *yaml.Node) { d.binding(c, &s.Org) }) },
		"resources":  func(v *yaml.Node) { d.list(v, "resources", func(c *yaml.Node) { d.resource(c, &s.Org) }) },
		"tests":      func(v *yaml.Node) { tests = v },
		"tables":     func(v *yaml.Node) { tables = v },
	})
	if !ok {
		return
	}
	if s.Policy == "" {
		s.Policy = DefaultPolicy(d.file)
	}
	s.PolicyPos = d.pos(policyNode)
	// Cases come after fixtures whatever the key order, so a case can
	// refer to what the fixtures declare.
	if tests != nil {
		d.list(tests, "tests", func(c *yaml.Node) { d.testCase(c, s) })
	}
	if tables != nil {
		d.list(tables, "tables", func(c *yaml.Node) { d.table(c, s) })
	}
	if tests == nil && tables == nil {
		d.errorf(root, CodeSchema, "test file has no tests and no tables")
	}
}

func (d *decoder) addNamespace(o *authz.OrgData, ns string) {
	if !d.namespaces[ns] {
		d.namespaces[ns] = true
		o.Namespaces = append(o.Namespaces, ns)
	}
}

// ident checks an identifier (namespace, type, action, role, condition).
func (d *decoder) ident(n *yaml.Node, what, s string) bool {
	if err := policy.CheckIdent(s); err != nil {
		d.errorf(n, CodeValue, "%s %q: %v", what, s, err)
		return false
	}
	return true
}

// principalID checks "<kind>:<name>" with the kinds allowed.
func (d *decoder) principalID(n *yaml.Node, what, id string, kinds ...string) bool {
	kind, name, ok := strings.Cut(id, ":")
	if !ok || !containsStr(kinds, kind) {
		d.errorf(n, CodeValue, "%s %q: want %s:NAME", what, id, strings.Join(kinds, ":NAME, "))
		return false
	}
	if err := policy.CheckIdent(name); err != nil {
		d.errorf(n, CodeValue, "%s %q: %v", what, id, err)
		return false
	}
	return true
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) member(o *authz.OrgData, id string) {
	if !d.principals[id] {
		d.principals[id] = true
		o.Principals = append(o.Principals, authz.Principal{ID: id})
	}
}

func (d *decoder) principal(n *yaml.Node, o *authz.OrgData) {
	var p authz.Principal
	var expires string
	idNode := n
	d.fields(n, "principal", map[string]func(*yaml.Node){
		"id": func(v *yaml.Node) { d.str(v, "id", &p.ID); idNode = v },
		"attributes": func(v *yaml.Node) {
			if m, ok := d.object(v, "attributes", 0); ok {
				p.Attributes = m
			}
		},
		"role":       func(v *yaml.Node) { d.str(v, "role", &p.Role) },
		"expires_at": func(v *yaml.Node) { d.str(v, "expires_at", &expires) },
	})
	if p.ID == "" {
		d.errorf(idNode, CodeSchema, "principal: id is required (user:NAME, agent:NAME or service:NAME)")
		return
	}
	if !d.principalID(idNode, "principal", p.ID, authz.KindUser, authz.KindAgent, authz.KindService) {
		return
	}
	if expires != "" {
		t, err := time.Parse(time.RFC3339, expires)
		if err != nil {
			d.errorf(n, CodeValue, "principal %s: expires_at %q: want RFC 3339 (2026-01-02T15:04:05Z)", p.ID, expires)
			return
		}
		p.ExpiresAt = t
	}
	if d.principals[p.ID] {
		d.errorf(idNode, CodeValue, "principal %s is listed twice (or after a binding or team that named it)", p.ID)
		return
	}
	d.principals[p.ID] = true
	o.Principals = append(o.Principals, p)
}

func (d *decoder) team(n *yaml.Node, o *authz.OrgData) {
	var t authz.Team
	slugNode := n
	var membersNode *yaml.Node
	d.fields(n, "team", map[string]func(*yaml.Node){
		"slug":    func(v *yaml.Node) { d.str(v, "slug", &t.Slug); slugNode = v },
		"members": func(v *yaml.Node) { d.strList(v, "members", &t.Members); membersNode = v },
	})
	if t.Slug == "" {
		d.errorf(slugNode, CodeSchema, "team: slug is required")
		return
	}
	if !d.ident(slugNode, "team slug", t.Slug) {
		return
	}
	for i, m := range t.Members {
		if d.principalID(resolve(membersNode).Content[i], "team member", m, authz.KindUser, authz.KindAgent, authz.KindService) {
			d.member(o, m)
		}
	}
	for _, x := range o.Teams {
		if x.Slug == t.Slug {
			d.errorf(slugNode, CodeValue, "team %s is listed twice", t.Slug)
			return
		}
	}
	if t.Members == nil {
		t.Members = []string{}
	}
	o.Teams = append(o.Teams, t)
}

func (d *decoder) binding(n *yaml.Node, o *authz.OrgData) {
	var b authz.Binding
	var resource string
	var resNode, principalNode, idNode *yaml.Node
	hasActions := false
	d.fields(n, "binding", map[string]func(*yaml.Node){
		"id":        func(v *yaml.Node) { d.str(v, "id", &b.ID); idNode = v },
		"principal": func(v *yaml.Node) { d.str(v, "principal", &b.Principal); principalNode = v },
		"role":      func(v *yaml.Node) { d.str(v, "role", &b.Role) },
		"actions":   func(v *yaml.Node) { d.strList(v, "actions", &b.Actions); hasActions = true },
		"namespace": func(v *yaml.Node) {
			d.str(v, "namespace", &b.Scope.Namespace)
			d.ident(v, "namespace", b.Scope.Namespace)
		},
		"resource":  func(v *yaml.Node) { d.str(v, "resource", &resource); resNode = v },
		"condition": func(v *yaml.Node) { d.str(v, "condition", &b.Condition) },
	})
	if b.Principal == "" {
		d.errorf(n, CodeSchema, "binding: principal is required")
		return
	}
	if resource != "" {
		typ, id, ok := strings.Cut(resource, "/")
		if !ok || id == "" || policy.CheckIdent(typ) != nil {
			d.errorf(resNode, CodeValue, "binding resource %q: want TYPE/ID (chains/nightly)", resource)
			return
		}
		b.Scope.Type, b.Scope.ID = typ, id
		if b.Scope.Namespace == "" {
			b.Scope.Namespace = authz.DefaultNamespace
		}
	}
	if b.Scope.Namespace != "" {
		d.addNamespace(o, b.Scope.Namespace)
	}
	kinds := []string{authz.KindUser, authz.KindAgent, authz.KindService, authz.KindTeam}
	if b.Scope.IsResource() {
		kinds = append(kinds, authz.KindRole)
	}
	if !d.principalID(principalNode, "binding principal", b.Principal, kinds...) {
		return
	}
	switch {
	case (b.Role == "") == !hasActions:
		d.errorf(n, CodeSchema, "binding for %s: give exactly one of role and actions", b.Principal)
		return
	case hasActions && !b.Scope.IsResource():
		d.errorf(n, CodeSchema, "binding for %s: actions are for a resource-scoped share; give resource: TYPE/ID, or a role", b.Principal)
		return
	}
	if kind, _, _ := strings.Cut(b.Principal, ":"); kind != authz.KindTeam && kind != authz.KindRole {
		d.member(o, b.Principal)
	}
	if b.ID == "" {
		b.ID = fmt.Sprintf("binding-%d", len(o.Bindings)+1)
	} else if d.bindingIDs[b.ID] {
		d.errorf(idNode, CodeValue, "binding id %q is used twice", b.ID)
		return
	}
	d.bindingIDs[b.ID] = true
	o.Bindings = append(o.Bindings, b)
}

func (d *decoder) resource(n *yaml.Node, o *authz.OrgData) {
	r := authz.Resource{Namespace: authz.DefaultNamespace}
	d.fields(n, "resource", map[string]func(*yaml.Node){
		"namespace": func(v *yaml.Node) { d.str(v, "namespace", &r.Namespace); d.ident(v, "namespace", r.Namespace) },
		"type":      func(v *yaml.Node) { d.str(v, "type", &r.Type); d.ident(v, "resource type", r.Type) },
		"id":        func(v *yaml.Node) { d.str(v, "id", &r.ID) },
		"labels": func(v *yaml.Node) {
			m, ok := d.object(v, "labels", 0)
			if !ok {
				return
			}
			r.Labels = map[string]string{}
			for k, x := range m {
				s, isStr := x.(string)
				if !isStr {
					d.errorf(v, CodeValue, "labels.%s: a label is a string", k)
					continue
				}
				r.Labels[k] = s
			}
		},
		"attributes": func(v *yaml.Node) {
			if m, ok := d.object(v, "attributes", 0); ok {
				r.Attributes = m
			}
		},
	})
	if r.Type == "" || r.ID == "" {
		d.errorf(n, CodeSchema, "resource: type and id are required")
		return
	}
	d.addNamespace(o, r.Namespace)
	o.Resources = append(o.Resources, r)
}

func (d *decoder) addCase(n *yaml.Node, s *Suite, c Case) {
	if len(s.Cases) >= maxCases {
		if len(s.Cases) == maxCases {
			d.errorf(n, CodeTooMany, "more than %d cases", maxCases)
			s.Cases = append(s.Cases, c) // report once
		}
		return
	}
	s.Cases = append(s.Cases, c)
}

func (d *decoder) testCase(n *yaml.Node, s *Suite) {
	c := Case{Pos: d.pos(n)}
	var perm, expect string
	var permNode, expectNode, ctxNode, reasonNode *yaml.Node
	d.fields(n, "test", map[string]func(*yaml.Node){
		"name":         func(v *yaml.Node) { d.str(v, "name", &c.Name) },
		"principal":    func(v *yaml.Node) { d.str(v, "principal", &c.Request.Principal) },
		"permission":   func(v *yaml.Node) { d.str(v, "permission", &perm); permNode = v },
		"namespace":    func(v *yaml.Node) { d.str(v, "namespace", &c.Request.Namespace) },
		"resource":     func(v *yaml.Node) { d.str(v, "resource", &c.Request.ResourceID) },
		"context":      func(v *yaml.Node) { ctxNode = v },
		"on_behalf_of": func(v *yaml.Node) { d.str(v, "on_behalf_of", &c.Request.OnBehalfOf) },
		"expect":       func(v *yaml.Node) { d.str(v, "expect", &expect); expectNode = v },
		"obligations":  func(v *yaml.Node) { d.strList(v, "obligations", &c.Obligations) },
		"advice":       func(v *yaml.Node) { d.strList(v, "advice", &c.Advice) },
		"reason":       func(v *yaml.Node) { d.str(v, "reason", &c.Reason); reasonNode = v },
		"explain":      func(v *yaml.Node) { d.str(v, "explain", &c.Explain) },
	})
	if c.Request.Principal == "" || perm == "" || expect == "" {
		d.errorf(n, CodeSchema, "test: principal, permission and expect are required")
		return
	}
	if !d.permission(permNode, perm, &c.Request) {
		return
	}
	if ctxNode != nil {
		m, ok := d.object(ctxNode, "context", 0)
		if !ok {
			return
		}
		c.Request.Context = m
	}
	e, ok := d.expectation(expectNode, expect)
	if !ok {
		return
	}
	c.Expect = e
	if c.Reason != "" {
		if !containsReason(c.Reason) {
			d.errorf(reasonNode, CodeValue, "reason %q is not a deny reason (known: %s)", c.Reason, reasonList())
			return
		}
		if e != Deny {
			d.errorf(reasonNode, CodeValue, "reason is for a test that expects deny")
			return
		}
	}
	if c.Name == "" {
		c.Name = fmt.Sprintf("%s %s %s", c.Request.Principal, perm, expect)
	}
	d.addCase(n, s, c)
}

func (d *decoder) permission(n *yaml.Node, perm string, req *authz.Request) bool {
	p, err := policy.ParsePermission(perm)
	if err != nil {
		d.errorf(n, CodeValue, "permission %q: %v", perm, err)
		return false
	}
	if p.IsWildcard() {
		d.errorf(n, CodeValue, "permission %q: a test asks about one concrete permission, not a pattern", perm)
		return false
	}
	req.ResourceType, req.Action = p.Resource, p.Action
	return true
}

func (d *decoder) expectation(n *yaml.Node, s string) (Expectation, bool) {
	switch e := Expectation(s); e {
	case Allow, Deny:
		return e, true
	case ApprovalRequired:
		d.errorf(n, CodeValue, "expect: approval_required is reserved for decisions that need an approval; this engine cannot return one yet")
		return "", false
	}
	d.errorf(n, CodeValue, "expect %q: want allow, deny or approval_required", s)
	return "", false
}

func containsReason(s string) bool {
	for _, r := range authz.Reasons() {
		if string(r) == s {
			return true
		}
	}
	return false
}

func reasonList() string {
	var out []string
	for _, r := range authz.Reasons() {
		out = append(out, string(r))
	}
	return strings.Join(out, ", ")
}

// table expands a table: one case per principal column × row permission ×
// resource id.
func (d *decoder) table(n *yaml.Node, s *Suite) {
	var name, ns string
	var principals []string
	ids := []string{""}
	var ctx map[string]any
	var rows, principalsNode *yaml.Node
	d.fields(n, "table", map[string]func(*yaml.Node){
		"name":       func(v *yaml.Node) { d.str(v, "name", &name) },
		"namespace":  func(v *yaml.Node) { d.str(v, "namespace", &ns) },
		"resources":  func(v *yaml.Node) { d.strList(v, "resources", &ids) },
		"principals": func(v *yaml.Node) { d.strList(v, "principals", &principals); principalsNode = v },
		"context": func(v *yaml.Node) {
			if m, ok := d.object(v, "context", 0); ok {
				ctx = m
			}
		},
		"rows": func(v *yaml.Node) { rows = v },
	})
	if len(principals) == 0 || rows == nil {
		d.errorf(n, CodeSchema, "table: principals (the columns) and rows are required")
		return
	}
	for i, p := range principals {
		d.principalID(resolve(principalsNode).Content[i], "table principal", p, authz.KindUser, authz.KindAgent, authz.KindService)
	}
	if name == "" {
		name = fmt.Sprintf("table at line %d", n.Line)
	}
	d.list(rows, "rows", func(r *yaml.Node) {
		var what, perms, marks string
		var permsNode, marksNode *yaml.Node
		d.fields(r, "row", map[string]func(*yaml.Node){
			"what":        func(v *yaml.Node) { d.str(v, "what", &what) },
			"permissions": func(v *yaml.Node) { d.str(v, "permissions", &perms); permsNode = v },
			"expect":      func(v *yaml.Node) { d.str(v, "expect", &marks); marksNode = v },
		})
		if perms == "" || marks == "" {
			d.errorf(r, CodeSchema, "row: permissions and expect are required")
			return
		}
		fields := strings.Fields(marks)
		if len(fields) != len(principals) {
			d.errorf(marksNode, CodeValue, "row expect %q has %d marks for %d principals", marks, len(fields), len(principals))
			return
		}
		exps := make([]Expectation, len(fields))
		for i, f := range fields {
			e, ok := markExpectation(f)
			if !ok {
				d.errorf(marksNode, CodeValue, "mark %q: want ✓ or allow, - or deny", f)
				return
			}
			if e == ApprovalRequired {
				d.expectation(marksNode, string(e))
				return
			}
			exps[i] = e
		}
		if what == "" {
			what = perms
		}
		for _, perm := range strings.Fields(perms) {
			var req authz.Request
			if !d.permission(permsNode, perm, &req) {
				return
			}
			for i, p := range principals {
				for _, id := range ids {
					c := Case{Pos: d.pos(r), Expect: exps[i]}
					c.Request = req
					c.Request.Principal, c.Request.Namespace, c.Request.ResourceID, c.Request.Context = p, ns, id, ctx
					c.Name = fmt.Sprintf("%s/%s/%s/%s", name, what, p, perm)
					if id != "" {
						c.Name += "/" + id
					}
					d.addCase(r, s, c)
				}
			}
		}
	})
}

// markExpectation reads one table mark.
func markExpectation(m string) (Expectation, bool) {
	switch m {
	case "✓", "allow", "y", "yes":
		return Allow, true
	case "-", "✗", "deny", "n", "no":
		return Deny, true
	case "approval", "approval_required", "?":
		return ApprovalRequired, true
	}
	return "", false
}

// yamlErrPos digs the line out of a YAML library error ("yaml: line 3: …").
func yamlErrPos(file string, err error) token.Pos {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(rest[:j]); e == nil && n > 0 {
			return token.Pos{File: file, Line: n, Col: 1}
		}
	}
	return token.Pos{File: file, Line: 1, Col: 1}
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return "not valid YAML: " + msg
}
