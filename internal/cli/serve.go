package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/gctune"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// storeFlags select the store: SQLite in --data (the default), or
// PostgreSQL with --database / GATEHOUSE_DATABASE_URL.
type storeFlags struct {
	data     string
	database string
	// orgWrites is serve's --postgres-org-writes (postgres.Options.OrgWrites).
	orgWrites bool
}

func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "gatehouse-data", "data directory (SQLite database, session keys)")
	cmd.Flags().StringVar(&f.database, "database", "", "PostgreSQL URL (default $GATEHOUSE_DATABASE_URL; empty: SQLite in --data)")
}

func (f *storeFlags) postgresURL() string {
	if f.database != "" {
		return f.database
	}
	return os.Getenv("GATEHOUSE_DATABASE_URL")
}

// open opens the store (creating the data directory for SQLite) and
// says where it is; a failure is exit 3.
func (f *storeFlags) open(ctx context.Context) (store.Store, string, error) {
	st, where, err := f.openStore(ctx)
	if err != nil {
		return nil, "", &exitError{code: ExitInternal, err: fmt.Errorf("open store: %w", err)}
	}
	return st, where, nil
}

func (f *storeFlags) openStore(ctx context.Context) (store.Store, string, error) {
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return nil, "", fmt.Errorf("data directory: %w", err)
	}
	if url := f.postgresURL(); url != "" {
		st, err := postgres.Open(ctx, url, postgres.Options{OrgWrites: f.orgWrites})
		return st, "postgres", err
	}
	path := filepath.Join(f.data, "gatehouse.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	return st, "sqlite:" + path, err
}

// fresh reports whether the store has never been written.
func fresh(ctx context.Context, st store.Store) (bool, error) {
	rev, err := st.CurrentRevision(ctx)
	return rev == 0, err
}

