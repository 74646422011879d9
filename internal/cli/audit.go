package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"

	"github.com/gatehouse-dev/gatehouse/internal/atomicfile"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The audit commands (docs/audit.md): tail, query and export read through
// the HTTP API as the caller (GET /v1/orgs/{org}/audit, audit:read) unless
// --database or --data asks for the database directly; verify, prune and
// adopt work on the database, like an operator's SQL client: they need
// the same --data / --database as serve and read every org's log without
// authorization.

// auditKeyFile is the default checkpoint signing key file in the data
// directory.
func auditKeyFile(data string) string { return filepath.Join(data, "audit-key.pem") }

// openAuditLog returns the audit log serve records through: checkpoints
// signed with $GATEHOUSE_AUDIT_KEY or <data>/audit-key.pem, which is
// created when mayCreate (--dev, or SQLite) and missing. Without a key
// (PostgreSQL without one configured) it fails: every replica must sign
// with a key the database does not hold.
func openAuditLog(st store.Store, data string, mayCreate bool, log *slog.Logger) (*audit.Log, error) {
	signer, err := loadAuditSigner(data, "")
	if errors.Is(err, audit.ErrNoKey) && mayCreate {
		if signer, err = audit.WriteNewKey(auditKeyFile(data)); err == nil {
			log.Info("created an audit checkpoint signing key", "file", auditKeyFile(data), "key_id", signer.Public().ID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("audit key: %w (create one with `gatehouse audit keygen`, or set %s)", err, audit.KeyEnv)
	}
	var trusted []audit.PublicKey
	if v := os.Getenv(TrustedKeysEnv); v != "" {
		if trusted, err = audit.ParsePublicKeys([]byte(v)); err != nil {
			return nil, fmt.Errorf("%s: %w", TrustedKeysEnv, err)
		}
	}
	return audit.New(st, audit.Options{Signer: signer, TrustedKeys: trusted, Logger: log})
}

// TrustedKeysEnv holds the public keys this deployment signed checkpoints
// with before a key rotation: the checkpointer starts from a checkpoint
// they signed (docs/audit.md, "The key").
const TrustedKeysEnv = "GATEHOUSE_AUDIT_TRUSTED_KEYS"

// loadAuditSigner reads the signing key from path, $GATEHOUSE_AUDIT_KEY,
// or <data>/audit-key.pem, in that order; ErrNoKey if none exists.
func loadAuditSigner(data, path string) (*audit.Signer, error) {
	if path != "" {
		return audit.LoadSigner(path)
	}
	if os.Getenv(audit.KeyEnv) != "" {
		return audit.LoadSigner("")
	}
	s, err := audit.LoadSigner(auditKeyFile(data))
	if errors.Is(err, os.ErrNotExist) {
		return nil, audit.ErrNoKey
	}
	return s, err
}

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read, follow, verify and export the tamper-evident audit log",
		Args:  cobra.ArbitraryArgs,
		RunE:  unknownSubcommand,
	}
	cmd.AddCommand(newAuditListCmd(e, "tail"), newAuditListCmd(e, "query"), newAuditVerifyCmd(e),
		newAuditExportCmd(e), newAuditKeygenCmd(e), newAuditPruneCmd(e), newAuditAdoptCmd(e))
	return cmd
}

// auditFilterFlags are the filters shared by tail and query.
type auditFilterFlags struct {
	actor, action, target, result, since, until string
}

func (f *auditFilterFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.actor, "actor", "", "only entries by this principal (user:alice)")
	cmd.Flags().StringVar(&f.action, "action", "", "only this action, or a prefix ending in * (bindings.*)")
	cmd.Flags().StringVar(&f.target, "target", "", "only this target (binding/b1)")
	cmd.Flags().StringVar(&f.result, "result", "", "only success, denied or error")
	cmd.Flags().StringVar(&f.since, "since", "", "only entries at or after this RFC 3339 time")
	cmd.Flags().StringVar(&f.until, "until", "", "only entries before this RFC 3339 time")
}

