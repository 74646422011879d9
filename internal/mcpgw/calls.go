package mcpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// MetaApprovalID is the _meta key of a tools/call that presents a
// granted approval explicitly. A call need not: the gateway finds the
// granted approval of exactly the same question (same tool, arguments,
// principal and user acted for) by itself.
const MetaApprovalID = "gatehouse/approval_id"

// MetaApproval is the _meta key of a result that involves an approval:
// {"id", "status", "expires_at", "use_by"}.
const MetaApproval = "gatehouse/approval"

// MetaDecision is the _meta key of a result the gateway answered itself
// without calling the tool: "deny" or "approval_required" (Decision*). A
// tool's own error result does not carry it.
const MetaDecision = "gatehouse/decision"

// AuditAction is the action of a tool call's audit entry.
const AuditAction = "mcp.call"

// Decisions, as audit entries name them.
const (
	DecisionAllow            = "allow"
	DecisionDeny             = "deny"
	DecisionApprovalRequired = "approval_required"
)

// Upstream outcomes, as audit entries name them.
const (
	UpstreamOK        = "ok"
	UpstreamToolError = "tool_error"
	UpstreamError     = "transport_error"
	UpstreamNotCalled = "not_called"
)

func (g *Gateway) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
		defer func() {
			// A bug must not take the process down (the SDK may run a
			// handler outside net/http's recovery) nor answer anything but
			// an error.
			if p := recover(); p != nil {
				g.log.Error("mcpgw: panic in a handler", "method", method, "panic", fmt.Sprint(p))
				res, err = nil, internalErr("internal error")
			}
		}()
		switch method {
		case "tools/list", "tools/call":
		default:
			return next(ctx, method, req)
		}
		in := requestOf(req)
		if in == nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "unauthenticated"}
		}
		if method == "tools/list" {
			return g.listTools(ctx, in)
		}
		r, ok := req.(*mcp.CallToolRequest)
		if !ok || r.Params == nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "tools/call needs params"}
		}
		return g.callTool(ctx, in, r.Params)
	}
}

// requestOf is the authenticated request serveEndpoint handed over.
func requestOf(req mcp.Request) *request {
	ex := req.GetExtra()
	if ex == nil || ex.TokenInfo == nil {
		return nil
	}
	in, _ := ex.TokenInfo.Extra[extraKey].(*request)
	return in
}

func internalErr(msg string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
}

// catalogFor is the endpoint's catalog, or the JSON-RPC error to answer.
func (g *Gateway) catalogFor(ctx context.Context, in *request) (*catalog, error) {
	cat, err := g.cats.server(ctx, in.ep)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "no MCP server here"}
	case err != nil:
		g.log.Warn("mcpgw: reading the catalog failed", "endpoint", in.ep.key(), "err", err)
		return nil, internalErr("the gateway cannot read its configuration; retry")
	case cat.srvErr != nil:
		g.log.Warn("mcpgw: invalid server spec", "endpoint", in.ep.key(), "err", cat.srvErr)
		return nil, internalErr("this MCP server's configuration in Gatehouse is invalid; ask an administrator to fix mcp_servers/" + in.ep.server)
	}
	return cat, nil
}

