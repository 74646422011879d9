package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// The language-neutral contract suite (sdk/contract/README.md) through the
// Go SDK. The Python and TypeScript SDKs run the same file.
//
// With $GATEHOUSE_BIN it starts that binary as `gatehouse serve --dev`
// (what the other SDKs' runners do); without, the same server and demo
// seed in-process (clienttest), so `go test ./...` needs no build step.

const contractCases = "../sdk/contract/cases.json"

// invalidKey stands for a key name demo-keys.env does not define.
const invalidKey = "gth_0000000000000000_invalidinvalidinvalidinvalidinvalidinvalidinvalid0"

type contractCase struct {
	Name   string          `json:"name"`
	As     *string         `json:"as"`
	Op     string          `json:"op"`
	Args   json.RawMessage `json:"args"`
	Expect map[string]any  `json:"expect"`
}

func TestContract(t *testing.T) {
	raw, err := os.ReadFile(contractCases)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version int            `json:"version"`
		Cases   []contractCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", contractCases, err)
	}
	if doc.Version != 1 || len(doc.Cases) == 0 {
		t.Fatalf("%s: version %d with %d cases", contractCases, doc.Version, len(doc.Cases))
	}
	url, keys := contractServer(t)
	root, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var rev uint64 // the highest revision any case's write returned
	for _, c := range doc.Cases {
		if seen[c.Name] {
			t.Fatalf("case %q: the name is not unique", c.Name)
		}
		seen[c.Name] = true
		cl := root
		switch {
		case c.As == nil:
		case keys[*c.As] != "":
			cl = root.WithToken(keys[*c.As])
		default:
			cl = root.WithToken(invalidKey)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		got, err := runContractOp(ctx, cl, c.Op, c.Args, rev)
		cancel()
		for _, p := range contractCheck(c.Expect, got, err) {
			t.Errorf("case %q: %s", c.Name, p)
		}
		if m, ok := got.(map[string]any); ok {
			if r, ok := m["revision"].(float64); ok && uint64(r) > rev {
				rev = uint64(r)
			}
		}
	}
}

// contractServer starts the server and returns its URL and the demo keys
// by their demo-keys.env names (ALICE_KEY...).
func contractServer(t *testing.T) (string, map[string]string) {
	t.Helper()
	bin := os.Getenv("GATEHOUSE_BIN")
	if bin == "" {
		s := clienttest.Start(t, clienttest.Options{Demo: true})
		keys := map[string]string{}
		for id, k := range s.Demo.Keys {
			keys[strings.ToUpper(id)+"_KEY"] = k
		}
		return s.URL, keys
	}
	data := filepath.Join(t.TempDir(), "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--dev", "--data", data, "--addr", addr, "--log-level", "warn")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve is not ready: %s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	f, err := os.Open(filepath.Join(data, "demo-keys.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && !strings.HasPrefix(k, "#") {
			keys[k] = v
		}
	}
	return url, keys
}