func (f *auditFilterFlags) filter() (store.AuditFilter, error) {
	out := store.AuditFilter{Actor: f.actor, Action: f.action, Target: f.target, Result: f.result}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"--since", f.since, &out.Since}, {"--until", f.until, &out.Until}} {
		if t.v == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return out, badInput("%s %q is not an RFC 3339 time", t.name, t.v)
		}
		*t.dst = tm
	}
	if f.result != "" && !audit.Result(f.result).Valid() {
		return out, badInput("--result %q: want success, denied or error", f.result)
	}
	return out, nil
}

// newAuditListCmd is `audit tail` (the newest entries, then --follow) and
// `audit query` (filtered, oldest first, paged): over the API as the
// caller (audit:read; redacted as the API redacts), or with --database or
// --data, on the database directly.
func newAuditListCmd(e *env, verb string) *cobra.Command {
	var (
		a      = &adm{e: e}
		sf     storeFlags
		ff     auditFilterFlags
		n      int
		follow bool
		poll   time.Duration
	)
	short := "Show an org's newest audit entries (and follow new ones with --follow)"
	if verb == "query" {
		short = "Search an org's audit log with filters (oldest first)"
	}
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Long: short + `.

Over the API (the default) it reads as the caller, who needs audit:read,
and shows what the API shows (secret names redacted for a reader without
secrets:list). With --database or --data it reads the database directly,
every org's log without authorization, like an operator's SQL client.

-o json and yaml print {"items": [...], "next_cursor": ""}; with --follow,
one entry per line (JSON Lines) or one YAML document per entry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.f.output.check(); err != nil {
				return err
			}
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if n < 0 {
				return badInput("--limit must not be negative")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			pr := newEntryPrinter(e.stdout, a.f.output, follow)
			if directMode(cmd) {
				if a.f.org == "" {
					return badInput("--org is required with --database or --data")
				}
				st, _, err := sf.open(ctx)
				if err != nil {
					return err
				}
				defer st.Close()
				return listAudit(ctx, verb, storeReader(st, a.f.org), f, n, follow, poll, pr)
			}
			cmd.SetContext(ctx)
			return a.inOrg(cmd, func(cl *call, org string) error {
				return listAudit(followCtx(ctx, cl, follow), verb, apiReader(cl, org, follow), f, n, follow, poll, pr)
			})
		},
	}
	a.leaf(cmd)
	sf.register(cmd)
	ff.register(cmd)
	if verb == "tail" {
		cmd.Flags().IntVar(&n, "limit", 20, "how many of the newest entries to show")
		cmd.Flags().IntVar(&n, "lines", 20, "how many of the newest entries to show")
		_ = cmd.Flags().MarkDeprecated("lines", "use --limit (-n is the namespace everywhere)")
	} else {
		cmd.Flags().IntVar(&n, "limit", 0, "stop after this many entries (0: all)")
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new entries as they are recorded")
	cmd.Flags().DurationVar(&poll, "poll", time.Second, "how often --follow looks for new entries (--database mode; over the API it long-polls)")
	return cmd
}

// directMode: --database or --data was given, so the command reads the
// database instead of the API.
func directMode(cmd *cobra.Command) bool {
	return cmd.Flags().Changed("database") || cmd.Flags().Changed("data")
}

// followCtx is the context of an audit read over the API: the command's
// --timeout bounds it, unless it follows (then only an interrupt ends
// it).
func followCtx(ctx context.Context, cl *call, follow bool) context.Context {
	if follow {
		return ctx
	}
	return cl.ctx
}

// auditReader reads one page of an org's log.
type auditReader func(ctx context.Context, f store.AuditFilter, size int, cursor string) ([]audit.Entry, string, error)

func storeReader(st store.Store, org string) auditReader {
	return func(ctx context.Context, f store.AuditFilter, size int, cursor string) ([]audit.Entry, string, error) {
		rs, next, err := st.ListAudit(ctx, org, f, store.Page{Size: size, Cursor: cursor})
		if err != nil {
			return nil, "", &exitError{code: ExitInternal, err: err}
		}
		es := make([]audit.Entry, 0, len(rs))
		for _, r := range rs {
			e, err := audit.FromRecord(r)
			if err != nil {
				return nil, "", &exitError{code: ExitInternal, err: err}
			}
			es = append(es, e)
		}
		return es, next, nil
	}
}

// apiReader reads through GET /v1/orgs/{org}/audit; following (After
// set), it long-polls.
func apiReader(cl *call, org string, wait bool) auditReader {
	return func(ctx context.Context, f store.AuditFilter, size int, cursor string) ([]audit.Entry, string, error) {
		q := client.AuditFilter{Actor: f.Actor, Action: f.Action, Target: f.Target, Result: f.Result, Since: f.Since, Until: f.Until,
			After: f.After, Newest: f.Newest}
		if wait && f.After > 0 {
			// Long-poll, within the per-request --timeout.
			q.Wait = min(20*time.Second, cl.a.f.timeout/2)
		}
		l, err := cl.c.ListAudit(ctx, org, q, &client.ListOptions{PageSize: size, Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		es := make([]audit.Entry, 0, len(l.Items))
		for _, it := range l.Items {
			e, err := entryOf(it)
			if err != nil {
				return nil, "", err
			}
			es = append(es, e)
		}
		return es, l.NextCursor, nil
	}
}

// entryOf converts the API's entry to the audit package's (the same JSON).
func entryOf(it client.AuditEntry) (audit.Entry, error) {
	var e audit.Entry
	b, err := json.Marshal(it)
	if err == nil {
		err = json.Unmarshal(b, &e)
	}
	if err != nil {
		return e, fmt.Errorf("audit entry %d: %w", it.Seq, err)
	}
	return e, nil
}

// listAudit prints tail's newest n entries or query's first n (0: all),
// then, following, every new one.
func listAudit(ctx context.Context, verb string, read auditReader, f store.AuditFilter, n int, follow bool, poll time.Duration, pr *entryPrinter) error {
	var last uint64
	if verb == "tail" {
		f.Newest = true
		es, _, err := read(ctx, f, max(1, min(n, store.MaxPageSize)), "")
		if err != nil {
			return err
		}
		if n == 0 {
			es = nil
		}
		for i := len(es) - 1; i >= 0; i-- { // oldest first on screen
			if err := pr.print(es[i]); err != nil {
				return err
			}
		}
		if len(es) > 0 {
			last = es[0].Seq
		} else if one, _, err := read(ctx, store.AuditFilter{Newest: true}, 1, ""); err == nil && len(one) > 0 {
			last = one[0].Seq
		}
		f.Newest = false
	} else {
		cursor, printed := "", 0
		for n <= 0 || printed < n {
			size := store.MaxPageSize
			if n > 0 {
				size = min(size, n-printed)
			}
			es, next, err := read(ctx, f, size, cursor)
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := pr.print(e); err != nil {
					return err
				}
				last = e.Seq
			}
			printed += len(es)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	if err := pr.flush(); err != nil {
		return err
	}
	for follow && ctx.Err() == nil {
		f.After = last
		es, _, err := read(ctx, f, store.MaxPageSize, "")
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		for _, e := range es {
			if err := pr.print(e); err != nil {
				return err
			}
			last = e.Seq
		}
		if err := pr.flush(); err != nil {
			return err
		}
		if len(es) == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}
	return nil
}

// entryPrinter prints entries as a table, or JSON or YAML: a list at
// flush, or (streaming) one entry at a time.
type entryPrinter struct {
	out    output
	stream bool
	w      io.Writer
	tw     *tabwriter.Writer
	items  []audit.Entry
}

func newEntryPrinter(w io.Writer, out output, stream bool) *entryPrinter {
	p := &entryPrinter{out: out, w: w, stream: stream}
	if !out.machine() {
		p.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	}
	return p
}

func (p *entryPrinter) print(e audit.Entry) error {
	switch {
	case p.out.machine() && p.stream && p.out == "json":
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = p.w.Write(append(b, '\n'))
		return err
	case p.out.machine() && p.stream:
		return p.out.emit(p.w, e)
	case p.out.machine():
		p.items = append(p.items, e)
		return nil
	}
	msg := e.Message
	if len(msg) > 80 {
		msg = msg[:77] + "..."
	}
	_, err := fmt.Fprintf(p.tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), oneLine(e.Actor.Principal), oneLine(e.Action),
		oneLine(e.Target), e.Result, oneLine(msg))
	return err
}

// flush ends a batch: the table's rows, or the list.
func (p *entryPrinter) flush() error {
	switch {
	case p.tw != nil:
		return p.tw.Flush()
	case !p.stream:
		err := p.out.emit(p.w, listOf(p.items, ""))
		p.items = nil
		p.stream = true // what follows, streams
		return err
	}
	return nil
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	var (
		sf          storeFlags
		org         string
		checkpoints string
		keyFile     string
		out         output
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove an org's audit log (or every org's): hash chain, sequence, signed checkpoints",
		Long: `Prove the audit log: every entry chains to its predecessor (SHA-256), sequence
numbers are dense, every checkpoint is signed by the audit key and agrees with
the chain, and the log reaches every checkpoint. With --checkpoints, exported
checkpoints (audit export --checkpoints) anchor the log too, so truncating or
rewriting the database together with its checkpoints is detected.

Every org that exists must have a log, which must end at the head its
writer recorded (entries deleted from the end, or a whole log deleted, are
detected). With the private key, every entry's MAC is checked too: an entry
inserted or rewritten with SQL by someone without the key is a "forged
entry". With only public keys, MACs are not checked (and the output says
so).