// callable returns the ids of the tools of the endpoint's server that
// the caller may call under some context (conditional and approval-gated
// ones included), by the engine's resource lookup. The answer depends on
// the engine's state only (a condition that is false now still lists its
// tools), so it is remembered per caller and engine revision, for at most
// callableTTL, and carried to a newer revision when every change between
// is a write of another resource than this server's tools (a resource's
// own data feeds only the decisions about it; anything else — bindings,
// shares, roles, policy, members, teams, agents — is decided again).
func (g *Gateway) callable(ctx context.Context, in *request) (map[string]bool, error) {
	rev := g.cfg.Directory.Revision()
	k := callableKey{ep: in.ep.key(), principal: in.caller.Principal, onBehalfOf: in.caller.OnBehalfOf}
	set, at, ok := g.callables.get(k)
	if ok && at != rev {
		tools := in.ep.ns + "/" + TypeTool + "/" + in.ep.server + "."
		same, err := noChange(ctx, g.cfg.Store, at, rev, func(c store.Change) bool {
			if c.Org != "" && c.Org != in.ep.org {
				return false // another org's
			}
			switch c.Kind {
			case store.KindResourcePut, store.KindResourceDelete:
				return c.Org == "" || strings.HasPrefix(c.Key, tools)
			}
			return true
		})
		if err == nil && same {
			g.callables.put(k, rev, set, false)
			at = rev
		}
	}
	if ok && at == rev {
		return set, nil
	}
	q := authz.LookupResourcesRequest{
		Org: in.ep.org, Principal: in.caller.Principal, OnBehalfOf: in.caller.OnBehalfOf, Namespace: in.ep.ns,
		Type: TypeTool, Action: ActionCall, IncludeConditional: true, PageSize: 10_000,
		NoApprovalMarks: true, // listed with approval or without: the ask rules' conditions need not run
	}
	prefix := in.ep.server + "."
	out := map[string]bool{}
	for {
		page, err := g.cfg.Directory.LookupResources(ctx, in.actor(), q, 0)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Resources {
			if r.Namespace == in.ep.ns && r.Type == TypeTool && strings.HasPrefix(r.ID, prefix) {
				out[r.ID] = true
			}
		}
		if page.NextPageToken == "" {
			break
		}
		q.PageToken = page.NextPageToken
	}
	g.callables.put(k, rev, out, true)
	return out, nil
}

// callableTTL bounds how long a lookup's answer is reused at one
// revision; maxCallables bounds the remembered answers.
const (
	callableTTL  = 5 * time.Second
	maxCallables = 10_000
)

type callableKey struct{ ep, principal, onBehalfOf string }

type callableEntry struct {
	rev uint64
	at  time.Time
	set map[string]bool
}

type callableCache struct {
	mu sync.Mutex
	m  map[callableKey]callableEntry
}

// get returns the remembered answer and its revision (ok false when none,
// or older than callableTTL).
func (c *callableCache) get(k callableKey) (map[string]bool, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Since(e.at) > callableTTL {
		return nil, 0, false
	}
	return e.set, e.rev, true
}

// put remembers set at rev; fresh says it was just decided (else it was
// carried from an older revision and keeps its age).
func (c *callableCache) put(k callableKey, rev uint64, set map[string]bool, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCallables {
		c.m = map[callableKey]callableEntry{}
	}
	at := time.Now()
	if old, ok := c.m[k]; ok && !fresh {
		at = old.at
	}
	c.m[k] = callableEntry{rev: rev, at: at, set: set}
}

// filterTools keeps, in the upstream's order, the upstream tools that are
// imported and callable.
func filterTools(up []*mcp.Tool, cat *catalog, callable map[string]bool) []*mcp.Tool {
	out := make([]*mcp.Tool, 0, min(len(up), len(callable)))
	for _, t := range up {
		if tl := cat.byUpstream[t.Name]; tl != nil && callable[tl.id] {
			out = append(out, t)
		}
	}
	return out
}

func (g *Gateway) listTools(ctx context.Context, in *request) (mcp.Result, error) {
	cat, err := g.catalogFor(ctx, in)
	if err != nil {
		return nil, err
	}
	callable, err := g.callable(ctx, in)
	if err != nil {
		g.log.Warn("mcpgw: tool lookup failed", "endpoint", in.ep.key(), "principal", in.caller.Principal, "err", err)
		return nil, internalErr("the gateway cannot decide which tools you may call; retry")
	}
	if len(callable) == 0 {
		return &mcp.ListToolsResult{Tools: []*mcp.Tool{}}, nil // no upstream connection for nothing
	}
	c, err := g.pool.get(ctx, in, cat.srv)
	if err != nil {
		g.log.Warn("mcpgw: upstream connection failed", "endpoint", in.ep.key(), "err", err)
		return nil, internalErr(unavailable(err))
	}
	up, err := c.listTools(ctx)
	if err != nil {
		g.log.Warn("mcpgw: upstream tools/list failed", "endpoint", in.ep.key(), "err", err)
		return nil, internalErr(unavailable(err))
	}
	return &mcp.ListToolsResult{Tools: filterTools(up, cat, callable)}, nil
}

func unavailable(err error) string {
	if errors.Is(err, errCredential) {
		return "the upstream MCP server's credential is unavailable (the vault refused it); ask an administrator"
	}
	return "the upstream MCP server is unavailable; retry later"
}

