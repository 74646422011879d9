package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxTools bounds the tools one import records (a directory batch holds
// MaxBatch changes, one of which is the server's).
const MaxTools = 999

// ErrUpstream is the kind of every failure to reach or to understand the
// MCP server (HTTP 502): the server could not be connected to, refused
// the credential, is not an MCP server, or answered a tool list that
// cannot be recorded.
var ErrUpstream = errors.New("mcp: upstream")

// UpstreamError is a failure of the MCP server at URL. Its message is safe
// to answer: it is built from the URL and what failed. A failure to
// connect (an address the policy refuses, a closed port, a timeout, a
// reset, TLS, an HTTP server that is not an MCP server, a refused
// credential) is one fixed message, Unreachable, whatever the cause:
// answering the cause would tell an open port from a closed one inside
// the server's network (docs/threat-model.md row 65). Cause is the
// cause's text, the injected credential's value redacted, for the
// server's log only.
type UpstreamError struct {
	URL, Msg string
	Cause    string
}

// Unreachable is the message of every failure to connect to an MCP server.
const Unreachable = "the MCP server could not be reached (or it is not an MCP server, or it refused the credential); the server's log names the cause"

func (e *UpstreamError) Error() string   { return fmt.Sprintf("MCP server %s: %s", e.URL, e.Msg) }
func (e *UpstreamError) Is(t error) bool { return t == ErrUpstream }

// Upstream is how to reach one MCP server.
type Upstream struct {
	URL string
	// Header and Value: a header added to every request (the credential),
	// or "" for none. Value never appears in an error.
	Header, Value string
	// Redact lists more values that never appear in an error (the
	// credential's secret as stored, without its format).
	Redact []string
	// Client is the HTTP client (nil: a client over the zero
	// UpstreamPolicy's UpstreamTransport, which refuses every address
	// inside the server's networks).
	Client *http.Client
	// Timeout bounds the whole listing (default 15s).
	Timeout time.Duration
}

// headerTransport adds one header to every request.
type headerTransport struct {
	base          http.RoundTripper
	header, value string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(t.header, t.value)
	return t.base.RoundTrip(r)
}

// fail is the failure what, caused by err: answered with the cause's
// (redacted) text, or — for a failure to connect — as Unreachable only.
func (u Upstream) fail(what string, err error) error {
	msg := what
	if err != nil {
		msg += ": " + err.Error()
	}
	for _, v := range append([]string{u.Value}, u.Redact...) {
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "[REDACTED]")
		}
	}
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	return &UpstreamError{URL: u.URL, Msg: msg, Cause: msg}
}

// unreachable is a failure to connect: answered as Unreachable, its cause
// kept for the log.
func (u Upstream) unreachable(err error) error {
	ue := u.fail("connecting failed", err).(*UpstreamError)
	ue.Msg = Unreachable
	return ue
}

// ListTools connects to the server, lists all its tools (every page) and
// closes the session.
func (u Upstream) ListTools(ctx context.Context) ([]*sdk.Tool, error) {
	timeout := u.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := u.Client
	if hc == nil {
		hc = &http.Client{Transport: UpstreamTransport(UpstreamPolicy{})}
	}
	c := *hc
	// A redirect is not followed: the credential goes to the URL the
	// server's writer was authorized to name, and nowhere else.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if u.Header != "" {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c.Transport = &headerTransport{base: base, header: u.Header, value: u.Value}
	}
	hc = &c
	client := sdk.NewClient(&sdk.Implementation{Name: "gatehouse-import", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: u.URL, HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}, nil)
	if err != nil {
		return nil, u.unreachable(err)
	}
	defer cs.Close()
	var tools []*sdk.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, u.fail("listing the tools failed", err)
		}
		if len(tools) == MaxTools {
			return nil, u.fail(fmt.Sprintf("it lists more than %d tools", MaxTools), nil)
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// Translate turns the upstream's tools into the specs of server's tool
// resources, keyed by resource id. Two tools with one id (the same name
// listed twice, or two names mapping to one id) are an upstream error.
func Translate(server string, tools []*sdk.Tool) (map[string]ToolSpec, error) {
	out := make(map[string]ToolSpec, len(tools))
	for _, t := range tools {
		if t == nil {
			continue
		}
		id := ToolID(server, t.Name)
		if prev, dup := out[id]; dup {
			return nil, &UpstreamError{Msg: fmt.Sprintf("tools %q and %q both map to the id %q", prev.Tool, t.Name, id)}
		}
		spec := ToolSpec{Server: server, Tool: t.Name, Title: t.Title, Description: t.Description}
		var err error
		if spec.InputSchema, err = schemaJSON(t.InputSchema); err != nil {
			return nil, &UpstreamError{Msg: fmt.Sprintf("tool %q: input schema: %v", t.Name, err)}
		}
		if spec.InputSchema == nil {
			spec.InputSchema = json.RawMessage(`{"type":"object"}`)
		}
		if spec.OutputSchema, err = schemaJSON(t.OutputSchema); err != nil {
			return nil, &UpstreamError{Msg: fmt.Sprintf("tool %q: output schema: %v", t.Name, err)}
		}
		if a := t.Annotations; a != nil {
			spec.Annotations = &Annotations{Title: a.Title, ReadOnlyHint: a.ReadOnlyHint, DestructiveHint: a.DestructiveHint,
				IdempotentHint: a.IdempotentHint, OpenWorldHint: a.OpenWorldHint}
		}
		out[id] = spec
	}
	return out, nil
}

// schemaJSON is a schema as compact JSON with sorted keys (nil for none),
// so that an unchanged schema compares equal across imports.
func schemaJSON(s any) (json.RawMessage, error) {
	if s == nil {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errors.New("not a JSON object")
	}
	return json.Marshal(v) // maps marshal with sorted keys
}
