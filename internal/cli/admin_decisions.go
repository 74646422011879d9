package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Decision verbs against a server: check, explain, who-can, what-can,
// whoami. check and explain exit 0 on allow and 1 on deny.

// decisionFlags are the flags of the decision verbs, and their request.
type decisionFlags struct {
	ns         string
	context    []string
	onBehalfOf string
	atLeast    uint64
	req        client.CheckRequest
	asOf       asOfFlags // check, explain, who-can, what-can (lifetimes.go)
}

func (d *decisionFlags) register(cmd *cobra.Command) {
	addNamespaceFlag(cmd, &d.ns, "", "namespace (default \"default\")")
	cmd.Flags().StringArrayVar(&d.context, "context", nil, "condition context KEY=VALUE (true/false and numbers are typed), repeatable")
	cmd.Flags().StringVar(&d.onBehalfOf, "on-behalf-of", "", "the user an agent or service acts for")
	cmd.Flags().Uint64Var(&d.atLeast, "at-least", 0, "answer at a revision at least this fresh (a revision a write printed)")
}

// parse is the PreRunE of the decision verbs: it builds req from
// `PRINCIPAL ACTION [TYPE/ID]` before anything is sent.
func (d *decisionFlags) parse(_ *cobra.Command, args []string) (err error) {
	d.req, err = d.request(args)
	return err
}

// request builds the check of `PRINCIPAL ACTION [TYPE/ID]` ("me" is the
// caller).
func (d *decisionFlags) request(args []string) (client.CheckRequest, error) {
	req := client.CheckRequest{Principal: args[0], Action: args[1], Namespace: d.ns, OnBehalfOf: d.onBehalfOf}
	if req.Principal == "me" {
		req.Principal = ""
	}
	if !strings.Contains(req.Action, ":") {
		return req, badInput("ACTION %q: want <type>:<action>, e.g. chains:run", req.Action)
	}
	if len(args) == 3 {
		if _, _, ok := strings.Cut(args[2], "/"); !ok {
			return req, badInput("RESOURCE %q: want <type>/<id>, e.g. chains/escalation-triage", args[2])
		}
		req.Resource = args[2]
	}
	if len(d.context) > 0 {
		ctx, err := parseContext(d.context)
		if err != nil {
			return req, err
		}
		req.Context = ctx
	}
	return req, nil
}

// decisionCmd gives a decision verb the decision flags and, unless it has
// its own PreRunE, df.parse.
func (a *adm) decisionCmd(cmd *cobra.Command, df *decisionFlags) *cobra.Command {
	if cmd.PreRunE == nil {
		cmd.PreRunE = df.parse
	}
	df.register(cmd)
	return a.leaf(cmd)
}

// verdictCmd builds check and explain, which take
// `PRINCIPAL|me TYPE:ACTION [TYPE/ID]`: ask is the client method, e.g.
// (*client.Client).Check; JSON prints its answer, a table text; a deny is
// exit 1.
func verdictCmd[T any](a *adm, cmd *cobra.Command,
	ask func(*client.Client, context.Context, string, client.CheckRequest, ...client.CallOption) (T, error),
	allowed func(T) bool, text func(w io.Writer, v T)) *cobra.Command {
	var df decisionFlags
	cmd.Args = cobra.RangeArgs(2, 3)
	df.asOf.register(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		asOf, err := df.asOf.option()
		if err != nil {
			return err
		}
		return a.inOrg(cmd, func(cl *call, org string) error {
			v, err := ask(cl.c, cl.ctx, org, df.req, client.AtLeast(df.atLeast), asOf)
			if err != nil {
				return err
			}
			code := ExitDeny
			if d, ok := any(v).(client.Decision); ok && client.NeedsApproval(d) {
				code = ExitApproval // not an allow, and not a plain deny (docs/cli.md)
			}
			return cl.answer(v, allowed(v), code, func(w io.Writer) { text(w, v) })
		})
	}
	return a.decisionCmd(cmd, &df)
}

// printRules prints an answer's obligations and advice.
func printRules(w io.Writer, obligations, advice []client.Rule) {
	for _, r := range obligations {
		fmt.Fprintln(w, "obligation:", r.Text)
	}
	for _, r := range advice {
		fmt.Fprintln(w, "advice:", r.Text)
	}
}