The key is --key (a public key PEM, base64 public keys, or the private key
file: then MACs are checked), else $GATEHOUSE_AUDIT_KEY, else
<data>/audit-key.pem.

Exit 0: verified. Exit 1: the log does not verify; the first bad entry and
what is wrong are printed. Exit 2: bad input. Exit 3: the store failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			opts := audit.VerifyOptions{}
			if keyFile != "" {
				b, err := os.ReadFile(keyFile)
				if err != nil {
					return badInput("--key: %v", err)
				}
				if opts.Keys, opts.MACKeys, err = audit.ParseVerifyKeys(b); err != nil {
					return badInput("--key: %v", err)
				}
			} else if s, err := loadAuditSigner(sf.data, ""); err == nil {
				opts.Keys, opts.MACKeys = []audit.PublicKey{s.Public()}, []audit.MACKey{s.MACKey()}
			} else if !errors.Is(err, audit.ErrNoKey) {
				return badInput("audit key: %v", err)
			}
			if checkpoints != "" {
				f, err := os.Open(checkpoints)
				if err != nil {
					return badInput("--checkpoints: %v", err)
				}
				opts.Checkpoints, err = audit.ReadCheckpoints(f)
				f.Close()
				if err != nil {
					return badInput("--checkpoints: %v", err)
				}
			}
			ctx := cmd.Context()
			st, _, err := sf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			// Every org that exists must have a log.
			if opts.Orgs, err = existingOrgs(ctx, st); err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			var reps []audit.Report
			if org != "" {
				var rep audit.Report
				rep, err = audit.Verify(ctx, st, org, opts)
				reps = append(reps, rep)
			} else {
				reps, err = audit.VerifyAll(ctx, st, opts)
			}
			var ve *audit.VerifyError
			switch {
			case errors.As(err, &ve):
			case errors.Is(err, audit.ErrNoKey):
				return badInput("%v", err)
			case err != nil:
				return &exitError{code: ExitInternal, err: err}
			}
			if out.machine() {
				if err := out.emit(e.stdout, map[string]any{"ok": ve == nil, "reports": reps, "problem": ve}); err != nil {
					return err
				}
			} else {
				for _, r := range reps {
					if ve != nil && r.Org == ve.Org {
						continue
					}
					fmt.Fprintf(e.stdout, "ok    %s: entries %d..%d (%d), head %s, %d checkpoints, anchored through %d%s%s\n",
						r.Org, r.First, r.Last, r.Entries, short(r.Head), r.Checkpoints, r.Anchored, unanchored(r), recorded(r))
				}
				if ve != nil {
					fmt.Fprintf(e.stdout, "FAIL  %s: entry %d: %s: %s\n", ve.Org, ve.Seq, ve.Problem, ve.Detail)
				}
				if len(opts.MACKeys) == 0 {
					fmt.Fprintln(e.stdout, "note  entry MACs were not checked (give the private key with --key, or $GATEHOUSE_AUDIT_KEY):\n      entries rewritten or appended with SQL after the newest checkpoint would not be detected")
				}
			}
			if ve != nil {
				return silentExit(ExitDeny)
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&org, "org", "", "verify only this org (default: every org with a log)")
	cmd.Flags().StringVar(&checkpoints, "checkpoints", "", "exported checkpoints file (JSON Lines) to anchor the log")
	cmd.Flags().StringVar(&keyFile, "key", "", "public key(s) that sign checkpoints, or the private key (also checks entry MACs)")
	addOutputFlag(cmd, &out)
	return cmd
}