// maxUnknownName bounds how much of a tool name that is not imported is
// recorded and echoed (the MCP specification's names are at most 128
// bytes).
const maxUnknownName = 128

// clipName is s cut to at most n bytes on a character boundary.
func clipName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// call is one tools/call as its audit entry records it.
type call struct {
	in         *request
	tool       string // upstream name (an unknown one clipped: toolBytes is its length)
	toolBytes  int
	id         string // resource id ("" for an unknown tool)
	argsDigest string
	decision   string
	reason     string
	upstream   string
	approval   string
	start      time.Time
}

func (g *Gateway) callTool(ctx context.Context, in *request, p *mcp.CallToolParamsRaw) (mcp.Result, error) {
	cl := &call{in: in, tool: p.Name, upstream: UpstreamNotCalled, start: time.Now()}
	cat, err := g.catalogFor(ctx, in)
	if err != nil {
		return nil, err
	}
	args := p.Arguments
	if len(args) == 0 {
		args = nil
	}
	if cl.argsDigest, err = directory.ArgumentsDigest(args); err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "arguments are not JSON"}
	}
	t := cat.byUpstream[p.Name]
	if t == nil {
		cl.decision, cl.reason = DecisionDeny, "unknown_tool"
		if len(p.Name) > maxUnknownName {
			// The name is the caller's: its entry in the append-only audit
			// log must not grow with it (a body may carry 4 MiB of it).
			cl.tool, cl.toolBytes = clipName(p.Name, maxUnknownName), len(p.Name)
		}
		return g.answer(ctx, cl, errorResult(fmt.Sprintf("Gatehouse: the tool %q is not available through this gateway (it is not imported as a tool of server %s in namespace %s).", cl.tool, in.ep.server, in.ep.ns)))
	}
	cl.id = t.id
	var input any
	if args != nil {
		if err := json.Unmarshal(args, &input); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "arguments are not JSON"}
		}
	}
	req := authz.Request{
		Org: in.ep.org, Principal: in.caller.Principal, OnBehalfOf: in.caller.OnBehalfOf, Namespace: in.ep.ns,
		ResourceType: TypeTool, ResourceID: t.id, Action: ActionCall, Context: map[string]any{"input": input},
	}
	presented := ""
	if v, ok := p.Meta[MetaApprovalID].(string); ok {
		presented = strings.TrimSpace(v)
	}
	dec, ap, err := g.decide(ctx, in, cat, &req, args, presented)
	if err != nil {
		if errors.Is(err, directory.ErrInvalid) {
			cl.decision, cl.reason = DecisionDeny, "invalid"
			return g.answer(ctx, cl, errorResult("Gatehouse refused the call: "+err.Error()))
		}
		if werr, ok := errors.AsType[*jsonrpc.Error](err); ok && werr.Code == CodeBusy {
			return nil, werr // the caller's waits are full (waitApproval)
		}
		g.log.Warn("mcpgw: decision failed", "endpoint", in.ep.key(), "tool", t.id, "err", err)
		return nil, internalErr("the gateway cannot decide this call now; retry")
	}
	if ap != nil {
		cl.approval = ap.ID
	}
	switch {
	case dec.ApprovalRequired:
		cl.decision, cl.reason = DecisionApprovalRequired, "approval_required"
		return g.answer(ctx, cl, g.approvalResult(ctx, in, p.Name, ap))
	case !dec.Allowed:
		cl.decision, cl.reason = DecisionDeny, string(dec.Reason)
		res := errorResult(g.explain(ctx, in, req, p.Name))
		res.Meta = mcp.Meta{MetaDecision: DecisionDeny}
		return g.answer(ctx, cl, res)
	}
	cl.decision = DecisionAllow
	res := g.forward(ctx, cl, cat, t, args)
	if ap != nil {
		res.Meta = mcp.Meta{MetaApproval: approvalMeta(ap)}
	}
	return g.answer(ctx, cl, res)
}