// runContractOp runs one op through the SDK and returns its result as wire
// JSON (decoded into any), decisions made at least at rev.
func runContractOp(ctx context.Context, c *client.Client, op string, rawArgs json.RawMessage, rev uint64) (any, error) {
	var path struct {
		Org       string `json:"org"`
		Namespace string `json:"namespace"`
		Type      string `json:"type"`
		ID        string `json:"id"`
		Principal string `json:"principal"`
		Name      string `json:"name"`
		Text      string `json:"text"`
		Email     string `json:"email"`
		Role      string `json:"role"`
		UserID    string `json:"user_id"`
		PageSize  int    `json:"page_size"`
		Cursor    string `json:"cursor"`
		Status    string `json:"status"`
		// A point in the past (check, explain, the lookups).
		AtTime     time.Time `json:"at_time"`
		AtRevision uint64    `json:"at_revision"`
	}
	if err := json.Unmarshal(rawArgs, &path); err != nil {
		return nil, err
	}
	ref := client.ResourceRef{Namespace: path.Namespace, Type: path.Type, ID: path.ID}
	at := client.AtLeast(rev)
	// decide is the options of a decision: its freshness and its point in time.
	decide := []client.CallOption{at}
	if !path.AtTime.IsZero() {
		decide = append(decide, client.AsOf(path.AtTime))
	}
	if path.AtRevision > 0 {
		decide = append(decide, client.AsOfRevision(path.AtRevision))
	}
	written := func(item any, r uint64, err error) (any, error) {
		return map[string]any{"revision": r, "item": item}, err
	}
	var out any
	var err error
	switch op {
	case "me":
		out, err = c.Me(ctx, path.Namespace)
	case "check":
		return withArgs(rawArgs, func(req client.CheckRequest) (any, error) { return c.Check(ctx, path.Org, req, decide...) })
	case "explain":
		return withArgs(rawArgs, func(req client.CheckRequest) (any, error) { return c.Explain(ctx, path.Org, req, decide...) })
	case "check_batch":
		var req struct {
			Checks []client.CheckRequest `json:"checks"`
		}
		if err := json.Unmarshal(rawArgs, &req); err != nil {
			return nil, err
		}
		b, berr := c.Checks(ctx, path.Org, req.Checks, at)
		if berr != nil {
			return nil, berr
		}
		results := make([]map[string]any, len(b.Results))
		for i, r := range b.Results {
			m := map[string]any{"allowed": r.Allowed}
			if r.Reason != "" {
				m["reason"] = r.Reason
			}
			if r.Err != nil {
				m["error"] = contractProblem(r.Err)
			}
			results[i] = m
		}
		out = map[string]any{"revision": b.Revision, "results": results}
	case "lookup_resources":
		return withArgs(rawArgs, func(req client.LookupResourcesRequest) (any, error) {
			return c.LookupResources(ctx, path.Org, req, decide...)
		})
	case "lookup_resources_all":
		var req client.LookupResourcesRequest
		if err := json.Unmarshal(rawArgs, &req); err != nil {
			return nil, err
		}
		all := []client.ResourceRef{}
		for {
			page, perr := c.LookupResources(ctx, path.Org, req, decide...)
			if perr != nil {
				return nil, perr
			}
			all = append(all, page.Items...)
			if req.Cursor = page.NextCursor; req.Cursor == "" {
				break
			}
		}
		out = map[string]any{"items": all}
	case "lookup_subjects":
		return withArgs(rawArgs, func(req client.LookupSubjectsRequest) (any, error) {
			return c.LookupSubjects(ctx, path.Org, req, decide...)
		})
	case "principal_permissions":
		out, err = c.Permissions(ctx, path.Org, path.Principal, path.Namespace, at)
	case "policy_get":
		out, err = c.GetPolicy(ctx, path.Org)
	case "policy_validate":
		out, err = c.ValidatePolicy(ctx, path.Org, path.Text)
	case "create_org":
		return withArgs(rawArgs, func(req client.CreateOrgRequest) (any, error) { return written(c.CreateOrg(ctx, req)) })
	case "create_namespace":
		return written(c.CreateNamespace(ctx, path.Org, path.Name))
	case "list_namespaces":
		out, err = c.ListNamespaces(ctx, path.Org, &client.ListOptions{PageSize: path.PageSize, Cursor: path.Cursor})
	case "add_member":
		return written(c.AddMember(ctx, path.Org, path.UserID, path.Role))
	case "list_members":
		out, err = c.ListMembers(ctx, path.Org, &client.ListOptions{PageSize: path.PageSize, Cursor: path.Cursor})
	case "invite":
		out, err = c.Invite(ctx, path.Org, path.Email, path.Role)
	case "create_team":
		return withArgs(rawArgs, func(req client.CreateTeamRequest) (any, error) { return written(c.CreateTeam(ctx, path.Org, req)) })
	case "create_binding":
		return withArgs(rawArgs, func(req client.BindingSpec) (any, error) { return written(c.CreateBinding(ctx, path.Org, req)) })
	case "create_resource":
		return withArgs(rawArgs, func(req client.ResourceSpec) (any, error) { return written(c.CreateResource(ctx, path.Org, req)) })
	case "get_resource":
		out, err = c.GetResource(ctx, path.Org, ref)
	case "share":
		return withArgs(rawArgs, func(req struct {
			Actions []string `json:"actions"`
			client.Lifetime
		}) (any, error) {
			return written(c.ShareFor(ctx, path.Org, ref, path.Principal, req.Actions, req.Lifetime))
		})
	case "create_agent":
		return withArgs(rawArgs, func(req client.AgentSpec) (any, error) { return written(c.CreateAgent(ctx, path.Org, req)) })
	case "get_agent":
		out, err = c.GetAgent(ctx, path.Org, path.Name)
	case "update_agent":
		return withArgs(rawArgs, func(req client.AgentPatch) (any, error) { return written(c.UpdateAgent(ctx, path.Org, path.Name, req)) })
	case "attest_agent":
		return written(c.AttestAgent(ctx, path.Org, path.Name))
	case "list_agents":
		o := &client.ListOptions{PageSize: path.PageSize, Cursor: path.Cursor}
		if path.Status != "" {
			out, err = c.ListAgentsByStatus(ctx, path.Org, path.Status, o)
		} else {
			out, err = c.ListAgents(ctx, path.Org, o)
		}
	case "set_lifecycle":
		return withArgs(rawArgs, func(req client.OrgLifecycle) (any, error) { return written(c.SetOrgLifecycle(ctx, path.Org, req)) })
	case "reach":
		out, err = c.Reach(ctx, path.Org, path.Principal)
	case "mint_agent_token":
		return withArgs(rawArgs, func(req client.AgentTokenRequest) (any, error) {
			return c.MintAgentToken(ctx, path.Org, path.Name, req)
		})
	default:
		return nil, fmt.Errorf("unknown op %q (sdk/contract/README.md lists them)", op)
	}
	return out, err
}

