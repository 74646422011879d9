package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Decision verbs against a server: check, explain, who-can, what-can,
// whoami. check and explain exit 0 on allow and 1 on deny.

// decisionFlags are the flags of check and explain.
type decisionFlags struct {
	ns         string
	context    []string
	onBehalfOf string
	atLeast    uint64
}

func (d *decisionFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&d.ns, "ns", "", "namespace (default \"default\")")
	cmd.Flags().StringArrayVar(&d.context, "context", nil, "condition context KEY=VALUE (true/false and numbers are typed), repeatable")
	cmd.Flags().StringVar(&d.onBehalfOf, "on-behalf-of", "", "the user an agent or service acts for")
	cmd.Flags().Uint64Var(&d.atLeast, "at-least", 0, "answer at a revision at least this fresh (a revision a write printed)")
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

func rulesText(rs []client.Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Text)
	}
	return out
}

func (a *adm) checkCmd() *cobra.Command {
	var df decisionFlags
	cmd := &cobra.Command{
		Use:   "check PRINCIPAL|me TYPE:ACTION [TYPE/ID] [--ns NS]",
		Short: "May PRINCIPAL do the action (on the resource)? Exit 0 allow, 1 deny",
		Example: `  gatehouse check user:bob chains:run chains/database-migration --ns prod
  gatehouse check agent:Triage chains:run chains/escalation-triage --ns prod --context critical=true`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := df.request(args)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				d, err := cl.c.Check(cl.ctx, org, req, client.AtLeast(df.atLeast))
				if err != nil {
					return err
				}
				if cl.json() {
					if err := writeJSON(a.e.stdout, d); err != nil {
						return err
					}
				} else {
					verdict := "deny"
					if d.Allowed {
						verdict = "allow"
					}
					fmt.Fprintln(a.e.stdout, verdict)
					for _, r := range rulesText(d.Obligations) {
						fmt.Fprintln(a.e.stdout, "obligation:", r)
					}
					for _, r := range rulesText(d.Advice) {
						fmt.Fprintln(a.e.stdout, "advice:", r)
					}
				}
				if !d.Allowed {
					return silentExit(ExitDeny)
				}
				return nil
			})
		},
	}
	df.register(cmd)
	return a.leaf(cmd)
}

func (a *adm) explainCmd() *cobra.Command {
	var df decisionFlags
	cmd := &cobra.Command{
		Use:     "explain PRINCIPAL|me TYPE:ACTION [TYPE/ID] [--ns NS]",
		Short:   "Why may (or may not) PRINCIPAL do the action? Exit 0 allow, 1 deny",
		Example: `  gatehouse explain user:carol chains:run chains/ticket-summarizer --ns prod`,
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := df.request(args)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				ex, err := cl.c.Explain(cl.ctx, org, req, client.AtLeast(df.atLeast))
				if err != nil {
					return err
				}
				if cl.json() {
					if err := writeJSON(a.e.stdout, ex); err != nil {
						return err
					}
				} else {
					verdict := "DENY"
					if ex.Allowed {
						verdict = "ALLOW"
					}
					fmt.Fprintf(a.e.stdout, "%s (revision %d)\n%s\n", verdict, ex.Revision, strings.TrimSpace(ex.Summary))
					traces, title := ex.Grants, "granted by:"
					if !ex.Allowed {
						traces, title = ex.Near, "closest:"
					}
					if len(traces) > 0 {
						fmt.Fprintln(a.e.stdout, "\n"+title)
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
						printTable(a.e.stdout, []string{"BINDING", "PRINCIPAL", "VIA", "ROLE", "SCOPE", "PATTERN", "CONDITION", "NOTE"}, rows)
					}
					for _, r := range rulesText(ex.Obligations) {
						fmt.Fprintln(a.e.stdout, "obligation:", r)
					}
					for _, r := range rulesText(ex.Advice) {
						fmt.Fprintln(a.e.stdout, "advice:", r)
					}
				}
				if !ex.Allowed {
					return silentExit(ExitDeny)
				}
				return nil
			})
		},
	}
	df.register(cmd)
	return a.leaf(cmd)
}

func (a *adm) whoCanCmd() *cobra.Command {
	var df decisionFlags
	cmd := &cobra.Command{
		Use:     "who-can TYPE:ACTION [TYPE/ID] [--ns NS]",
		Short:   "Who may do the action (on the resource)? (needs bindings:read)",
		Example: `  gatehouse who-can chains:run chains/escalation-triage --ns prod`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := df.request(append([]string{"me"}, args...))
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				s, err := cl.c.LookupSubjects(cl.ctx, org, client.LookupSubjectsRequest{Action: req.Action, Resource: req.Resource, Namespace: req.Namespace, Context: req.Context}, client.AtLeast(df.atLeast))
				if err != nil {
					return err
				}
				var rows [][]string
				for _, x := range s.Items {
					rows = append(rows, []string{x.Principal, strings.Join(x.Via, ",")})
				}
				return cl.out(s, []string{"PRINCIPAL", "VIA"}, rows)
			})
		},
	}
	df.register(cmd)
	return a.leaf(cmd)
}

func (a *adm) whatCanCmd() *cobra.Command {
	var df decisionFlags
	var limit int
	cmd := &cobra.Command{
		Use:     "what-can PRINCIPAL|me TYPE:ACTION [--ns NS]",
		Short:   "Which resources may PRINCIPAL do the action on? (all namespaces without --ns)",
		Example: `  gatehouse what-can user:alice chains:run`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := df.request(args)
			if err != nil {
				return err
			}
			if limit < 1 {
				return badInput("--limit must be positive")
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				q := client.LookupResourcesRequest{Principal: req.Principal, Action: req.Action, Namespace: req.Namespace,
					Context: req.Context, OnBehalfOf: req.OnBehalfOf, PageSize: min(limit, 10000)}
				all := client.ResourcePage{}
				for {
					p, err := cl.c.LookupResources(cl.ctx, org, q, client.AtLeast(df.atLeast))
					if err != nil {
						return err
					}
					all.Items = append(all.Items, p.Items...)
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
				var rows [][]string
				for _, r := range all.Items {
					rows = append(rows, []string{r.Namespace, r.Type, r.ID})
				}
				if all.NextCursor != "" && !cl.json() {
					fmt.Fprintf(a.e.stderr, "more than %d: raise --limit\n", limit)
				}
				return cl.out(all, []string{"NAMESPACE", "TYPE", "ID"}, rows)
			})
		},
	}
	df.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 1000, "print at most this many resources")
	return a.leaf(cmd)
}

func (a *adm) whoamiCmd() *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "whoami [--ns NS]",
		Short: "Who the credential is, its orgs and its permissions in each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				me, err := cl.c.Me(cl.ctx, ns)
				if err != nil {
					return err
				}
				if cl.json() {
					return writeJSON(a.e.stdout, me)
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
	cmd.Flags().StringVar(&ns, "ns", "", "namespace the permissions are listed for (default \"default\")")
	return a.leaf(cmd)
}
