package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// The approval commands (DESIGN §1.1 item 8) talk to a running server
// through the SDK as the caller, like every admin command (docs/cli.md).
// `approval wait` exits 0 once the approval is granted, 1 when it is
// denied, expired or consumed, 3 when --timeout ends first.

// approvalCall is one approval command's run against the server.
type approvalCall struct {
	ctx context.Context
	c   *client.Client
	org string
	ns  string // -n/--namespace: only this namespace ("" all)
	out output
}

// approvalCmd runs an approval command in the admin framework (docs/cli.md:
// --org default, -o table|json|yaml, exit codes); `approval wait` is
// bounded by --timeout.
func approvalCmd(e *env, cmd *cobra.Command, run func(ac *approvalCall, args []string) error) *cobra.Command {
	a := &adm{e: e}
	var ns string
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return a.inOrg(cmd, func(cl *call, org string) error {
			return run(&approvalCall{ctx: cl.ctx, c: cl.c, org: org, ns: ns, out: a.f.output}, args)
		})
	}
	a.leaf(cmd)
	addNamespaceFlag(cmd, &ns, "", "only approvals of this namespace (default: all)")
	return cmd
}

func newApprovalCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "List, show, approve, deny and wait for approvals (\"ask before\" rules)",
		Args:  cobra.ArbitraryArgs,
		RunE:  unknownSubcommand,
	}
	var status string
	list := approvalCmd(e, &cobra.Command{Use: "list", Short: "List the approvals you asked for, are the subject of, or may approve", Args: cobra.NoArgs},
		func(ac *approvalCall, _ []string) error {
			as, err := ac.c.ListApprovals(ac.ctx, ac.org, status)
			if err != nil {
				return err
			}
			items := []client.Approval{}
			for _, a := range as {
				if ac.ns == "" || a.Namespace == ac.ns {
					items = append(items, a)
				}
			}
			if ac.out.machine() {
				return ac.out.emit(e.stdout, client.List[client.Approval]{Items: items})
			}
			return tabulate(e.stdout, "ID\tSTATUS\tPRINCIPAL\tACTION\tNAMESPACE\tRESOURCE\tVOTES\tEXPIRES", items, func(a client.Approval) string {
				return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s", a.ID, a.Status, a.Principal, a.Action, a.Namespace, orDash(a.Resource),
					approvals(a), a.Quorum, admTime(a.ExpiresAt))
			})
		})
	list.Flags().StringVar(&status, "status", "", "pending, granted, denied, expired or consumed")
	show := approvalCmd(e, &cobra.Command{Use: "show ID", Short: "Show one approval and who may approve it", Args: cobra.ExactArgs(1)},
		func(ac *approvalCall, args []string) error {
			a, err := ac.c.GetApproval(ac.ctx, ac.org, args[0])
			if err != nil {
				return err
			}
			return printApproval(e, ac, a)
		})
	var comment string
	answer := func(verb string, f func(*client.Client) func(context.Context, string, string, string) (client.Approval, error)) *cobra.Command {
		c := approvalCmd(e, &cobra.Command{Use: verb + " ID", Short: strings.ToUpper(verb[:1]) + verb[1:] + " a pending approval (needs decisions:approve; never your own request)", Args: cobra.ExactArgs(1)},
			func(ac *approvalCall, args []string) error {
				a, err := f(ac.c)(ac.ctx, ac.org, args[0], comment)
				if err != nil {
					return err
				}
				return printApproval(e, ac, a)
			})
		c.Flags().StringVarP(&comment, "comment", "m", "", "a comment kept in the approval and the audit log")
		return c
	}
	approve := answer("approve", func(c *client.Client) func(context.Context, string, string, string) (client.Approval, error) {
		return c.Approve
	})
	deny := answer("deny", func(c *client.Client) func(context.Context, string, string, string) (client.Approval, error) {
		return c.Deny
	})
	wait := approvalCmd(e, &cobra.Command{Use: "wait ID", Short: "Wait until an approval is answered: exit 0 granted, 1 denied/expired/consumed, 3 --timeout", Args: cobra.ExactArgs(1)},
		func(ac *approvalCall, args []string) error {
			a, err := ac.c.WaitForApproval(ac.ctx, ac.org, args[0])
			if err != nil {
				return err
			}
			if err := printApproval(e, ac, a); err != nil {
				return err
			}
			if a.Status != client.ApprovalGranted {
				return silentExit(ExitDeny)
			}
			return nil
		})
	cmd.AddCommand(list, show, approve, deny, wait, approvalSettingsCmd(e))
	return cmd
}

