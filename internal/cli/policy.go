package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/policy/format"
	"github.com/gatehouse-dev/gatehouse/policy/token"
	"github.com/gatehouse-dev/gatehouse/templates"
	"github.com/spf13/cobra"
)

func newPolicyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Lint, format, test and tabulate policy files",
		Args:  cobra.ArbitraryArgs,
		RunE:  unknownSubcommand,
	}
	cmd.AddCommand(newLintCmd(e), newFmtCmd(e), newCheckCmd(e), newMatrixCmd(e), newPolicyTestCmd(e))
	return cmd
}

// readPolicy reads FILE, "-" (stdin) or "template:NAME" and returns the
// name to use in positions and the source.
func readPolicy(e *env, arg string) (string, []byte, error) {
	if name, ok := strings.CutPrefix(arg, "template:"); ok {
		src, err := templates.Source(name)
		if err != nil {
			return "", nil, badInput("%v", err)
		}
		return templates.FileName(name), src, nil
	}
	if arg == "-" {
		src, err := io.ReadAll(io.LimitReader(e.stdin, policyMaxRead))
		if err != nil {
			return "", nil, badInput("reading stdin: %v", err)
		}
		return "<stdin>", src, nil
	}
	src, err := readFileLimited(arg)
	if err != nil {
		return "", nil, badInput("%v", err)
	}
	return arg, src, nil
}

// policyMaxRead reads one byte past the parser's limit so the parser, not
// the reader, reports an oversized file with its own error.
const policyMaxRead = 1<<20 + 1

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, policyMaxRead))
}

// compileModel compiles a policy read by readPolicy (or fetched from the
// server), printing its diagnostics to stderr; it fails with exit 2 when
// the policy has errors.
func compileModel(e *env, name string, src []byte, opts policy.LintOptions) (*policy.Model, error) {
	m, diags := policy.Load(name, src, opts)
	if diags.HasErrors() {
		for _, d := range diags.Errors() {
			fmt.Fprintln(e.stderr, d.Error())
		}
		return nil, badInput("%s: policy has %d error(s)", name, len(diags.Errors()))
	}
	return m, nil
}

