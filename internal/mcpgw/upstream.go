package mcpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// Upstream connections. One SDK client session per (endpoint, server
// spec version, caller, user acted for), made when a caller first needs
// the upstream and reused for every later list and call of that caller
// (no reconnect per call), closed after IdleTimeout unused or when the
// server's spec changes version. Callers never share an upstream
// session, so upstream session state cannot pass between principals.
//
// The credential is released by the vault once per connection
// (Vault.Inject, audited as secrets.inject) and lives only in the
// connection's RoundTripper and redactor: a rotated secret is used from
// the next connection on.

// upstreamToolsTTL bounds how long a connection's copy of the upstream's
// tool list is reused.
const upstreamToolsTTL = 30 * time.Second

type connKey struct {
	ep         string
	version    uint64
	principal  string
	onBehalfOf string
}

type conn struct {
	key    connKey
	ready  chan struct{} // closed once connected (or failed)
	gone   chan struct{} // closed when the upstream session has ended
	cs     *mcp.ClientSession
	err    error
	redact *redactor

	mu       sync.Mutex
	lastUsed time.Time
	tools    []*mcp.Tool
	toolsAt  time.Time
}

type pool struct {
	g    *Gateway
	base *http.Client

	mu sync.Mutex
	m  map[connKey]*conn
}

func newPool(g *Gateway, base *http.Client) *pool {
	return &pool{g: g, base: base, m: map[connKey]*conn{}}
}

// errUpstream: the upstream could not be reached or answered badly.
var errUpstream = errors.New("mcpgw: upstream unavailable")

// errCredential: the vault refused the credential (or there is no vault).
var errCredential = errors.New("mcpgw: upstream credential unavailable")

// get returns the caller's connection for the endpoint at the server's
// version, connecting when there is none.
func (p *pool) get(ctx context.Context, in *request, srv *server) (*conn, error) {
	k := connKey{ep: in.ep.key(), version: srv.version, principal: in.caller.Principal, onBehalfOf: in.caller.OnBehalfOf}
	p.mu.Lock()
	c := p.m[k]
	if c != nil {
		select {
		case <-c.ready:
			if c.err != nil || c.closed() {
				delete(p.m, k) // retry a failed or closed connection
				c = nil
			}
		default:
		}
	}
	if c == nil {
		c = &conn{key: k, ready: make(chan struct{}), gone: make(chan struct{}), lastUsed: time.Now()}
		p.m[k] = c
		p.mu.Unlock()
		c.cs, c.redact, c.err = p.connect(ctx, in, srv)
		if c.err == nil {
			go func() { _ = c.cs.Wait(); close(c.gone) }()
		} else {
			close(c.gone)
		}
		close(c.ready)
		if c.err != nil {
			p.mu.Lock()
			if p.m[k] == c {
				delete(p.m, k)
			}
			p.mu.Unlock()
			return nil, c.err
		}
	} else {
		p.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err != nil {
			return nil, c.err
		}
	}
	c.mu.Lock()
	c.lastUsed = time.Now()
	c.mu.Unlock()
	return c, nil
}

// closed reports whether the upstream session has ended.
func (c *conn) closed() bool {
	select {
	case <-c.gone:
		return true
	default:
		return false
	}
}

func (p *pool) connect(ctx context.Context, in *request, srv *server) (*mcp.ClientSession, *redactor, error) {
	rd := &redactor{}
	rt := p.base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if cred := srv.spec.Credential; cred != nil {
		if p.g.cfg.Vault == nil {
			return nil, nil, fmt.Errorf("%w: no vault is configured", errCredential)
		}
		inj, err := p.g.cfg.Vault.Inject(ctx, vault.Actor(in.actor()), in.ep.org,
			authz.ResourceRef{Namespace: in.ep.ns, Type: TypeServer, ID: in.ep.server}, cred.Secret)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errCredential, err)
		}
		rd.add(inj.Name, inj.Value)
		rt = &injector{next: rt, header: srv.header, value: strings.ReplaceAll(srv.format, "{value}", inj.Value)}
		inj.Value = ""
	}
	hc := &http.Client{Transport: rt, Timeout: p.base.Timeout, CheckRedirect: noRedirects}
	cl := mcp.NewClient(&mcp.Implementation{Name: "gatehouse-mcp-gateway", Version: "1"}, nil)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	cs, err := cl.Connect(cctx, &mcp.StreamableClientTransport{Endpoint: srv.spec.URL, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: connect: %s", errUpstream, rd.text(err.Error()))
	}
	return cs, rd, nil
}

// noRedirects: a redirect would carry the credential elsewhere.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// tools is the upstream's tool list, cached on the connection.
func (c *conn) listTools(ctx context.Context) ([]*mcp.Tool, error) {
	c.mu.Lock()
	if c.tools != nil && time.Since(c.toolsAt) < upstreamToolsTTL {
		t := c.tools
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()
	var all []*mcp.Tool
	for t, err := range c.cs.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("%w: tools/list: %s", errUpstream, c.redact.text(err.Error()))
		}
		all = append(all, t)
		if len(all) > 100_000 {
			return nil, fmt.Errorf("%w: tools/list: too many tools", errUpstream)
		}
	}
	all, err := c.redact.tools(all)
	if err != nil {
		return nil, fmt.Errorf("%w: tools/list: %v", errUpstream, err)
	}
	c.mu.Lock()
	c.tools, c.toolsAt = all, time.Now()
	c.mu.Unlock()
	return all, nil
}