// approvalSettingsCmd: `approval settings [--pending-ttl D] [--use-window
// D]` shows (no flag) or sets how long the org's approvals live; a flag
// not given keeps the org's current setting, "0" is the server's default.
func approvalSettingsCmd(e *env) *cobra.Command {
	a := &adm{e: e}
	var pending, window string
	var cmd *cobra.Command
	cmd = writeCmd(a, "settings [--pending-ttl D] [--use-window D]",
		"Show or set how long the org's approvals live: pending (1m to 30d) and the window to use a granted one (1m to 24h)", 0,
		func(cl *call, org string, _ []string) (wrote, error) {
			o, err := cl.c.GetOrg(cl.ctx, org)
			if err != nil {
				return wrote{}, err
			}
			cur := client.OrgApprovalSettings{PendingTTL: "0", UseWindow: "0"}
			if s := o.Approvals; s != nil {
				if !s.PendingTTLDefault {
					cur.PendingTTL = s.PendingTTL
				}
				if !s.UseWindowDefault {
					cur.UseWindow = s.UseWindow
				}
			}
			var rev uint64
			if cmd.Flags().Changed("pending-ttl") || cmd.Flags().Changed("use-window") {
				if cmd.Flags().Changed("pending-ttl") {
					cur.PendingTTL = pending
				}
				if cmd.Flags().Changed("use-window") {
					cur.UseWindow = window
				}
				if o, rev, err = cl.c.SetApprovalSettings(cl.ctx, org, cur); err != nil {
					return wrote{}, err
				}
			}
			return wrote{o, rev, approvalSettingsLine(o)}, nil
		})
	cmd.Example = `  gatehouse approval settings
  gatehouse approval settings --pending-ttl 4h --use-window 5m
  gatehouse approval settings --pending-ttl 0     # back to the server's default`
	cmd.Flags().StringVar(&pending, "pending-ttl", "", "how long a pending approval waits for approvers (15m, 4h, 7d; 0: the server's default)")
	cmd.Flags().StringVar(&window, "use-window", "", "how long a granted approval may wait to be used (5m, 1h; 0: the server's default)")
	return a.leaf(cmd)
}

func approvalSettingsLine(o client.Org) string {
	s := o.Approvals
	if s == nil {
		return "org " + o.ID + ": approval lifetimes unknown (an older server)"
	}
	def := func(d bool) string {
		if d {
			return " (server default)"
		}
		return ""
	}
	return fmt.Sprintf("org %s: pending approvals expire after %s%s; granted ones must be used within %s%s",
		o.ID, s.PendingTTL, def(s.PendingTTLDefault), s.UseWindow, def(s.UseWindowDefault))
}

func approvals(a client.Approval) int {
	n := 0
	for _, v := range a.Votes {
		if v.Approve {
			n++
		}
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printApproval(e *env, ac *approvalCall, a client.Approval) error {
	if ac.out.machine() {
		return ac.out.emit(e.stdout, a)
	}
	w := e.stdout
	fmt.Fprintf(w, "approval   %s\nstatus     %s\nprincipal  %s\n", a.ID, a.Status, a.Principal)
	if a.OnBehalfOf != "" {
		fmt.Fprintf(w, "for        %s\n", a.OnBehalfOf)
	}
	fmt.Fprintf(w, "action     %s on %s in %s (spec version %d)\narguments  sha256:%s\nquorum     %d of %d\nexpires    %s\n",
		a.Action, orDash(a.Resource), a.Namespace, a.SpecVersion, a.ArgsDigest, approvals(a), a.Quorum, admTime(a.ExpiresAt))
	if !a.UseBy.IsZero() {
		fmt.Fprintf(w, "use by     %s\n", admTime(a.UseBy))
	}
	for _, r := range a.Rules {
		fmt.Fprintf(w, "rule       %s\n", r)
	}
	if len(a.Approvers) > 0 {
		fmt.Fprintf(w, "approvers  %s\n", strings.Join(a.Approvers, ", "))
	}
	for _, v := range a.Votes {
		verb := "approved"
		if !v.Approve {
			verb = "denied"
		}
		// The comment is the voter's free text: one line, no terminal
		// control sequences (it could rewrite what the reader sees).
		fmt.Fprintf(w, "vote       %s %s at %s %s\n", v.By, verb, admTime(v.At), oneLine(v.Comment))
	}
	return nil
}
