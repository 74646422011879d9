// Command mcp-sample is a tiny MCP server for the walkthrough of
// docs/mcp.md: four tools over streamable HTTP, built with the official Go
// SDK.
//
//	go run ./examples/mcp-sample -addr 127.0.0.1:8090
//
// serves http://127.0.0.1:8090/mcp with the tools
//
//	search         read-only (readOnlyHint): finds records by text
//	transfer       {to, amount}: moves money (not read-only)
//	delete_record  destructive (destructiveHint): deletes a record
//	whoami         read-only: answers the Authorization header it received,
//	               to show the gateway's credential injection and redaction
//
// With -token T it refuses every request whose Authorization header is not
// "Bearer T" (as an upstream that needs a credential does). Its data is in
// memory and made up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type searchIn struct {
	Query string `json:"query" jsonschema:"text to look for in the records"`
}

type searchOut struct {
	Records []string `json:"records"`
}

type transferIn struct {
	To     string  `json:"to" jsonschema:"the account to credit"`
	Amount float64 `json:"amount" jsonschema:"the amount, in euros"`
}

type transferOut struct {
	Receipt string `json:"receipt"`
}

type deleteIn struct {
	ID string `json:"id" jsonschema:"the record's id"`
}

type deleteOut struct {
	Deleted bool `json:"deleted"`
}

type whoamiIn struct{}

type whoamiOut struct {
	Authorization string `json:"authorization"`
}

// store is the sample's made-up data.
type store struct {
	mu      sync.Mutex
	records map[string]string
	n       int
}

func newServer() *mcp.Server {
	st := &store{records: map[string]string{
		"r1": "invoice 2026-001 acme 1200 EUR",
		"r2": "invoice 2026-002 globex 300 EUR",
		"r3": "contract acme renewal",
	}}
	s := mcp.NewServer(&mcp.Implementation{Name: "mcp-sample", Version: "1.0.0"}, nil)
	f := false
	t := true
	mcp.AddTool(s, &mcp.Tool{Name: "search", Description: "Search the records by text",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &f}},
		func(_ context.Context, _ *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, searchOut, error) {
			st.mu.Lock()
			defer st.mu.Unlock()
			out := searchOut{Records: []string{}}
			for id, r := range st.records {
				if strings.Contains(r, in.Query) {
					out.Records = append(out.Records, id+": "+r)
				}
			}
			sort.Strings(out.Records)
			return nil, out, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "transfer", Description: "Transfer money to an account"},
		func(_ context.Context, _ *mcp.CallToolRequest, in transferIn) (*mcp.CallToolResult, transferOut, error) {
			if in.To == "" || in.Amount <= 0 {
				return nil, transferOut{}, errors.New("to and a positive amount are required")
			}
			st.mu.Lock()
			st.n++
			n := st.n
			st.mu.Unlock()
			return nil, transferOut{Receipt: fmt.Sprintf("transfer %d: %.2f EUR to %s", n, in.Amount, in.To)}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "delete_record", Description: "Delete a record",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: &t}},
		func(_ context.Context, _ *mcp.CallToolRequest, in deleteIn) (*mcp.CallToolResult, deleteOut, error) {
			st.mu.Lock()
			defer st.mu.Unlock()
			_, ok := st.records[in.ID]
			delete(st.records, in.ID)
			return nil, deleteOut{Deleted: ok}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "Answer the Authorization header this server received",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(_ context.Context, req *mcp.CallToolRequest, _ whoamiIn) (*mcp.CallToolResult, whoamiOut, error) {
			var h string
			if req.Extra != nil && req.Extra.Header != nil {
				h = req.Extra.Header.Get("Authorization")
			}
			return nil, whoamiOut{Authorization: h}, nil
		})
	return s
}

// handler serves the MCP endpoint at /mcp, refusing requests without
// "Bearer <token>" when token is set.
func handler(token string) http.Handler {
	s := newServer()
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	mux := http.NewServeMux()
	mux.Handle("/mcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	token := flag.String("token", "", "require Authorization: Bearer TOKEN")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: handler(*token), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("mcp-sample: serving http://%s/mcp", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