// decide is CheckApproval, with the gateway's two approval conveniences:
// a granted approval of exactly this question is used without being
// presented, and a server with wait_for_approval waits for a pending
// one's answer. Using an approval is CheckApproval's compare-and-set:
// of concurrent identical calls exactly one proceeds.
func (g *Gateway) decide(ctx context.Context, in *request, cat *catalog, req *authz.Request, args json.RawMessage, presented string) (authz.Decision, *store.Approval, error) {
	a := g.cfg.Directory.Asker(in.actor())
	if len(args) > directory.MaxArgumentsBytes {
		// Too large to bind an approval to (the check route's limit): such
		// a call is decided, and refused only if it needs approval.
		dec, err := a.Check(ctx, req)
		if err == nil && dec.ApprovalRequired {
			return authz.Decision{}, nil, &directory.Error{Op: "tools/call", Kind: directory.ErrInvalid,
				Msg: fmt.Sprintf("this call needs approval, and an approval binds arguments of at most %d bytes (these are %d)", directory.MaxArgumentsBytes, len(args))}
		}
		return dec, nil, err
	}
	dec, ap, err := a.CheckApproval(ctx, req, directory.ApprovalInput{Arguments: args, ApprovalID: presented})
	if err != nil || !dec.ApprovalRequired || ap == nil {
		return dec, ap, err
	}
	if ap.Status == store.ApprovalPending && cat.srv.wait > 0 {
		got, err := g.waitApproval(ctx, in, ap, cat.srv.wait)
		if err != nil {
			return authz.Decision{}, nil, err
		}
		ap = &got
	}
	if ap.Status == store.ApprovalGranted && ap.ID != presented {
		return a.CheckApproval(ctx, req, directory.ApprovalInput{Arguments: args, ApprovalID: ap.ID})
	}
	return dec, ap, nil
}

// waitApproval waits up to wait for the pending approval ap's answer,
// holding one of the caller's long-poll slots (Config.HoldWait) while it
// does: a caller at its bound is refused with CodeBusy, naming the
// approval, instead of holding one more goroutine and connection
// (docs/threat-model.md row 78).
func (g *Gateway) waitApproval(ctx context.Context, in *request, ap *store.Approval, wait time.Duration) (store.Approval, error) {
	if g.cfg.HoldWait != nil {
		release, err := g.cfg.HoldWait(in.caller.Principal)
		if err != nil {
			busy, ok := errors.AsType[*BusyError](err)
			if !ok {
				g.log.Warn("mcpgw: holding a wait failed", "endpoint", in.ep.key(), "err", err)
				return store.Approval{}, internalErr("the gateway cannot wait for the approval now; retry")
			}
			data, _ := json.Marshal(map[string]any{
				"status": 429, "type": busy.Type, "retry_after": int(busy.RetryAfter / time.Second),
				"approval": approvalMeta(ap),
			})
			return store.Approval{}, &jsonrpc.Error{Code: CodeBusy, Message: busy.Detail + "; approval " + ap.ID + " is pending: call again once it is granted", Data: data}
		}
		defer release()
	}
	return g.cfg.Directory.WaitApproval(ctx, in.actor(), in.ep.org, ap.ID, time.Now().Add(wait))
}

// explain is the human explanation of a denial.
func (g *Gateway) explain(ctx context.Context, in *request, req authz.Request, name string) string {
	msg := fmt.Sprintf("Gatehouse denied calling %q.", name)
	ex, err := g.cfg.Directory.Explain(ctx, in.actor(), req, 0)
	if err != nil || ex.Summary == "" {
		return msg
	}
	return msg + " " + ex.Summary
}