func (a *adm) checkCmd() *cobra.Command {
	return verdictCmd(a, &cobra.Command{
		Use:   "check PRINCIPAL|me TYPE:ACTION [TYPE/ID] [-n NS]",
		Short: "May PRINCIPAL do the action (on the resource)? Exit 0 allow, 1 deny",
		Example: `  gatehouse check user:bob chains:run chains/database-migration -n prod
  gatehouse check agent:Triage chains:run chains/escalation-triage -n prod --context critical=true`,
	}, (*client.Client).Check, func(d client.Decision) bool { return d.Allowed }, func(w io.Writer, d client.Decision) {
		verdict := "deny"
		if d.Allowed {
			verdict = "allow"
		} else if d.Reason != "" {
			verdict += " (" + d.Reason + ")"
		}
		if client.NeedsApproval(d) { // exit 7: not an allow
			verdict = "approval_required"
			if d.Approval != nil {
				verdict += " (approval " + d.Approval.ID + ", " + d.Approval.Status + ")"
			}
		}
		fmt.Fprintln(w, verdict)
		printRules(w, d.Obligations, d.Advice)
	})
}

func (a *adm) explainCmd() *cobra.Command {
	return verdictCmd(a, &cobra.Command{
		Use:     "explain PRINCIPAL|me TYPE:ACTION [TYPE/ID] [-n NS]",
		Short:   "Why may (or may not) PRINCIPAL do the action? Exit 0 allow, 1 deny",
		Example: `  gatehouse explain user:carol chains:run chains/ticket-summarizer -n prod`,
	}, (*client.Client).Explain, func(ex client.Explanation) bool { return ex.Allowed }, func(w io.Writer, ex client.Explanation) {
		verdict := "DENY"
		if ex.Allowed {
			verdict = "ALLOW"
		}
		fmt.Fprintf(w, "%s (revision %d)\n%s\n", verdict, ex.Revision, strings.TrimSpace(ex.Summary))
		traces, title := ex.Grants, "granted by:"
		if !ex.Allowed {
			traces, title = ex.Near, "closest:"
		}
		if len(traces) > 0 {
			fmt.Fprintln(w, "\n"+title)
			var rows [][]string
			for _, t := range traces {
				grant := t.Role
				if grant == "" {
					grant = "actions:" + strings.Join(t.Binding.Actions, ",")
				}
				cond := t.Condition
				if cond != "" && t.ConditionHeld {
					cond += " (held)"
				} else if cond != "" {
					cond += " (failed)"
				}
				rows = append(rows, []string{t.Binding.ID, t.Binding.Principal, t.Via, grant, scopeText(t.Binding.Scope), t.Pattern, cond, t.Note})
			}
			printTable(w, []string{"BINDING", "PRINCIPAL", "VIA", "ROLE", "SCOPE", "PATTERN", "CONDITION", "NOTE"}, rows)
		}
		printRules(w, ex.Obligations, ex.Advice)
	})
}

func (a *adm) whoCanCmd() *cobra.Command {
	var df decisionFlags
	var conditional bool
	cmd := a.decisionCmd(&cobra.Command{
		Use:   "who-can TYPE:ACTION [TYPE/ID] [-n NS]",
		Short: "Who may do the action (on the resource)? (needs bindings:read)",
		Example: `  gatehouse who-can chains:run chains/escalation-triage -n prod
  gatehouse who-can secrets:read secrets/db-password -n prod --at 2026-11-01T10:00:00Z`,
		Args: cobra.RangeArgs(1, 2),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return df.parse(cmd, append([]string{"me"}, args...))
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			asOf, err := df.asOf.option()
			if err != nil {
				return err
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				req := df.req
				s, err := cl.c.LookupSubjects(cl.ctx, org, client.LookupSubjectsRequest{Action: req.Action, Resource: req.Resource, Namespace: req.Namespace, Context: req.Context,
					IncludeConditional: conditional}, client.AtLeast(df.atLeast), asOf)
				if err != nil {
					return err
				}
				var rows [][]string
				for _, x := range s.Items {
					rows = append(rows, []string{x.Principal, strings.Join(x.Via, ","), whenText(x.Conditions)})
				}
				return cl.out(s, []string{"PRINCIPAL", "VIA", "WHEN"}, rows)
			})
		},
	}, &df)
	cmd.Flags().BoolVar(&conditional, "conditional", true, "also list principals allowed only when a condition holds (WHEN names it); --conditional=false lists only those allowed now")
	df.asOf.register(cmd)
	return cmd
}