// sessionKeys loads the session signing keys: $GATEHOUSE_SESSION_KEYS (the
// key file's JSON), else the key file, else — when allowed — a new key
// set written to the key file.
func sessionKeys(path string, mayCreate bool, log *slog.Logger) (*auth.KeySet, error) {
	if v := os.Getenv("GATEHOUSE_SESSION_KEYS"); v != "" {
		return auth.ParseKeySet([]byte(v))
	}
	ks, err := auth.LoadKeyFile(path)
	if err == nil {
		return ks, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if !mayCreate {
		return nil, fmt.Errorf("no session key file at %s: create one with `gatehouse init` (or pass --dev), or set GATEHOUSE_SESSION_KEYS; every replica must share it", path)
	}
	ks = auth.NewKeySet()
	if err := ks.WriteKeyFile(path); err != nil {
		return nil, err
	}
	log.Info("created a session signing key", "file", path)
	return ks, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, badInput("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, badInput("--log-format %q: want text or json", format)
}

func newServeCmd(e *env) *cobra.Command {
	var (
		sf          storeFlags
		addr        string
		dev, noDemo bool
		keyFile     string
		logLevel    string
		logFormat   string
		drain       time.Duration
		retention   time.Duration
		debugAddr   string
		proxies     []string
		oidcConfig  string
		metricsAddr string
		metricsFile string
		publicURL   string
		apvPending  time.Duration
		apvWindow   time.Duration
		gcHeadroom  uint
		auditWindow time.Duration
		longPolls   int
		mcpAllow    []string
		mcpPorts    []uint
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gatehouse HTTP API",
		Long: `Run the Gatehouse HTTP API (docs/api.md).

It keeps its data in ./gatehouse-data (SQLite) unless told otherwise and
listens on 127.0.0.1:8080. It needs the secrets vault's master key in
GATEHOUSE_MASTER_KEY_FILE or GATEHOUSE_MASTER_KEY (make one with
head -c 32 /dev/urandom | base64) and refuses to start without it.

--dev is for trying Gatehouse out: it generates a master key beside the
database (with a loud warning), and on a fresh store creates the demo org
of the quickstart, prints the owner's API key and writes every demo user's
key to <data>/demo-keys.env. Only --dev creates demo data. --dev also
lets MCP servers on this machine (127.0.0.0/8, ::1) be imported, unless
--mcp-upstream-allow says otherwise; without --dev, MCP servers on
loopback and private networks are refused unless --mcp-upstream-allow
lists them.

For PostgreSQL pass --database (or GATEHOUSE_DATABASE_URL); replicas share
the database and the session key file (--session-keys or
GATEHOUSE_SESSION_KEYS). SIGINT or SIGTERM stops accepting and drains.

Every flag can also be set by its GATEHOUSE_* variable (named in its help)
or in the YAML file --config names (keys are the flag names):

    addr: 0.0.0.0:8080
    database: postgres://gatehouse@db/gatehouse
    log-format: json
    trusted-proxy: [10.0.0.0/8]

The command line wins over the variable, which wins over the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(e.stderr, logLevel, logFormat)
			if err != nil {
				return err
			}
			metricsToken, err := readMetricsToken(metricsFile)
			if err != nil {
				return err
			}
			if err := checkApprovalDefaults(apvPending, apvWindow); err != nil {
				return err
			}
			// The collector's headroom (internal/gctune); GOGC in the
			// environment wins.
			// Unset, it is 1 GiB bounded by a quarter of the memory the
			// process may use (its cgroup's limit or the host's).
			headroom := uint64(gcHeadroom) << 20
			if !cmd.Flags().Changed("gc-headroom-mib") {
				headroom = gctune.DefaultHeadroom(gctune.MemoryLimit(os.ReadFile))
			}
			defer gctune.Start(headroom, os.Getenv).Stop()
			// The master key first: a production start without one is
			// refused before anything is created.
			vkeys, err := loadServeKeyring(dev, sf.data, e.stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			octx, ocancel := context.WithTimeout(ctx, 60*time.Second)
			defer ocancel()
			st, where, err := sf.open(octx)
			if err != nil {
				return err
			}
			defer st.Close()
			isFresh, err := fresh(octx, st)
			if err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("read store: %w", err)}
			}
			sqliteStore := sf.postgresURL() == ""
			if keyFile == "" {
				keyFile = filepath.Join(sf.data, "session-keys.json")
			}
			keys, err := sessionKeys(keyFile, dev || sqliteStore, log)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			alog, err := openAuditLog(st, sf.data, dev || sqliteStore, log)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			go alog.Run(ctx) // checkpoints idle orgs' logs
			dir, err := directory.Open(octx, st, authz.New(), directory.Options{Logger: log, Audit: alog, ChangeRetention: retention, AuditCommitWindow: commitWindow(auditWindow),
				Approvals: directory.ApprovalOptions{PendingTTL: apvPending, UseWindow: apvWindow}})
			if err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("load directory: %w", err)}
			}
			defer dir.Close()
			go dir.RunPurge(ctx, 10*time.Minute) // expired bindings: the engine already ignores them
			as := auth.New(st, dir, keys, auth.Options{Logger: log})
			defer as.Close()
			vlt, err := openServeVault(octx, st, dir, alog, vkeys, log)
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}

			var demo *server.Demo
			if isFresh && dev && !noDemo {
				d, err := server.SeedDemo(octx, dir, as)
				if err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
				demo = &d
				if dev {
					if err := writeDemoKeys(filepath.Join(sf.data, "demo-keys.env"), d); err != nil {
						return &exitError{code: ExitInternal, err: err}
					}
				}
			}
			trusted, err := parsePrefixes("--trusted-proxy", proxies)
			if err != nil {
				return err
			}
			mcpAllowed, err := mcpUpstreamAllow(dev, cmd.Flags().Changed("mcp-upstream-allow"), mcpAllow)
			if err != nil {
				return err
			}
			mcpPorts16, err := mcpUpstreamPorts(mcpPorts)
			if err != nil {
				return err
			}
			apiMetricsToken := metricsToken // /metrics on the API listener: only without --metrics-addr
			if metricsAddr != "" {
				apiMetricsToken = ""
			}
			oidcProviders, err := loadOIDCConfig(oidcConfig)
			if err != nil {
				return err
			}
			con, err := console.New(console.Config{Directory: dir, Auth: as, Vault: vlt, Logger: log, Secure: strings.HasPrefix(publicURL, "https://")})
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			srv, err := server.New(server.Config{Directory: dir, Store: st, Auth: as, Vault: vlt, Logger: log, Version: Version,
				TrustedProxies: trusted, MetricsToken: apiMetricsToken, OIDC: oidcProviders, Console: con, PublicURL: publicURL,
				MaxLongPolls: maxLongPolls(longPolls), MCPUpstreamAllow: mcpAllowed, MCPUpstreamPorts: mcpPorts16})
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("listen: %w", err)}
			}
			base := "http://" + ln.Addr().String()
			switch {
			case metricsAddr != "":
				mln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					ln.Close()
					return &exitError{code: ExitInternal, err: fmt.Errorf("listen (--metrics-addr): %w", err)}
				}
				go serveMetrics(ctx, mln, srv.MetricsHandler(metricsToken), log)
				fmt.Fprintf(e.stdout, "gatehouse: serving the metrics on http://%s/metrics (token required: %v)\n", mln.Addr(), metricsToken != "")
			case metricsToken != "":
				log.Info("metrics are served on the API listener to the metrics token", "addr", base+"/metrics")
			default:
				log.Info("metrics are not served: pass --metrics-addr, or set " + metricsTokenEnv + " or --metrics-token-file")
			}
			fmt.Fprintf(e.stdout, "gatehouse: serving %s on %s (store %s)\n", "the API", base, where)
			if demo != nil {
				printQuickstart(e.stdout, base, sf.data, dev, *demo)
				if dev {
					printConsoleLink(octx, e.stdout, con, consoleBase(publicURL, base), demo.Keys["alice"], log)
				}
			}
			if debugAddr != "" {
				dln, err := net.Listen("tcp", debugAddr)
				if err != nil {
					return &exitError{code: ExitInternal, err: fmt.Errorf("listen (--debug-addr): %w", err)}
				}
				go serveDebug(ctx, dln, log)
				log.Warn("profiling endpoints are served", "addr", "http://"+dln.Addr().String()+"/debug/pprof/")
			}
			log.Info("serving", "addr", base, "store", where)
			if err := srv.Serve(ctx, ln, server.ServeOptions{ShutdownTimeout: drain}); err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			fmt.Fprintln(e.stdout, "gatehouse: stopped")
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: generate a master key beside the database, create the demo org (on a fresh store) and its keys file; create a session key if missing; allow MCP servers on loopback unless --mcp-upstream-allow is set")
	cmd.Flags().BoolVar(&noDemo, "no-demo", false, "with --dev, do not create the demo org")
	cmd.Flags().StringVar(&keyFile, "session-keys", "", "session signing key file (default <data>/session-keys.json)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug (every request), info, warn or error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "text or json")
	cmd.Flags().DurationVar(&drain, "shutdown-timeout", 20*time.Second, "how long to drain in-flight requests on SIGINT/SIGTERM")
	cmd.Flags().DurationVar(&retention, "change-retention", directory.DefaultChangeRetention, "how old the changes after a revision may be for the change feed to serve them (older: 410, replicas start again from a snapshot)")
	cmd.Flags().StringVar(&debugAddr, "debug-addr", "", "also serve Go's profiling endpoints (/debug/pprof/) on this address; keep it on loopback")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve /metrics on this address instead of the API listener (open to whoever reaches it, unless a metrics token is set); keep it on loopback or a private network")
	cmd.Flags().StringVar(&metricsFile, "metrics-token-file", "", "file holding the bearer token /metrics requires (default $"+metricsTokenEnv+"); without --metrics-addr, /metrics is on the API listener only with a token")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "the URL people reach this server at (e.g. https://gatehouse.example.com); an https URL makes the console's cookies Secure behind a TLS-terminating proxy; MCP gateway endpoint URLs are built from it")
	cmd.Flags().StringVar(&oidcConfig, "oidc-config", "", "YAML file of the orgs whose people sign in with an OpenID Connect identity provider (docs/oidc.md)")
	cmd.Flags().DurationVar(&apvPending, "approval-pending-ttl", 24*time.Hour, "how long a pending approval waits for approvers, for orgs that set nothing (1m to 720h; gatehouse approval settings)")
	cmd.Flags().DurationVar(&apvWindow, "approval-use-window", 15*time.Minute, "how long a granted approval may wait to be used, for orgs that set nothing (1m to 24h)")
	cmd.Flags().UintVar(&gcHeadroom, "gc-headroom-mib", gctune.DefaultHeadroomMiB, "let the heap grow at least this many MiB between garbage collections (GOGC raised above 100 while the live heap is smaller; unset: 1024, at most a quarter of the memory limit; 0: Go's default; ignored when GOGC is set)")
	cmd.Flags().DurationVar(&auditWindow, "audit-commit-window", audit.DefaultCommitWindow, "off by default; while decision and MCP tool-call audit entries arrive often, hold each group commit open this long after its first entry so that one transaction and one fsync serve several (every call still waits for its entry to be durable; 0: commit as soon as the writer is free)")
	cmd.Flags().IntVar(&longPolls, "max-long-polls", server.DefaultMaxLongPolls, "how many long polls and event streams (change feed, audit follow, approval waits) one principal may hold open on this server at once; one more is 429 with Retry-After (0: no bound). Raise it when many replicas or followers share one key")
	cmd.Flags().BoolVar(&sf.orgWrites, "postgres-org-writes", true, "on PostgreSQL, let bulk writes (POST /v1/orgs/{org}/writes) run concurrently with other orgs' (docs/storage.md; =false: every write runs alone)")
	cmd.Flags().UintSliceVar(&mcpPorts, "mcp-upstream-ports", nil, "the only ports MCP servers may be at inside the --mcp-upstream-allow networks (repeatable or comma-separated, e.g. 443,8443), so an MCP server registered or called there cannot be used to probe the hosts' other ports (default: any)")
	cmd.Flags().StringSliceVar(&mcpAllow, "mcp-upstream-allow", nil, "CIDRs (or addresses) of the loopback, private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7) and link-local networks MCP servers may be at (repeatable or comma-separated); the import and the gateway refuse every other address inside them, and cloud metadata addresses always (default: none; with --dev: 127.0.0.0/8,::1)")
	cmd.Flags().StringSliceVar(&proxies, "trusted-proxy", nil, "address or CIDR of a reverse proxy or host platform whose X-Forwarded-For is believed (repeatable); the client address rate limiting uses is then the nearest untrusted one")
	return withSettings(cmd)
}

// mcpUpstreamPorts is --mcp-upstream-ports as server.Config takes it.
func mcpUpstreamPorts(ps []uint) ([]uint16, error) {
	out := make([]uint16, len(ps))
	for i, p := range ps {
		if p == 0 || p > 65535 {
			return nil, badInput("--mcp-upstream-ports %d: want a port, 1 to 65535", p)
		}
		out[i] = uint16(p)
	}
	return out, nil
}

// mcpUpstreamAllow is --mcp-upstream-allow as server.Config takes it:
// unset with --dev, loopback (so that the walkthroughs' MCP servers on
// this machine can be imported); otherwise what it lists, nothing by
// default (mcp.UpstreamPolicy).
func mcpUpstreamAllow(dev, set bool, vals []string) ([]netip.Prefix, error) {
	if dev && !set {
		return mcp.LoopbackPrefixes, nil
	}
	out, err := parsePrefixes("--mcp-upstream-allow", vals)
	if err != nil {
		return nil, err
	}
	for i, p := range out {
		if p.Addr().Is4In6() { // ::ffff:10.0.0.0/104 names what 10.0.0.0/8 does
			out[i] = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
	}
	return out, nil
}

// maxLongPolls is --max-long-polls as server.Config takes it (0 there
// means the default; here, no bound).
func maxLongPolls(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// commitWindow is --audit-commit-window as directory.Options takes it (0
// there means the default; here, none).
func commitWindow(w time.Duration) time.Duration {
	if w <= 0 {
		return -1
	}
	return w
}

// metricsTokenEnv holds the metrics token when --metrics-token-file is
// not given.
const metricsTokenEnv = "GATEHOUSE_METRICS_TOKEN"

// minMetricsToken is the shortest metrics token serve accepts.
const minMetricsToken = 16

// readMetricsToken reads the metrics token from file, else from
// $GATEHOUSE_METRICS_TOKEN; "" when neither is set. A token is never a
// flag value (flags show in ps).
func readMetricsToken(file string) (string, error) {
	tok, src := strings.TrimSpace(os.Getenv(metricsTokenEnv)), "$"+metricsTokenEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", badInput("--metrics-token-file: %v", errors.Unwrap(err))
		}
		tok, src = strings.TrimSpace(string(b)), "--metrics-token-file "+file
		if tok == "" {
			return "", badInput("%s is empty", src)
		}
	}
	if tok != "" && len(tok) < minMetricsToken {
		return "", badInput("%s: the metrics token is %d bytes; use at least %d (e.g. head -c 32 /dev/urandom | base64)", src, len(tok), minMetricsToken)
	}
	return tok, nil
}

// serveMetrics serves the metrics handler at /metrics on its own listener
// until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics listener stopped", "error", err)
	}
}

// parsePrefixes reads --trusted-proxy values: CIDRs or single addresses.
func parsePrefixes(flag string, vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, badInput("%s %q: want an IP address or a CIDR such as 10.0.0.0/8", flag, v)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// serveDebug serves net/http/pprof on its own listener until ctx ends.
func serveDebug(ctx context.Context, ln net.Listener, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("debug listener stopped", "error", err)
	}
}

func writeDemoKeys(path string, d server.Demo) error {
	var b strings.Builder
	b.WriteString("# Gatehouse quickstart API keys (development only; delete this file for anything real).\n")
	ids := make([]string, 0, len(d.Keys))
	for id := range d.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "export %s_KEY=%s\n", strings.ToUpper(id), d.Keys[id])
	}
	return atomicfile.Write(path, []byte(b.String()), 0o600)
}

func printQuickstart(w io.Writer, base, data string, dev bool, d server.Demo) {
	fmt.Fprintf(w, `
Created the demo org %q (template agent-platform): alice owner; bob builder
in dev and operator in prod; carol viewer in team support, which may run
chains/escalation-triage; agent Triage operator in prod.

The owner's API key (shown once, stored only as a hash):

    export GATEHOUSE_TOKEN=%s
`, d.Org, d.Keys["alice"])
	if dev {
		fmt.Fprintf(w, "\nEvery demo user's key is in %s (source it for $ALICE_KEY, $BOB_KEY, $CAROL_KEY).\n",
			filepath.Join(data, "demo-keys.env"))
	}
	fmt.Fprintf(w, `
Try:

    curl -s %[1]s/v1/me -H "Authorization: Bearer $GATEHOUSE_TOKEN"

    curl -s %[1]s/v1/orgs/demo/check -H "Authorization: Bearer $GATEHOUSE_TOKEN" \
      -H 'Content-Type: application/json' \
      -d '{"principal":"user:bob","action":"chains:run","resource":"chains/database-migration","namespace":"prod"}'

    curl -s %[1]s/v1/orgs/demo/lookup/subjects -H "Authorization: Bearer $GATEHOUSE_TOKEN" \
      -H 'Content-Type: application/json' \
      -d '{"action":"chains:run","resource":"chains/escalation-triage","namespace":"prod"}'

or with the CLI (docs/cli.md):

    printf %%s "$GATEHOUSE_TOKEN" | gatehouse login --server %[1]s
    gatehouse check user:bob chains:run chains/database-migration -n prod
    gatehouse who-can chains:run chains/escalation-triage -n prod

`, base)
}

// checkApprovalDefaults bounds --approval-pending-ttl and
// --approval-use-window as an org's own settings are bounded.
func checkApprovalDefaults(pending, window time.Duration) error {
	if pending < directory.MinApprovalLifetime || pending > directory.MaxPendingTTL {
		return badInput("--approval-pending-ttl %s: want 1m to 720h", pending)
	}
	if window < directory.MinApprovalLifetime || window > directory.MaxUseWindow {
		return badInput("--approval-use-window %s: want 1m to 24h", window)
	}
	return nil
}