func (g *Gateway) approvalResult(ctx context.Context, in *request, name string, ap *store.Approval) *mcp.CallToolResult {
	if ap == nil {
		return errorResult(fmt.Sprintf("Gatehouse: calling %q needs a person's approval, and none could be requested for this call.", name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Gatehouse: calling %q needs a person's approval. Approval %s is %s", name, ap.ID, ap.Status)
	switch ap.Status {
	case store.ApprovalPending:
		fmt.Fprintf(&b, " until %s.", ap.ExpiresAt.UTC().Format(time.RFC3339))
		if who := g.cfg.Directory.Approvers(ctx, *ap); len(who) > 0 {
			fmt.Fprintf(&b, " It may be approved by %s", strings.Join(who, ", "))
		} else {
			fmt.Fprintf(&b, " It may be approved by a person holding decisions:approve in namespace %s", ap.Namespace)
		}
		fmt.Fprintf(&b, " (gatehouse approval approve %s, or POST /v1/orgs/%s/approvals/%s/approve).", ap.ID, in.ep.org, ap.ID)
		b.WriteString(" Once it is granted, make the same call again with the same arguments: it proceeds once.")
	default:
		b.WriteString(". Make the same call again to request a new approval.")
	}
	res := errorResult(b.String())
	res.Meta = mcp.Meta{MetaApproval: approvalMeta(ap), MetaDecision: DecisionApprovalRequired}
	return res
}

func approvalMeta(ap *store.Approval) map[string]any {
	m := map[string]any{"id": ap.ID, "status": ap.Status, "expires_at": ap.ExpiresAt.UTC().Format(time.RFC3339)}
	if !ap.UseBy.IsZero() {
		m["use_by"] = ap.UseBy.UTC().Format(time.RFC3339)
	}
	return m
}

func errorResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// forward calls the upstream (an allowed call) and redacts its answer.
func (g *Gateway) forward(ctx context.Context, cl *call, cat *catalog, t *tool, args json.RawMessage) *mcp.CallToolResult {
	c, err := g.pool.get(ctx, cl.in, cat.srv)
	if err != nil {
		cl.upstream = UpstreamError
		g.log.Warn("mcpgw: upstream connection failed", "endpoint", cl.in.ep.key(), "err", err)
		return errorResult("Gatehouse allowed the call, but " + unavailable(err) + ".")
	}
	params := &mcp.CallToolParams{Name: t.upstream}
	if args != nil {
		params.Arguments = args
	}
	res, err := c.cs.CallTool(ctx, params)
	if err != nil {
		var werr *jsonrpc.Error
		if errors.As(err, &werr) {
			// The upstream answered with a protocol error (unknown tool,
			// invalid arguments): pass its message on, redacted.
			cl.upstream = UpstreamToolError
			return errorResult("The upstream MCP server refused the call: " + c.redact.text(werr.Message))
		}
		cl.upstream = UpstreamError
		g.log.Warn("mcpgw: upstream call failed", "endpoint", cl.in.ep.key(), "tool", t.id, "err", c.redact.text(err.Error()))
		return errorResult("Gatehouse allowed the call, but the upstream MCP server did not answer; retry later.")
	}
	red, err := c.redact.result(res)
	if err != nil {
		cl.upstream = UpstreamToolError
		return errorResult("The upstream MCP server's answer could not be checked for credentials, so it is withheld.")
	}
	cl.upstream = UpstreamOK
	if red.IsError {
		cl.upstream = UpstreamToolError
	}
	return red
}

// answer records the call's audit entry and returns res; a call whose
// entry cannot be written is answered with an error instead.
func (g *Gateway) answer(ctx context.Context, cl *call, res *mcp.CallToolResult) (mcp.Result, error) {
	in := cl.in
	target := "resource/" + in.ep.ns + "/" + TypeServer + "/" + in.ep.server
	if cl.id != "" {
		target = "resource/" + in.ep.ns + "/" + TypeTool + "/" + cl.id
	}
	result := audit.Success
	switch {
	case cl.decision != DecisionAllow:
		result = audit.Denied
	case cl.upstream == UpstreamError:
		result = audit.Failure
	}
	d := map[string]any{
		"principal": in.caller.Principal, "server": in.ep.server, "tool": cl.tool,
		"arguments_sha256": cl.argsDigest, "decision": cl.decision, "upstream": cl.upstream,
		"duration_ms": float64(time.Since(cl.start).Microseconds()) / 1000,
	}
	if in.caller.OnBehalfOf != "" {
		d["on_behalf_of"] = in.caller.OnBehalfOf
	}
	if cl.id != "" {
		d["resource"] = TypeTool + "/" + cl.id
	}
	if cl.reason != "" {
		d["reason"] = cl.reason
	}
	if cl.toolBytes > 0 {
		d["tool_bytes"] = cl.toolBytes
	}
	if cl.approval != "" {
		d["approval"] = cl.approval
	}
	details, _ := json.Marshal(d)
	e := audit.Entry{Org: in.ep.org, Action: AuditAction, Target: target, Result: result, Details: details}
	if err := g.cfg.Directory.RecordCall(context.WithoutCancel(ctx), in.actor(), e); err != nil {
		g.log.Warn("mcpgw: recording a call failed", "endpoint", in.ep.key(), "err", err)
		return nil, internalErr("the call could not be recorded in the audit log, so its answer is withheld")
	}
	return res, nil
}
