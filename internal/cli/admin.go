package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
)

// The admin verbs (org, ns, member, invite, team, role, bind, share, agent,
// service, key, resource, policy get|put|validate, check, explain,
// who-can, what-can, whoami) talk to a running server through the Go SDK
// (package client), as the caller:
//
//   - server: --server, else $GATEHOUSE_SERVER, else $GATEHOUSE_URL, else
//     the context's (contexts.go), else http://127.0.0.1:8080;
//   - credential: --token-file, else $GATEHOUSE_TOKEN, else --token (a
//     flag is visible to other users of the machine: prefer the others),
//     else the context's;
//   - org: --org, else $GATEHOUSE_ORG, else the context's, else the
//     caller's only org (or the org its key is confined to);
//   - -o table (default), json or yaml: json and yaml print the server's
//     answer.
//
// Exit codes: conventions.go.
//
// A verb is built by listCmd, getCmd, writeCmd or deleteCmd (at the end of
// this file) where it is one of those; the rest run through inOrg, and
// print with out, say, report or answer.

// admFlags are the flags every admin verb shares.
type admFlags struct {
	server    string
	token     string
	tokenFile string
	org       string
	output    output
	timeout   time.Duration
	context   string
	// noContext: login, which makes a context, uses none.
	noContext bool
}

// defaultTimeout bounds a command against the server.
const defaultTimeout = 30 * time.Second

func (f *admFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.server, "server", "", "server URL (default $GATEHOUSE_SERVER, else $GATEHOUSE_URL, else http://127.0.0.1:8080)")
	fs.StringVar(&f.token, "token", "", "API key or session token (default $GATEHOUSE_TOKEN; a flag is visible in ps, prefer the variable or --token-file)")
	fs.StringVar(&f.tokenFile, "token-file", "", "read the API key or session token from this file")
	fs.StringVar(&f.org, "org", "", "org id (default $GATEHOUSE_ORG, else your only org)")
	fs.VarP(newOutputValue(&f.output, "table"), "output", "o", strings.Join(outputFormats, ", "))
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, "bound on the whole command")
	// Not --context: check, explain, who-can and what-can take --context
	// KEY=VALUE for conditions.
	fs.StringVar(&f.context, "use-context", "", "use this stored context (default $GATEHOUSE_CONTEXT, else the current one; gatehouse context list)")
}

// adm runs admin verbs.
type adm struct {
	e *env
	f admFlags
	// scope finds the org a verb works in; nil is call.org. The key verbs
	// set it: with --personal they work in none.
	scope func(cl *call) (string, error)
	// ctxOrg is the context's org; hasToken: a credential was configured
	// (client sets both).
	ctxOrg   string
	hasToken bool
	// token is the configured credential (client sets it): the MCP
	// commands present it to the gateway themselves.
	token string
}

// addAdminCommands adds the admin verbs to root, and get/put/validate to
// its policy command.
func addAdminCommands(root *cobra.Command, e *env) {
	a := &adm{e: e}
	root.AddCommand(
		a.orgCmd(), a.nsCmd(), a.memberCmd(), a.inviteCmd(), a.teamCmd(), a.roleCmd(),
		a.bindCmd(), a.shareCmd(), a.agentCmd(), a.serviceCmd(), a.keyCmd(), a.resourceCmd(),
		a.checkCmd(), a.explainCmd(), a.whoCanCmd(), a.whatCanCmd(), a.whoamiCmd(), a.accountCmd(),
	)
	root.AddCommand(a.importCmd(), a.mcpCmd(), a.changesCmd())
	for _, c := range root.Commands() {
		if c.Name() == "policy" {
			for _, sub := range a.policyCmds() {
				a.f.register(sub.Flags())
				c.AddCommand(sub)
			}
		}
	}
}

// group is a command holding verbs, with the shared flags.
func (a *adm) group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: unknownSubcommand}
	a.f.register(cmd.PersistentFlags())
	cmd.AddCommand(subs...)
	return cmd
}