// whenText renders a lookup answer's conditions: "always" when allowed
// now, else "when a and b".
func whenText(conds []string) string {
	if len(conds) == 0 {
		return "always"
	}
	return "when " + strings.Join(conds, " and ")
}

func (a *adm) whatCanCmd() *cobra.Command {
	var df decisionFlags
	var limit int
	var conditional bool
	cmd := a.decisionCmd(&cobra.Command{
		Use:   "what-can PRINCIPAL|me TYPE:ACTION [-n NS]",
		Short: "Which resources may PRINCIPAL do the action on? (all namespaces without -n)",
		Example: `  gatehouse what-can user:alice chains:run
  gatehouse what-can agent:Triage chains:run --at-revision 1200`,
		Args: cobra.ExactArgs(2),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := df.parse(cmd, args); err != nil {
				return err
			}
			if limit < 1 {
				return badInput("--limit must be positive")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			asOf, err := df.asOf.option()
			if err != nil {
				return err
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				req := df.req
				q := client.LookupResourcesRequest{Principal: req.Principal, Action: req.Action, Namespace: req.Namespace,
					Context: req.Context, OnBehalfOf: req.OnBehalfOf, PageSize: min(limit, 10000), IncludeConditional: conditional}
				all := client.ResourcePage{}
				for {
					p, err := cl.c.LookupResources(cl.ctx, org, q, client.AtLeast(df.atLeast), asOf)
					if err != nil {
						return err
					}
					all.Items = append(all.Items, p.Items...)
					all.Conditional = append(all.Conditional, p.Conditional...)
					all.Revision = max(all.Revision, p.Revision)
					if p.NextCursor == "" || len(all.Items) >= limit {
						all.NextCursor = p.NextCursor
						break
					}
					q.Cursor = p.NextCursor
				}
				if len(all.Items) > limit {
					all.Items = all.Items[:limit]
				}
				when := map[client.ResourceRef][]string{}
				for _, c := range all.Conditional {
					when[c.ResourceRef] = c.Conditions
				}
				var rows [][]string
				for _, r := range all.Items {
					rows = append(rows, []string{r.Namespace, r.Type, r.ID, whenText(when[r])})
				}
				if all.NextCursor != "" && !cl.machine() {
					fmt.Fprintf(a.e.stderr, "more than %d: raise --limit\n", limit)
				}
				return cl.out(all, []string{"NAMESPACE", "TYPE", "ID", "WHEN"}, rows)
			})
		},
	}, &df)
	// Unlike the other decision verbs, no -n asks about every namespace.
	cmd.Flags().Lookup("namespace").Usage = "namespace (default: every namespace)"
	cmd.Flags().IntVar(&limit, "limit", 1000, "print at most this many resources")
	cmd.Flags().BoolVar(&conditional, "conditional", true, "also list resources allowed only when a condition holds (WHEN names it); --conditional=false lists only those allowed now")
	df.asOf.register(cmd)
	return cmd
}

func (a *adm) whoamiCmd() *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "whoami [-n NS]",
		Short: "Who the credential is, its orgs and its permissions in each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				me, err := cl.c.Me(cl.ctx, ns)
				if err != nil {
					return err
				}
				if cl.machine() {
					return cl.emit(me)
				}
				fmt.Fprintf(a.e.stdout, "%s (via %s)\n", me.Principal, me.Via)
				var rows [][]string
				for _, o := range me.Orgs {
					var ps []string
					for _, g := range o.Permissions {
						p := g.Permission
						if len(g.Conditions) > 0 {
							p += " if " + strings.Join(g.Conditions, "|")
						}
						ps = append(ps, p)
					}
					rows = append(rows, []string{o.ID, o.Namespace, strings.Join(ps, " ")})
				}
				printTable(a.e.stdout, []string{"ORG", "NAMESPACE", "PERMISSIONS"}, rows)
				return nil
			})
		},
	}
	addNamespaceFlag(cmd, &ns, "", "namespace the permissions are listed for (default \"default\")")
	return a.leaf(cmd)
}