func newLintCmd(e *env) *cobra.Command {
	var out output
	var lopts lintFlags
	var strict bool
	cmd := &cobra.Command{
		Use:   "lint FILE|template:NAME...",
		Short: "Report errors and warnings as file:line:col: severity: message",
		Long: `Lint parses and compiles each policy and prints every error and warning.
Exit status is 0 when there are no errors (warnings allowed) and 2 otherwise;
with --strict a warning fails the lint as an error does (exit 2).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			opts, err := lopts.options()
			if err != nil {
				return err
			}
			var all token.List
			for _, arg := range args {
				name, src, err := readPolicy(e, arg)
				if err != nil {
					return err
				}
				_, diags := policy.Load(name, src, opts)
				all = append(all, diags...)
			}
			if out.machine() {
				if err := out.emit(e.stdout, listOf(all, "")); err != nil {
					return err
				}
			} else {
				for _, d := range all {
					fmt.Fprintln(e.stdout, d.Error())
				}
			}
			if all.HasErrors() || (strict && len(all) > 0) {
				return silentExit(ExitBadInput)
			}
			return nil
		},
	}
	addOutputFlag(cmd, &out)
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors (exit 2 on any finding)")
	lopts.register(cmd)
	return cmd
}

func newFmtCmd(e *env) *cobra.Command {
	var write, diff bool
	cmd := &cobra.Command{
		Use:   "fmt [-w] [-d] FILE...",
		Short: "Print policies in canonical layout (like gofmt)",
		Long: `Fmt prints each policy in its canonical layout. With -w it rewrites
files whose layout differs; with -d it prints a unified diff instead.
Exit status is 2 when a file does not parse (nothing is written then).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, arg := range args {
				name, src, err := readPolicy(e, arg)
				if err != nil {
					return err
				}
				out, diags := format.Source(name, src)
				if diags.HasErrors() {
					for _, d := range diags.Errors() {
						fmt.Fprintln(e.stderr, d.Error())
					}
					failed = true
					continue
				}
				switch {
				case diff:
					if !bytes.Equal(src, out) {
						fmt.Fprint(e.stdout, unifiedDiff(name, string(src), string(out)))
					}
				case write:
					if strings.HasPrefix(arg, "template:") || arg == "-" {
						return badInput("-w needs a file, not %s", arg)
					}
					if !bytes.Equal(src, out) {
						if err := writeFileKeepMode(arg, out); err != nil {
							return &exitError{code: ExitInternal, err: err}
						}
					}
				default:
					if _, err := e.stdout.Write(out); err != nil {
						return err
					}
				}
			}
			if failed {
				return silentExit(ExitBadInput)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&write, "write", "w", false, "write the result to the file instead of stdout")
	cmd.Flags().BoolVarP(&diff, "diff", "d", false, "print a diff instead of the formatted source")
	return cmd
}

func writeFileKeepMode(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".gatehouse-fmt.tmp"
	if err := os.WriteFile(tmp, data, st.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newCheckCmd(e *env) *cobra.Command {
	var live *liveFlags
	var subject, perm string
	var ctxFlags []string
	var out output
	cmd := &cobra.Command{
		Use:   "check FILE|template:NAME|--org ORG --subject role:ROLE|agent:AGENT --permission RESOURCE:ACTION",
		Short: "Decide one permission for a role or an agent, with no other data",
		Long: `Check answers whether a role or an agent of the policy holds a permission,
as if bound to it org-wide, and explains the answer.
With --org ORG instead of a file it uses the org's live policy from the
server (needs policy:read).
Exit status: 0 allow, 1 deny, 2 bad input (unparseable policy, unknown role
or agent, malformed permission or context), 7 approval required (an
"ask before" rule applies: allowed only with a person's approval).`,
		Example: `  gatehouse policy check template:mentiko --subject role:operator --permission chains:run
  gatehouse policy check examples/agents.policy --subject agent:Triage --permission chains:run --context hour=10`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check(); err != nil {
				return err
			}
			p, err := policy.ParsePermission(perm)
			if err != nil {
				return badInput("--permission: %v", err)
			}
			if p.IsWildcard() {
				return badInput("--permission %q: a check asks about one concrete permission, not a pattern", perm)
			}
			ctx, err := parseContext(ctxFlags)
			if err != nil {
				return err
			}
			name, src, err := live.policy(cmd, args)
			if err != nil {
				return err
			}
			m, err := compileModel(e, name, src, policy.LintOptions{})
			if err != nil {
				return err
			}
			res, err := checkSubject(m, subject, p, ctx)
			if err != nil {
				return err
			}
			if out.machine() {
				if err := out.emit(e.stdout, res); err != nil {
					return err
				}
			} else {
				verdict := "deny"
				switch {
				case res.Allowed:
					verdict = "allow"
				case res.Result == resultApproval:
					verdict = resultApproval
				}
				fmt.Fprintln(e.stdout, verdict)
				fmt.Fprintln(e.stdout, res.Reason)
				printRules(e.stdout, res.Obligations, res.Advice)
			}
			if res.Result == resultApproval {
				return silentExit(ExitApproval)
			}
			if !res.Allowed {
				return silentExit(ExitDeny)
			}
			return nil
		},
	}
	live = newLiveFlags(e, cmd.Flags())
	cmd.Flags().StringVar(&subject, "subject", "", "role:ROLE or agent:AGENT (required)")
	cmd.Flags().StringVar(&perm, "permission", "", "RESOURCE:ACTION, e.g. chains:run (required)")
	cmd.Flags().StringArrayVar(&ctxFlags, "context", nil, "KEY=VALUE (repeatable); true/false and numbers are typed, the rest strings")
	addOutputFlag(cmd, &out)
	_ = cmd.MarkFlagRequired("subject")
	_ = cmd.MarkFlagRequired("permission")
	return cmd
}

// checkResult is `policy check`'s answer; obligations and advice have
// the shape a server's check answers.
type checkResult struct {
	Allowed bool `json:"allowed"`
	// Result is "allow", "deny" or "approval_required".
	Result      string        `json:"result"`
	Subject     string        `json:"subject"`
	Permission  string        `json:"permission"`
	Reason      string        `json:"reason"`
	Obligations []api.RuleOut `json:"obligations,omitempty"`
	Advice      []api.RuleOut `json:"advice,omitempty"`
}

// checkSubject decides for a role or an agent by building a one-principal
// org in which the subject holds its role org-wide, and asking the engine.
func checkSubject(m *policy.Model, subject string, p policy.Permission, ctx map[string]any) (checkResult, error) {
	kind, name, ok := strings.Cut(subject, ":")
	if !ok || name == "" {
		return checkResult{}, badInput("--subject %q: want role:ROLE or agent:AGENT", subject)
	}
	var principal, role string
	switch kind {
	case "role":
		if _, ok := m.Role(name); !ok {
			return checkResult{}, badInput("--subject %q: no role %q in the policy (roles: %s)", subject, name, roleNames(m))
		}
		principal, role = "user:"+name, name
	case "agent":
		a, ok := m.Agent(name)
		if !ok {
			return checkResult{}, badInput("--subject %q: no agent %q in the policy", subject, name)
		}
		principal, role = "agent:"+name, a.Role
	default:
		return checkResult{}, badInput("--subject %q: want role:ROLE or agent:AGENT", subject)
	}
	eng := authz.New()
	err := eng.LoadOrg(1, authz.OrgData{
		Org:        "policy-check",
		Policy:     m,
		Principals: []authz.Principal{{ID: principal}},
		Bindings:   []authz.Binding{{ID: "policy-check", Principal: principal, Role: role}},
	})
	if err != nil {
		return checkResult{}, &exitError{code: ExitInternal, err: err}
	}
	ex := eng.Explain(&authz.Request{
		Org: "policy-check", Principal: principal,
		ResourceType: p.Resource, Action: p.Action, Context: ctx,
	})
	res := checkResult{
		Allowed: ex.Decision.Allowed, Result: "deny", Subject: subject, Permission: p.String(),
		Reason: ex.Summary, Obligations: server.RulesOut(ex.Decision.Obligations), Advice: server.RulesOut(ex.Decision.Advice),
	}
	switch {
	case ex.Decision.Allowed:
		res.Result = "allow"
	case ex.Decision.ApprovalRequired:
		res.Result = resultApproval
	}
	return res, nil
}

// resultApproval is the result of a decision that needs approval.
const resultApproval = "approval_required"

func roleNames(m *policy.Model) string {
	var names []string
	for _, r := range m.Roles {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// parseContext turns KEY=VALUE flags into a typed context: true/false are
// booleans, integers and decimals numbers, everything else strings.
func parseContext(flags []string) (map[string]any, error) {
	ctx := map[string]any{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, badInput("--context %q: want KEY=VALUE", f)
		}
		if _, dup := ctx[k]; dup {
			return nil, badInput("--context: key %q given twice", k)
		}
		switch {
		case v == "true":
			ctx[k] = true
		case v == "false":
			ctx[k] = false
		default:
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				ctx[k] = i
			} else if x, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXpPnNiI_") {
				ctx[k] = x
			} else {
				ctx[k] = v
			}
		}
	}
	return ctx, nil
}

func newMatrixCmd(e *env) *cobra.Command {
	var live *liveFlags
	var out output
	cmd := &cobra.Command{
		Use:   "matrix FILE|template:NAME|--org ORG",
		Short: "Print the role × permission table (print it, tape it to the wall)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.check("markdown"); err != nil {
				return err
			}
			name, src, err := live.policy(cmd, args)
			if err != nil {
				return err
			}
			m, err := compileModel(e, name, src, policy.LintOptions{})
			if err != nil {
				return err
			}
			mx, err := policy.BuildMatrix(m)
			if err != nil {
				return badInput("%s: %v", name, err)
			}
			switch {
			case out.machine():
				return out.emit(e.stdout, mx)
			case out == "markdown":
				return renderMatrixMarkdown(e.stdout, mx)
			default:
				return renderMatrixTable(e.stdout, mx)
			}
		},
	}
	addOutputFlag(cmd, &out, "markdown")
	live = newLiveFlags(e, cmd.Flags())
	return cmd
}

