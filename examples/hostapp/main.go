// Command hostapp is an example host platform — a tiny agent platform
// whose chains people list, run and edit and agents run — that protects
// every route with Gatehouse through the client package's middleware.
//
// With the quickstart running (`gatehouse serve --dev`, demo org "demo"):
//
//	export GATEHOUSE_SERVER=http://127.0.0.1:8080
//	export HOSTAPP_SERVICE_TOKEN=<an API key of a service with bindings:read>
//	go run ./examples/hostapp -org demo
//	curl -X POST localhost:8090/chains/prod/escalation-triage/run -H "Authorization: Bearer $BOB_KEY"
//
// People call it with their own Gatehouse token (the middleware checks it
// with that token). Agents call it with an app-issued token
// (X-Agent-Token, mapped by -agent token=agent:Name); the app asks
// Gatehouse about the agent with its service credential, and the run
// answer carries the agent's obligations and advice.
//
// Invariants: no handler runs without an allow for its exact route;
// anything that prevents a decision is a 503.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
)

// demoChains mirror the quickstart's chains.
var demoChains = []Chain{
	{Namespace: "prod", ID: "escalation-triage", Steps: []string{"fetch", "reason", "act"}},
	{Namespace: "prod", ID: "ticket-summarizer", Steps: []string{"fetch", "summarize"}},
	{Namespace: "prod", ID: "database-migration", Steps: []string{"plan", "apply"}},
	{Namespace: "dev", ID: "prompt-playground", Steps: []string{"prompt"}},
	{Namespace: "dev", ID: "eval-harness", Steps: []string{"load", "score"}},
}

type agentFlags map[string]string

func (a agentFlags) String() string { return fmt.Sprint(map[string]string(a)) }
func (a agentFlags) Set(v string) error {
	tok, p, ok := strings.Cut(v, "=")
	if !ok || tok == "" || !strings.HasPrefix(p, "agent:") {
		return errors.New("want <token>=agent:<name>")
	}
	a[tok] = p
	return nil
}

func main() {
	agents := agentFlags{}
	server := flag.String("gatehouse", envOr("GATEHOUSE_SERVER", "http://127.0.0.1:8080"), "Gatehouse server URL")
	org := flag.String("org", "demo", "Gatehouse org")
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	letta := flag.Bool("letta", false, "answer denials with 401, as Letta documents (default 403)")
	flag.Var(agents, "agent", "agent credential <token>=agent:<Name> (repeatable)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	gh, err := client.New(*server, client.WithToken(os.Getenv("HOSTAPP_SERVICE_TOKEN")))
	if err != nil {
		log.Error("gatehouse client", "err", err)
		os.Exit(2)
	}
	denied := http.StatusForbidden
	if *letta {
		denied = http.StatusUnauthorized
	}
	h, err := New(Config{Gatehouse: gh, Org: *org, DeniedStatus: denied, AgentTokens: agents, Logger: log}, demoChains)
	if err != nil {
		log.Error("hostapp", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Info("hostapp listening", "addr", *addr, "gatehouse", *server, "org", *org)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