// withArgs decodes a case's args into a T and calls f with it.
func withArgs[T any](raw json.RawMessage, f func(T) (any, error)) (any, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return f(v)
}

// contractProblem is an *Error as the cases compare it: the problem's
// members with the type as its kind.
func contractProblem(e *client.Error) map[string]any {
	m := map[string]any{"status": e.Status, "type": e.Kind()}
	for k, v := range map[string]string{"field": e.Field, "missing_permission": e.MissingPermission, "scope": e.Scope,
		"reason": e.Reason, "role": e.Role, "target": e.Target, "detail": e.Detail, "title": e.Title} {
		if v != "" {
			m[k] = v
		}
	}
	if len(e.MissingPermissions) > 0 {
		m["missing_permissions"] = e.MissingPermissions
	}
	return m
}

// contractCheck returns the mismatches of an outcome against an
// expectation.
func contractCheck(expect map[string]any, got any, err error) []string {
	norm := func(v any) any {
		b, merr := json.Marshal(v)
		if merr != nil {
			return fmt.Sprintf("unencodable %T", v)
		}
		var out any
		_ = json.Unmarshal(b, &out)
		return out
	}
	if want, ok := expect["error"]; ok {
		var e *client.Error
		if !errors.As(err, &e) {
			return []string{fmt.Sprintf("want error %v, got %v (err %v)", want, norm(got), err)}
		}
		return contractMatch(want, norm(contractProblem(e)), "error")
	}
	if err != nil {
		return []string{fmt.Sprintf("unexpected error: %v", err)}
	}
	actual := norm(got)
	if want, ok := expect["result"]; ok {
		return contractMatch(want, actual, "result")
	}
	return contractMatch(any(expect), actual, "result")
}

// contractMatch is the README's subset match.
func contractMatch(want, got any, where string) []string {
	if want == "$any" {
		if got == nil {
			return []string{where + ": missing"}
		}
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		if elems, ok := w["$contains"].([]any); ok && len(w) == 1 {
			arr, ok := got.([]any)
			if !ok {
				return []string{fmt.Sprintf("%s: want an array, got %v", where, got)}
			}
			var out []string
			for _, e := range elems {
				found := false
				for _, a := range arr {
					if len(contractMatch(e, a, where)) == 0 {
						found = true
						break
					}
				}
				if !found {
					out = append(out, fmt.Sprintf("%s: no element matches %v", where, e))
				}
			}
			return out
		}
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", where, got)}
		}
		var out []string
		for k, v := range w {
			gv, present := g[k]
			if !present {
				out = append(out, where+"."+k+": missing")
				continue
			}
			out = append(out, contractMatch(v, gv, where+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %v, got %v", where, want, got)}
		}
		var out []string
		for i := range w {
			out = append(out, contractMatch(w[i], g[i], fmt.Sprintf("%s[%d]", where, i))...)
		}
		return out
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: want %v, got %v", where, want, got)}
	}
	return nil
}