// leaf is a top-level verb with the shared flags.
func (a *adm) leaf(cmd *cobra.Command) *cobra.Command {
	a.f.register(cmd.PersistentFlags())
	return cmd
}

// call is one admin command's run: a context bounded by --timeout, the
// client, and the output format.
type call struct {
	a   *adm
	ctx context.Context
	c   *client.Client
	// ws collects what the command's writes stopped (the answers'
	// warnings, client.CollectWarnings); shown counts those printed.
	ws    *client.WriteWarnings
	shown int
}

// run validates the output flag, builds the client and runs fn, mapping
// its error to an exit code.
func (a *adm) run(cmd *cobra.Command, fn func(cl *call) error) error {
	if err := a.f.output.check(); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), a.f.timeout)
	defer cancel()
	ctx, ws := client.CollectWarnings(ctx)
	cl := &call{a: a, ctx: ctx, c: c, ws: ws}
	err = fn(cl)
	// What a write stopped is never lost: a command that did not print it
	// (it failed after the write) prints it here.
	printWriteWarnings(a.e.stderr, cl.warnings())
	err = admExit(err)
	if exitCodeOf(err) == ExitUnauthenticated && !a.hasToken {
		err = &exitError{code: ExitUnauthenticated, err: fmt.Errorf("%w\nno credential: set GATEHOUSE_TOKEN, pass --token-file, or run gatehouse login", errors.Unwrap(err))}
	}
	return err
}

// inOrg runs fn as run does, in the org the command is about.
func (a *adm) inOrg(cmd *cobra.Command, fn func(cl *call, org string) error) error {
	return a.run(cmd, func(cl *call) error {
		scope := a.scope
		if scope == nil {
			scope = (*call).org
		}
		org, err := scope(cl)
		if err != nil {
			return err
		}
		return fn(cl, org)
	})
}