// existingOrgs lists every org in the store.
func existingOrgs(ctx context.Context, st store.Store) ([]string, error) {
	var (
		out []string
		p   = store.Page{Size: store.MaxPageSize}
	)
	for {
		orgs, next, err := st.ListOrgs(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			out = append(out, o.ID)
		}
		if next == "" {
			return out, nil
		}
		p.Cursor = next
	}
}

func short(h audit.Hash) string { return h.String()[:16] }

// recorded says whether the log ends at the head its writer recorded.
func recorded(r audit.Report) string {
	switch {
	case r.RecordedHead == 0:
		return ", no recorded head"
	case r.MACsChecked:
		return ", ends at its recorded head (MACs checked)"
	}
	return ", ends at its recorded head"
}

func unanchored(r audit.Report) string {
	if r.Last > r.Anchored {
		return fmt.Sprintf(" (%d newer entries not yet checkpointed)", r.Last-r.Anchored)
	}
	return ""
}

func newAuditExportCmd(e *env) *cobra.Command {
	var (
		a           = &adm{e: e}
		sf          storeFlags
		state       string
		after       uint64
		format      string
		to          string
		name        string
		follow      bool
		checkpoints string
		secretEnv   string
		tlsOn       bool
		batch       int
		only        []string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export an org's audit log to a SIEM (JSON Lines, CEF, syslog, webhook) from a stored cursor",
		Long: `Export an org's audit log from the cursor stored under --name (one per
destination), so that a restarted export resumes where the receiver last
acknowledged: nothing is skipped, and an entry is delivered twice only if a
failure hit its batch (entries carry org and seq for dedup).

  --format jsonl|cef  --to FILE (appended; "-" for stdout)
  --format syslog     --to HOST:PORT (RFC 5424, TCP; --tls for TLS)
  --format webhook    --to URL (HMAC-SHA256 signed with $GATEHOUSE_WEBHOOK_SECRET
                      or the variable --secret-env names)

--only PREFIX delivers only entries whose action starts with PREFIX (the
others are passed over): --only approval. --format webhook --follow is the
approval webhook, a signed POST on every approval request and state change
that a team routes to chat.

--follow keeps exporting new entries, retrying failed deliveries with
backoff. --checkpoints FILE also writes the org's signed checkpoints
(JSON Lines) to FILE: keep it outside the database for audit verify.

Over the API (the default) it reads as the caller (audit:read; redacted as
the API redacts) from --after, or from the sequence number stored in
--state FILE, which it updates after each delivered batch. With --database
or --data it reads the database directly and keeps its cursor there, under
--name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			org := a.f.org
			if directMode(cmd) && org == "" {
				return badInput("--org is required with --database or --data")
			}
			var sink audit.Sink
			var closeOut func() error
			switch format {
			case "jsonl", "cef":
				if to == "" {
					return badInput("--to is required (a file, or - for stdout)")
				}
				var w io.Writer = e.stdout
				if to != "-" {
					f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
					if err != nil {
						return badInput("--to: %v", err)
					}
					w, closeOut = f, f.Close
				}
				if format == "jsonl" {
					sink = audit.JSONLines{W: w}
				} else {
					sink = audit.CEF{W: w}
				}
			case "syslog":
				if to == "" {
					return badInput("--to HOST:PORT is required")
				}
				s := &audit.Syslog{Addr: to}
				if tlsOn {
					host, _, _ := strings.Cut(to, ":")
					s.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
				}
				sink = s
			case "webhook":
				if !strings.HasPrefix(to, "https://") && !strings.HasPrefix(to, "http://") {
					return badInput("--to must be an http(s) URL")
				}
				secret := os.Getenv(secretEnv)
				if secret == "" {
					return badInput("$%s (the webhook's HMAC secret) is not set", secretEnv)
				}
				sink = &audit.Webhook{URL: to, Secret: []byte(secret)}
			default:
				return badInput("--format %q: want jsonl, cef, syslog or webhook", format)
			}
			if len(only) > 0 {
				sink = audit.Only(sink, only...)
			}
			defer sink.Close()
			if closeOut != nil {
				defer closeOut()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if !directMode(cmd) {
				cmd.SetContext(ctx)
				return a.inOrg(cmd, func(cl *call, org string) error {
					return exportAPI(followCtx(ctx, cl, follow), e, cl, org, sink, format, state, after, batch, follow, checkpoints)
				})
			}
			st, _, err := sf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if checkpoints != "" {
				f, err := os.OpenFile(checkpoints, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return badInput("--checkpoints: %v", err)
				}
				_, err = audit.ExportCheckpoints(ctx, st, org, 0, f)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
			}
			x := &audit.Exporter{Store: st, Org: org, Name: name, Sink: sink, Batch: batch,
				OnError: func(err error) { fmt.Fprintln(e.stderr, "gatehouse: audit export:", err) }}
			if follow {
				if err := x.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					return &exitError{code: ExitInternal, err: err}
				}
				return nil
			}
			total := 0
			for {
				n, err := x.RunOnce(ctx)
				if err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
				if n == 0 {
					break
				}
				total += n
			}
			fmt.Fprintf(e.stderr, "gatehouse: exported %d entries of %s to %s\n", total, org, format)
			return nil
		},
	}
	a.leaf(cmd)
	sf.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "over the API: file holding the last exported sequence number (read, then updated)")
	cmd.Flags().Uint64Var(&after, "after", 0, "over the API: export entries after this sequence number (default: --state's)")
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl, cef, syslog or webhook")
	cmd.Flags().StringVar(&to, "to", "", "destination: file (- for stdout), host:port, or URL")
	cmd.Flags().StringVar(&name, "name", "default", "--database mode: the exporter's name; its cursor is stored in the database under it")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep exporting new entries until interrupted")
	cmd.Flags().StringVar(&checkpoints, "checkpoints", "", "also write the org's checkpoints to this file")
	cmd.Flags().StringVar(&secretEnv, "secret-env", "GATEHOUSE_WEBHOOK_SECRET", "environment variable holding the webhook's HMAC secret")
	cmd.Flags().BoolVar(&tlsOn, "tls", false, "syslog over TLS")
	cmd.Flags().IntVar(&batch, "batch", 500, "entries per delivery")
	cmd.Flags().StringSliceVar(&only, "only", nil, "deliver only entries whose action starts with this prefix (repeatable); e.g. --only approval. --format webhook is the approval webhook")
	return cmd
}

// exportAPI exports the org's log read over the API to sink, from after
// or the sequence number in the state file, updating it after each
// delivered batch; following, it long-polls for new entries.
func exportAPI(ctx context.Context, e *env, cl *call, org string, sink audit.Sink, format, state string, after uint64, batch int, follow bool, checkpoints string) error {
	if state != "" && after == 0 {
		b, err := os.ReadFile(state)
		switch {
		case err == nil:
			if after, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
				return badInput("--state %s: not a sequence number", state)
			}
		case !errors.Is(err, os.ErrNotExist):
			return badInput("--state: %v", err)
		}
	}
	if checkpoints != "" {
		cps, err := cl.c.AuditCheckpoints(ctx, org, 0)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for _, c := range cps {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		if err := atomicfile.Write(checkpoints, b.Bytes(), 0o600); err != nil {
			return badInput("--checkpoints: %v", err)
		}
	}
	read := apiReader(cl, org, follow)
	total := 0
	for ctx.Err() == nil {
		es, _, err := read(ctx, store.AuditFilter{After: after}, max(1, min(batch, store.MaxPageSize)), "")
		if err != nil {
			if follow && ctx.Err() != nil {
				break
			}
			return err
		}
		if len(es) == 0 {
			if !follow {
				break
			}
			continue
		}
		if err := sink.Deliver(ctx, es); err != nil {
			return &exitError{code: ExitUnavailable, err: fmt.Errorf("deliver: %w", err)}
		}
		after = es[len(es)-1].Seq
		total += len(es)
		if state != "" {
			if err := atomicfile.Write(state, []byte(strconv.FormatUint(after, 10)+"\n"), 0o600); err != nil {
				return &exitError{code: ExitInternal, err: fmt.Errorf("--state: %w", err)}
			}
		}
	}
	fmt.Fprintf(e.stderr, "gatehouse: exported %d entries of %s to %s (through %d)\n", total, org, format, after)
	return nil
}

func newAuditKeygenCmd(e *env) *cobra.Command {
	var outFile string
	var out output
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create an Ed25519 checkpoint signing key (PEM, mode 0600) and print its public key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if outFile == "" {
				return badInput("--out is required")
			}
			s, err := audit.WriteNewKey(outFile)
			if err != nil {
				return badInput("%v", err)
			}
			if out.machine() {
				return out.emit(e.stdout, map[string]string{"key_id": s.Public().ID, "file": outFile, "public_key": string(s.Public().MarshalPEM())})
			}
			fmt.Fprintf(e.stdout, "# key id %s; give this public key to audit verify --key\n%s", s.Public().ID, s.Public().MarshalPEM())
			return nil
		},
	}
	cmd.Flags().StringVar(&outFile, "out", "", "file to create (refuses to overwrite)")
	addOutputFlag(cmd, &out)
	return cmd
}

func newAuditPruneCmd(e *env) *cobra.Command {
	var (
		sf       storeFlags
		org      string
		through  uint64
		exporter string
		actor    string
		out      output
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete an org's entries up to a checkpoint that an exporter has delivered (retention)",
		Long: `Retention is export, then prune: entries up to and including --through (a
checkpointed sequence number) are deleted only if the exporter --exporter has
delivered them. The prune is itself recorded (action audit.prune) and
checkpointed, so the remaining log still verifies from the checkpoint at
--through.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			if org == "" || through == 0 || exporter == "" {
				return badInput("--org, --through and --exporter are required")
			}
			ctx := cmd.Context()
			st, _, err := sf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			signer, err := loadAuditSigner(sf.data, "")
			if err != nil {
				return badInput("audit key: %v", err)
			}
			l, err := audit.New(st, audit.Options{Signer: signer})
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			n, err := l.Prune(ctx, org, through, exporter, audit.Actor{Principal: actor})
			switch {
			case errors.Is(err, audit.ErrNotExported), errors.Is(err, store.ErrRefused), errors.Is(err, store.ErrConflict):
				return badInput("%v", err)
			case err != nil:
				return &exitError{code: ExitInternal, err: err}
			}
			if out.machine() {
				return out.emit(e.stdout, map[string]any{"org": org, "through": through, "pruned": n})
			}
			fmt.Fprintf(e.stdout, "pruned %d entries of %s through %d\n", n, org, through)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&org, "org", "", "the org")
	cmd.Flags().Uint64Var(&through, "through", 0, "last sequence number to delete (must be a checkpoint)")
	cmd.Flags().StringVar(&exporter, "exporter", "", "the exporter (audit export --name) that must have delivered them")
	cmd.Flags().StringVar(&actor, "actor", "operator", "who is pruning (recorded in the entry)")
	addOutputFlag(cmd, &out)
	return cmd
}

