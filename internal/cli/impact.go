package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// policyImpactCmd: `policy impact FILE|-|template:NAME` asks the server
// what the text would change against the org's real bindings.
func (a *adm) policyImpactCmd() *cobra.Command {
	var src []byte
	return &cobra.Command{
		Use:   "impact FILE|-|template:NAME",
		Short: "Show who would gain or lose which permissions, and where, if the org's policy became this text (nothing is stored)",
		Long: `Impact sends the text to the server, which compares it with the org's
current policy over the org's real bindings, teams and agents, and lists
every principal × scope × permission gained or lost, with a summary.
Nothing is stored. Needs policy:read and bindings:read. docs/impact.md.`,
		Example: `  gatehouse policy impact new.policy --org acme
  gatehouse policy impact new.policy --org acme -o json`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(_ *cobra.Command, args []string) (err error) {
			_, src, err = readPolicy(a.e, args[0])
			return err
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				imp, err := cl.c.PolicyImpact(cl.ctx, org, string(src))
				if err != nil {
					return err
				}
				return cl.answer(imp, true, 0, func(w io.Writer) { renderImpact(w, imp) })
			})
		},
	}
}

// bindDryRun prints what a binding would grant instead of creating it.
func bindDryRun(cl *call, org string, spec client.BindingSpec) error {
	imp, err := cl.c.BindingImpact(cl.ctx, org, spec)
	if err != nil {
		return err
	}
	return cl.answer(imp, true, 0, func(w io.Writer) {
		fmt.Fprintf(w, "dry run: binding %s to %s at %s would change (nothing was created):\n", spec.Principal, spec.Role, scopeText(spec.Scope))
		renderImpact(w, imp)
	})
}

func renderImpact(w io.Writer, imp client.Impact) {
	s := imp.Summary
	if len(imp.Changes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CHANGE\tPRINCIPAL\tSCOPE\tPERMISSION\tWHEN")
		for _, c := range imp.Changes {
			mark := "+"
			if c.Change == "lost" {
				mark = "-"
			}
			when := "always"
			if len(c.Conditions) > 0 {
				when = strings.Join(c.Conditions, " or ")
			}
			fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\n", mark, c.Change, c.Principal, c.ScopeText, c.Permission, when)
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(w, "%d principal(s): %d gained, %d lost (%d bindings examined at revision %d)",
		s.Principals, s.Gained, s.Lost, s.BindingsExamined, imp.Revision)
	if len(s.RolesChanged) > 0 {
		fmt.Fprintf(w, "; roles changed: %s", strings.Join(s.RolesChanged, ", "))
	}
	if len(s.AgentsChanged) > 0 {
		fmt.Fprintf(w, "; agents changed: %s", strings.Join(s.AgentsChanged, ", "))
	}
	if len(s.ConditionsChanged) > 0 {
		fmt.Fprintf(w, "; conditions changed: %s", strings.Join(s.ConditionsChanged, ", "))
	}
	fmt.Fprintln(w)
}

// liveFlags let an offline policy command (matrix, check) work on an org's
// live policy instead of a file: --org and the connection flags of the
// admin verbs (their -o stays the command's own).
type liveFlags struct{ a *adm }

func newLiveFlags(e *env, fs *pflag.FlagSet) *liveFlags {
	l := &liveFlags{a: &adm{e: e}}
	fs.StringVar(&l.a.f.org, "org", "", "use this org's live policy from the server instead of a file")
	fs.StringVar(&l.a.f.server, "server", "", "server URL, with --org (default $GATEHOUSE_SERVER, else $GATEHOUSE_URL, else http://127.0.0.1:8080)")
	fs.StringVar(&l.a.f.tokenFile, "token-file", "", "with --org: read the API key or session token from this file (default $GATEHOUSE_TOKEN)")
	fs.DurationVar(&l.a.f.timeout, "timeout", defaultTimeout, "with --org: bound on the server call")
	l.a.f.output = "table"
	return l
}

// policy resolves the policy argument of matrix and check: a FILE or
// template, or with --org and no argument the org's policy on the server
// (named "org:ORG" in positions).
func (l *liveFlags) policy(cmd *cobra.Command, args []string) (string, []byte, error) {
	switch {
	case l.a.f.org != "" && len(args) > 0:
		return "", nil, badInput("give a policy FILE or --org, not both")
	case l.a.f.org == "" && len(args) == 0:
		return "", nil, badInput("give a policy FILE|template:NAME, or --org ORG for the org's live policy")
	case len(args) > 0:
		return readPolicy(l.a.e, args[0])
	}
	var name string
	var src []byte
	err := l.a.inOrg(cmd, func(cl *call, org string) error {
		p, err := cl.c.GetPolicy(cl.ctx, org)
		if err != nil {
			return err
		}
		name, src = "org:"+org, []byte(p.Text)
		return nil
	})
	return name, src, err
}