// janitor closes connections idle longer than the gateway's IdleTimeout.
func (p *pool) janitor(stop <-chan struct{}) {
	t := time.NewTicker(min(p.g.idle/2, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var old []*conn
		p.mu.Lock()
		for k, c := range p.m {
			select {
			case <-c.ready:
			default:
				continue
			}
			c.mu.Lock()
			idle := time.Since(c.lastUsed) > p.g.idle
			c.mu.Unlock()
			if idle || c.err != nil {
				delete(p.m, k)
				old = append(old, c)
			}
		}
		p.mu.Unlock()
		for _, c := range old {
			if c.cs != nil {
				_ = c.cs.Close()
			}
		}
	}
}

func (p *pool) closeAll() {
	p.mu.Lock()
	all := p.m
	p.m = map[connKey]*conn{}
	p.mu.Unlock()
	for _, c := range all {
		<-c.ready
		if c.cs != nil {
			_ = c.cs.Close()
		}
	}
}

// injector puts the credential on every upstream request.
type injector struct {
	next   http.RoundTripper
	header string
	value  string
}

func (i *injector) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set(i.header, i.value)
	return i.next.RoundTrip(r2)
}

// redactor replaces injected values in what the upstream answers.
type redactor struct {
	pairs []redaction
}

type redaction struct{ value, mark, jsonValue, jsonMark string }

// minRedactLen: shorter values are not searched for (they would redact
// common text); the vault's own redaction has the same floor.
const minRedactLen = 4

func (r *redactor) add(name, value string) {
	if len(value) < minRedactLen {
		return
	}
	mark := "[REDACTED:" + name + "]"
	jv, _ := json.Marshal(value)
	jm, _ := json.Marshal(mark)
	r.pairs = append(r.pairs, redaction{value: value, mark: mark,
		jsonValue: string(jv[1 : len(jv)-1]), jsonMark: string(jm[1 : len(jm)-1])})
}

func (r *redactor) text(s string) string {
	if r == nil {
		return s
	}
	for _, p := range r.pairs {
		s = strings.ReplaceAll(s, p.value, p.mark)
	}
	return s
}

// json redacts a JSON text: the values as written and as JSON-escaped.
func (r *redactor) json(b []byte) []byte {
	if r == nil || len(r.pairs) == 0 {
		return b
	}
	s := string(b)
	for _, p := range r.pairs {
		s = strings.ReplaceAll(s, p.jsonValue, p.jsonMark)
		s = strings.ReplaceAll(s, p.value, p.mark)
	}
	return []byte(s)
}

// tools redacts the upstream's tool definitions (once per list fetched:
// the connection keeps the redacted copy).
func (r *redactor) tools(ts []*mcp.Tool) ([]*mcp.Tool, error) {
	if r == nil || len(r.pairs) == 0 {
		return ts, nil
	}
	b, err := json.Marshal(ts)
	if err != nil {
		return nil, err
	}
	red := r.json(b)
	if string(red) == string(b) {
		return ts, nil
	}
	var out []*mcp.Tool
	if err := json.Unmarshal(red, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// result redacts a tool result: every content block and the structured
// content, by way of its JSON (any field of any content type). A result
// made only of text blocks and JSON values (the common case) is first
// searched as it is, every string and object key of it: when no injected
// value is in any, it is answered as it is, without the JSON round trip
// (which cost more than the rest of the gateway's own work for a call).
// Anything else — a value found, another content type, a Go value the
// walk does not know — takes the JSON path.
func (r *redactor) result(res *mcp.CallToolResult) (*mcp.CallToolResult, error) {
	if r == nil || len(r.pairs) == 0 {
		return res, nil
	}
	if clean, known := r.cleanResult(res); clean && known {
		return res, nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	red := r.json(b)
	if string(red) == string(b) {
		return res, nil
	}
	var out mcp.CallToolResult
	if err := json.Unmarshal(red, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// cleanResult reports whether res holds none of the injected values
// (clean) in a shape the search knows all of (known: the result's meta,
// text content blocks with their meta and annotations, and structured
// content of JSON values). known false: the caller must not rely on clean.
func (r *redactor) cleanResult(res *mcp.CallToolResult) (clean, known bool) {
	if res == nil {
		return true, true
	}
	if c, k := r.cleanValue(map[string]any(res.Meta), 0); !c || !k {
		return c, k
	}
	for _, c := range res.Content {
		t, ok := c.(*mcp.TextContent)
		if !ok || t == nil {
			return false, false
		}
		if !r.cleanString(t.Text) {
			return false, true
		}
		if c, k := r.cleanValue(map[string]any(t.Meta), 0); !c || !k {
			return c, k
		}
		if a := t.Annotations; a != nil {
			if !r.cleanString(a.LastModified) {
				return false, true
			}
			for _, role := range a.Audience {
				if !r.cleanString(string(role)) {
					return false, true
				}
			}
		}
	}
	return r.cleanValue(res.StructuredContent, 0)
}

// maxCleanDepth bounds the search's recursion (deeper: the JSON path).
const maxCleanDepth = 64

// cleanValue searches a JSON value as encoding/json decodes one into an
// any (what the SDK's client gives for structured content and meta).
func (r *redactor) cleanValue(v any, depth int) (clean, known bool) {
	if depth > maxCleanDepth {
		return false, false
	}
	switch v := v.(type) {
	case nil, bool, float64, json.Number:
		return true, true
	case string:
		return r.cleanString(v), true
	case map[string]any:
		for k, x := range v {
			if !r.cleanString(k) {
				return false, true
			}
			if c, k := r.cleanValue(x, depth+1); !c || !k {
				return c, k
			}
		}
		return true, true
	case []any:
		for _, x := range v {
			if c, k := r.cleanValue(x, depth+1); !c || !k {
				return c, k
			}
		}
		return true, true
	}
	return false, false
}

func (r *redactor) cleanString(s string) bool {
	for _, p := range r.pairs {
		if strings.Contains(s, p.value) {
			return false
		}
	}
	return true
}