func cellMark(c string) string {
	switch c {
	case policy.CellGranted:
		return "✓"
	case policy.CellConditional:
		return "✓*"
	case policy.CellApproval:
		return "✓?"
	}
	return "-"
}

func renderMatrixTable(w io.Writer, mx policy.Matrix) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "RESOURCE\tACTION")
	for _, c := range mx.Columns {
		fmt.Fprintf(tw, "\t%s", columnTitle(c))
	}
	fmt.Fprintln(tw)
	prev := ""
	for _, r := range mx.Rows {
		res := r.Permission.Resource
		if res == prev {
			res = ""
		} else {
			prev = res
		}
		fmt.Fprintf(tw, "%s\t%s", res, r.Permission.Action)
		for _, c := range r.Cells {
			fmt.Fprintf(tw, "\t%s", cellMark(c))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return matrixLegend(w, mx)
}

func renderMatrixMarkdown(w io.Writer, mx policy.Matrix) error {
	fmt.Fprint(w, "| permission |")
	for _, c := range mx.Columns {
		fmt.Fprintf(w, " %s |", columnTitle(c))
	}
	fmt.Fprint(w, "\n|---|")
	for range mx.Columns {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, r := range mx.Rows {
		fmt.Fprintf(w, "| `%s` |", r.Permission)
		for _, c := range r.Cells {
			m := cellMark(c)
			if m == "-" {
				m = " "
			}
			fmt.Fprintf(w, " %s |", m)
		}
		fmt.Fprintln(w)
	}
	return matrixLegend(w, mx)
}

func columnTitle(c policy.MatrixColumn) string {
	if c.Kind == "agent" {
		return fmt.Sprintf("%s (agent: %s)", c.Name, c.Role)
	}
	return fmt.Sprintf("%s (%d)", c.Name, c.Level)
}

// matrixLegend explains conditional cells, naming their conditions.
func matrixLegend(w io.Writer, mx policy.Matrix) error {
	var notes []string
	for _, r := range mx.Rows {
		for i, cs := range r.Conditions {
			if len(cs) > 0 {
				notes = append(notes, fmt.Sprintf("  %s %s: when %s", mx.Columns[i].Name, r.Permission, strings.Join(cs, " or ")))
			}
		}
	}
	approval := false
	for _, r := range mx.Rows {
		approval = approval || slices.Contains(r.Cells, policy.CellApproval)
	}
	if approval {
		if _, err := fmt.Fprintln(w, "\n✓? granted, but an \"ask before\" rule may require a person's approval"); err != nil {
			return err
		}
	}
	if len(notes) == 0 {
		return nil
	}
	sort.Strings(notes)
	_, err := fmt.Fprintf(w, "\n✓* conditional:\n%s\n", strings.Join(notes, "\n"))
	return err
}