func (a *adm) client() (*client.Client, error) {
	var cc cliContext
	if !a.f.noContext {
		active, err := activeContext(a.f.context)
		if err != nil {
			return nil, err
		}
		if active != nil {
			cc = *active
		}
	}
	a.ctxOrg = cc.Org
	base := firstNonEmpty(a.f.server, os.Getenv("GATEHOUSE_SERVER"), os.Getenv("GATEHOUSE_URL"), cc.Server, "http://127.0.0.1:8080")
	token := strings.TrimSpace(os.Getenv("GATEHOUSE_TOKEN"))
	if a.f.tokenFile != "" {
		b, err := os.ReadFile(a.f.tokenFile)
		if err != nil {
			return nil, badInput("--token-file: %v", errors.Unwrap(err))
		}
		token = strings.TrimSpace(string(b))
	} else if a.f.token != "" {
		token = a.f.token
	}
	if token == "" {
		token = cc.Token
	}
	a.hasToken = token != ""
	a.token = token
	c, err := client.New(base, client.WithToken(token), client.WithUserAgent("gatehouse-cli/"+Version),
		client.WithHTTPClient(&http.Client{Timeout: a.f.timeout}))
	if err != nil {
		return nil, badInput("--server %q is not an http(s) URL", base)
	}
	return c, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// org is the org the command is about.
func (cl *call) org() (string, error) {
	if o := firstNonEmpty(cl.a.f.org, os.Getenv("GATEHOUSE_ORG"), cl.a.ctxOrg); o != "" {
		return o, nil
	}
	me, err := cl.c.Me(cl.ctx, "")
	if err != nil {
		return "", err
	}
	if me.Org != "" {
		return me.Org, nil
	}
	switch len(me.Orgs) {
	case 1:
		return me.Orgs[0].ID, nil
	case 0:
		return "", badInput("no org: you are a member of none; pass --org")
	}
	var ids []string
	for _, o := range me.Orgs {
		ids = append(ids, o.ID)
	}
	return "", badInput("no org: pass --org or set GATEHOUSE_ORG (you are a member of %s)", strings.Join(ids, ", "))
}

// machine reports whether -o json or yaml was asked for.
func (cl *call) machine() bool { return cl.a.f.output.machine() }

// emit prints v as JSON or YAML, as -o asks.
func (cl *call) emit(v any) error { return cl.a.f.output.emit(cl.a.e.stdout, v) }

// out prints v as JSON or YAML, or the table rows as a table.
func (cl *call) out(v any, header []string, rows [][]string) error {
	if cl.machine() {
		return cl.emit(v)
	}
	printTable(cl.a.e.stdout, header, rows)
	return nil
}

// say prints a line in table mode, v in JSON or YAML.
func (cl *call) say(v any, format string, args ...any) error {
	if cl.machine() {
		return cl.emit(v)
	}
	fmt.Fprintf(cl.a.e.stdout, format+"\n", args...)
	return nil
}

// answer prints v as JSON, or text; when !ok the command then ends with
// code.
func (cl *call) answer(v any, ok bool, code int, text func(w io.Writer)) error {
	if cl.machine() {
		if err := cl.emit(v); err != nil {
			return err
		}
	} else {
		text(cl.a.e.stdout)
	}
	if !ok {
		return silentExit(code)
	}
	return nil
}

// wrote is what a write answers: the item (nil: none), the revision, and
// the line a table prints before "(revision N)". JSON and YAML print
// {"revision": N, "item": ...} as the API answers, or {"revision": N}.
type wrote struct {
	item any
	rev  uint64
	line string
}

// report prints a write's answer, and what it stopped (warnings): with
// -o json or yaml in the document, as the API answers them; in a table on
// stderr, after the line (printWriteWarnings).
func (cl *call) report(w wrote) error {
	ws := cl.warnings()
	var v any = api.Revision{Revision: w.rev, Warnings: ws}
	if w.item != nil {
		v = api.Written[any]{Revision: w.rev, Item: w.item, Warnings: ws}
	}
	if w.rev == 0 {
		// A write command that only showed (approval settings without
		// flags): nothing was written, so no revision to report.
		return cl.say(v, "%s", w.line)
	}
	if err := cl.say(v, "%s %s", w.line, revText(w.rev)); err != nil {
		return err
	}
	if !cl.machine() {
		printWriteWarnings(cl.a.e.stderr, ws)
	}
	return nil
}

// warnings is what the command's writes stopped and it has not printed
// yet; the caller prints them.
func (cl *call) warnings() []client.WriteWarning {
	ws := cl.ws.List()
	if cl.shown >= len(ws) {
		return nil
	}
	out := ws[cl.shown:]
	cl.shown = len(ws)
	return out
}

// printWriteWarnings prints a write's warnings for a reader: a line per
// warning (its code, the org when the answer names one, its message),
// then a line per credential it lists (kind, id, principal, minter, the
// refusal its next use gets), then "and N more" for those it only counts
// (a caller who may not read them, or a list cut short). The server's
// text is printed on one line with no control characters.
func printWriteWarnings(w io.Writer, ws []client.WriteWarning) {
	for _, x := range ws {
		org := ""
		if x.Org != "" {
			org = " (org " + oneLine(x.Org) + ")"
		}
		fmt.Fprintf(w, "warning: %s%s: %s\n", oneLine(x.Code), org, oneLine(x.Message))
		for _, c := range x.Credentials {
			fmt.Fprintf(w, "  %s %s of %s, minted by %s: %s\n", oneLine(c.Kind), oneLine(c.ID), oneLine(c.Principal), oneLine(c.Minter), oneLine(c.Reason))
		}
		more := x.Count - len(x.Credentials)
		switch {
		case x.Truncated: // Count is a lower bound
			fmt.Fprintf(w, "  and at least %d more\n", max(more, 1))
		case more > 0 && len(x.Credentials) == 0:
			fmt.Fprintf(w, "  and %d more, not listed (reading them needs apikeys:read)\n", more)
		case more > 0:
			fmt.Fprintf(w, "  and %d more\n", more)
		}
	}
}

func printTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(header) > 0 {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		for i := range r {
			r[i] = oneLine(r[i])
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// oneLine keeps a cell on one line and free of terminal control bytes.
func oneLine(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) { // C0, DEL, C1 (CSI is 0x9b)
			return ' '
		}
		return r
	}, s)
}

func admTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func revText(rev uint64) string { return fmt.Sprintf("(revision %d)", rev) }

// parseRef parses "<type>/<id>" with --ns into a resource ref.
func parseRef(s, ns string) (client.ResourceRef, error) {
	typ, id, ok := strings.Cut(s, "/")
	if !ok || typ == "" || id == "" {
		return client.ResourceRef{}, badInput("%q: want <type>/<id>, e.g. chains/escalation-triage", s)
	}
	if ns == "" {
		ns = authz.DefaultNamespace
	}
	return client.ResourceRef{Namespace: ns, Type: typ, ID: id}, nil
}

// scopeText renders a binding's scope.
func scopeText(s client.Scope) string { return s.String() }

// sortedKeys renders a string map as "k=v,k=v".
func kvText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// parseLabels turns KEY=VALUE flags into labels.
func parseLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, badInput("--label %q: want KEY=VALUE", f)
		}
		out[k] = v
	}
	return out, nil
}

// parseTime reads an RFC 3339 time flag ("" is the zero time).
func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badInput("--%s %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", flag, s)
	}
	return t, nil
}

// listOpts are the paging flags of list verbs.
type listOpts struct {
	pageSize int
	cursor   string
}

func (l *listOpts) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&l.pageSize, "page-size", 0, "rows per page, 1 to 1000 (default: the server's, 100)")
	cmd.Flags().StringVar(&l.cursor, "cursor", "", "next cursor printed by the previous page")
}

func (l *listOpts) opts() *client.ListOptions {
	return &client.ListOptions{PageSize: l.pageSize, Cursor: l.cursor}
}

// more prints the next cursor after a table page.
func (cl *call) more(next string) {
	if next != "" && !cl.machine() {
		fmt.Fprintf(cl.a.e.stderr, "more: --cursor %s\n", next)
	}
}

// listCmd builds a noun's `list` verb: one page of an org-scoped list as a
// table or JSON, with --page-size and --cursor. list is the client method,
// as a method expression such as (*client.Client).ListMembers, or a closure
// that adds the verb's filters.
func listCmd[T any](a *adm, short string, header []string, rows func([]T) [][]string,
	list func(*client.Client, context.Context, string, *client.ListOptions) (client.List[T], error)) *cobra.Command {
	var lo listOpts
	cmd := &cobra.Command{
		Use: "list", Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				l, err := list(cl.c, cl.ctx, org, lo.opts())
				if err != nil {
					return err
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, header, rows(l.Items))
			})
		},
	}
	lo.register(cmd)
	return cmd
}

// getCmd builds a noun's `get ID` verb: one org-scoped item as a one-row
// table or JSON. get is the client method, e.g. (*client.Client).GetMember.
func getCmd[T any](a *adm, use, short string, header []string, rows func([]T) [][]string,
	get func(*client.Client, context.Context, string, string) (T, error)) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				v, err := get(cl.c, cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.out(v, header, rows([]T{v}))
			})
		},
	}
}

// writeCmd builds a verb that changes the org (create, update, add,
// rename, delete): write makes the call with the verb's nargs arguments
// and says what it wrote, which the verb prints with the revision. A verb
// that reads its flags first does it in the command's PreRunE: that runs
// before anything is sent, so a bad flag is exit 2 without a server.
func writeCmd(a *adm, use, short string, nargs int, write func(cl *call, org string, args []string) (wrote, error)) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				w, err := write(cl, org, args)
				if err != nil {
					return err
				}
				return cl.report(w)
			})
		},
	}
}

// deleteCmd builds a noun's `delete ID` verb (or `revoke ID`), which
// answers only a revision. del is the client method, e.g.
// (*client.Client).DeleteTeam; past begins the line, e.g. "deleted team".
func deleteCmd(a *adm, use, short, past string, del func(*client.Client, context.Context, string, string) (uint64, error)) *cobra.Command {
	return writeCmd(a, use, short, 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := del(cl.c, cl.ctx, org, args[0])
		return wrote{rev: rev, line: past + " " + args[0]}, err
	})
}
