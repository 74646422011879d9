// Command mcpproxy is the floor the MCP gateway is measured against: a
// bare MCP proxy built with the official Go SDK the way internal/mcpgw
// uses it, and nothing else (docs/benchmarks.md, "MCP gateway: the SDK's
// floor"). It serves streamable HTTP with JSON answers
// (StreamableHTTPHandler, JSONResponse), and a receiving middleware
// forwards tools/call and tools/list to one SDK client session to the
// upstream, opened at start and reused for every call (the gateway reuses
// one per caller the same way), the upstream's bearer token put on every
// upstream request by a RoundTripper (as the gateway injects the vault's).
// Its collector is tuned as gatehouse serve's is (internal/gctune, the
// same default headroom). No authentication, no decision, no audit entry,
// no redaction:
//
//	mcpproxy -addr 127.0.0.1:8092 -upstream http://127.0.0.1:8090/mcp -upstream-token T
//
// What the gateway adds over calling the upstream directly is then the
// SDK's part (this proxy's latency over direct) plus Gatehouse's own part
// (the gateway's over this proxy); bench/cmd/mcpload/run.sh measures the
// three side by side.
//
// Invariants: it listens and connects on the loopback interface only; it
// is a benchmark tool, not a server to expose (it authenticates nobody).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof" // -debug-addr
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse-dev/gatehouse/internal/gctune"
)

// errNotLoopback: an address or URL off the loopback interface.
var errNotLoopback = errors.New("mcpproxy: loopback only")

func main() {
	addr := flag.String("addr", "127.0.0.1:8092", "listen address (loopback)")
	upstream := flag.String("upstream", "", "the upstream MCP endpoint, e.g. http://127.0.0.1:8090/mcp (loopback)")
	token := flag.String("upstream-token", "", "bearer token put on every upstream request")
	debug := flag.String("debug-addr", "", "serve net/http/pprof here (loopback; empty: off)")
	stateless := flag.Bool("stateless", false, "serve the SDK's stateless mode (StreamableHTTPOptions.Stateless: no Mcp-Session-Id, a temporary session per request), to measure what it costs or saves")
	headroom := flag.Uint("gc-headroom-mib", 1024, "as gatehouse serve's --gc-headroom-mib (the same tuner, the same default), so that the floor collects garbage as the gateway does")
	flag.Parse()
	defer gctune.Start(uint64(*headroom)<<20, os.Getenv).Stop()
	if err := run(*addr, *upstream, *token, *debug, *stateless); err != nil {
		fmt.Fprintln(os.Stderr, "mcpproxy:", err)
		os.Exit(1)
	}
}

func run(addr, upstream, token, debug string, stateless bool) error {
	if err := loopbackAddr(addr); err != nil {
		return err
	}
	if debug != "" {
		if err := loopbackAddr(debug); err != nil {
			return err
		}
	}
	if err := loopbackURL(upstream); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cs, err := connect(ctx, upstream, token)
	if err != nil {
		return err
	}
	defer cs.Close()
	if debug != "" {
		// pprof registers itself on the default mux, which serves nothing else.
		go func() { log.Println(http.ListenAndServe(debug, nil)) }()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newHandler(cs, stateless), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("mcpproxy: %s → %s", addr, upstream) // run.sh waits for this line: the listener is open
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// connect opens the one upstream client session, as the gateway's pool
// does (internal/mcpgw/upstream.go: connect).
func connect(ctx context.Context, upstream, token string) (*mcp.ClientSession, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// As internal/mcpgw's default upstream client (defaultUpstreamClient).
	tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tr.IdleConnTimeout = 1024, 4096, 90*time.Second
	var rt http.RoundTripper = tr
	if token != "" {
		rt = &injector{next: tr, value: "Bearer " + token}
	}
	hc := &http.Client{Transport: rt, Timeout: 60 * time.Second}
	cl := mcp.NewClient(&mcp.Implementation{Name: "mcpproxy", Version: "1"}, nil)
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return cl.Connect(cctx, &mcp.StreamableClientTransport{Endpoint: upstream, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
}

// newHandler is the proxy's MCP endpoint (every path), forwarding to cs;
// stateless: the SDK's stateless mode (the gateway serves stateful).
func newHandler(cs *mcp.ClientSession, stateless bool) http.Handler {
	s := mcp.NewServer(&mcp.Implementation{Name: "mcpproxy", Version: "1"}, &mcp.ServerOptions{
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
	})
	s.AddReceivingMiddleware(forward(cs))
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		JSONResponse:               true,
		Stateless:                  stateless,
		SessionTimeout:             10 * time.Minute,
		DisableLocalhostProtection: true,
	})
}

// forward answers tools/call and tools/list from the upstream session;
// every other method is the SDK server's own.
func forward(cs *mcp.ClientSession) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case "tools/list":
				return cs.ListTools(ctx, nil)
			case "tools/call":
				r, ok := req.(*mcp.CallToolRequest)
				if !ok || r.Params == nil {
					return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "tools/call needs params"}
				}
				p := &mcp.CallToolParams{Name: r.Params.Name}
				if len(r.Params.Arguments) > 0 {
					p.Arguments = r.Params.Arguments
				}
				return cs.CallTool(ctx, p)
			}
			return next(ctx, method, req)
		}
	}
}

// injector puts the upstream's credential on every upstream request.
type injector struct {
	next  http.RoundTripper
	value string
}

func (i *injector) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", i.value)
	return i.next.RoundTrip(r2)
}

func loopbackAddr(addr string) error {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", errNotLoopback, addr, err)
	}
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: %q", errNotLoopback, addr)
	}
	return nil
}

func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%w: %q: want http://127.0.0.1:<port>/<path>", errNotLoopback, raw)
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%w: %q", errNotLoopback, raw)
	}
	return nil
}