func newAuditAdoptCmd(e *env) *cobra.Command {
	var (
		sf  storeFlags
		org string
		out output
	)
	type adopted struct {
		Org        string `json:"org"`
		Checkpoint uint64 `json:"checkpoint,omitempty"`
		Adopted    uint64 `json:"adopted"`
		Problem    string `json:"problem,omitempty"`
	}
	cmd := &cobra.Command{
		Use:   "adopt",
		Short: "Checkpoint entries written before entries had MACs (once, after upgrading)",
		Long: `Entries written before migration 00006 carry no MAC. Those a signed
checkpoint covers verify as before; any after the org's newest checkpoint
are reported by a keyed verify as "forged entry", and the checkpointer
does not sign over them. adopt signs a checkpoint over the org's head
(--org, or every org with a log) accepting entries without a MAC since the
previous checkpoint; an entry with a wrong MAC is still refused. Check
those entries first (audit query): adopt vouches for them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.check(); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, _, err := sf.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			signer, err := loadAuditSigner(sf.data, "")
			if err != nil {
				return badInput("audit key: %v", err)
			}
			l, err := audit.New(st, audit.Options{Signer: signer})
			if err != nil {
				return &exitError{code: ExitInternal, err: err}
			}
			var done []adopted
			say := func(a adopted, format string, args ...any) {
				done = append(done, a)
				if !out.machine() {
					fmt.Fprintf(e.stdout, format, args...)
				}
			}
			defer func() {
				if out.machine() {
					_ = out.emit(e.stdout, listOf(done, ""))
				}
			}()
			orgs := []string{org}
			if org == "" {
				if orgs, err = st.AuditOrgs(ctx); err != nil {
					return &exitError{code: ExitInternal, err: err}
				}
			}
			for _, o := range orgs {
				seq, n, err := l.Adopt(ctx, o)
				var ve *audit.VerifyError
				switch {
				case errors.As(err, &ve):
					say(adopted{Org: o, Problem: fmt.Sprintf("entry %d: %s: %s", ve.Seq, ve.Problem, ve.Detail)},
						"FAIL  %s: entry %d: %s: %s\n", ve.Org, ve.Seq, ve.Problem, ve.Detail)
					return silentExit(ExitDeny)
				case err != nil:
					return &exitError{code: ExitInternal, err: err}
				case seq == 0:
					say(adopted{Org: o}, "ok    %s: already checkpointed at its head\n", o)
				default:
					say(adopted{Org: o, Checkpoint: seq, Adopted: n}, "ok    %s: checkpointed at %d (%d entries without a MAC adopted)\n", o, seq, n)
				}
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&org, "org", "", "the org (default: every org with a log)")
	addOutputFlag(cmd, &out)
	return cmd
}
