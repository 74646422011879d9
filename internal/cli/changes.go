package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// changesCmd is `gatehouse changes`: the org's change feed (docs/replicas.md).
func (a *adm) changesCmd() *cobra.Command {
	var (
		after  uint64
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "changes [--after REV] [--follow]",
		Short: "Show the org's decision-state changes after a revision (and follow new ones with --follow); needs changes:read",
		Long: `Shows the org's change feed (GET /v1/orgs/{org}/changes, docs/replicas.md):
every change to its bindings, members, agents, services, teams, resources,
namespaces and policy after revision --after, one line per change with the
revision it was made at. --follow keeps printing new ones as they are made
(long polls; --timeout does not apply); stop it with Ctrl-C.

-o json and yaml print the page ({"org","after","revision","events"});
with --follow, one event ({"revision","changes"}) per document. Exit 5 for
a revision older than the server's --change-retention (410): start from
GET /v1/orgs/{org}/snapshot.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				ctx := cl.ctx
				if follow {
					ctx = cmd.Context()
				}
				return followChanges(ctx, cl, org, after, follow)
			})
		},
	}
	cmd.Flags().Uint64Var(&after, "after", 0, "the revision to start after (0: the start of the retained history)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new changes as they are made")
	return a.leaf(cmd)
}

func followChanges(ctx context.Context, cl *call, org string, after uint64, follow bool) error {
	out := cl.a.e.stdout
	o := cl.a.f.output
	header := false
	for {
		wait := time.Duration(0)
		if follow {
			wait = 30 * time.Second
		}
		p, err := cl.c.Changes(ctx, org, after, wait)
		if err != nil {
			if follow && ctx.Err() != nil {
				return nil // interrupted
			}
			return err
		}
		switch {
		case o.machine() && !follow:
			return o.emit(out, p)
		case o.machine():
			for _, ev := range p.Events {
				if err := o.emit(out, ev); err != nil {
					return err
				}
			}
		default:
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			if !header && len(p.Events) > 0 {
				header = true
				fmt.Fprintln(tw, "REVISION\tOP\tWHAT")
			}
			for _, ev := range p.Events {
				for _, c := range ev.Changes {
					fmt.Fprintf(tw, "%d\t%s\t%s\n", ev.Revision, c.Op, changeWhat(c))
				}
			}
			_ = tw.Flush()
		}
		after = p.Revision
		if !follow {
			if !o.machine() {
				fmt.Fprintf(cl.a.e.stderr, "revision: %d (resume with --after %d)\n", p.Revision, p.Revision)
			}
			return nil
		}
	}
}

// changeWhat names what a change is about, for the table.
func changeWhat(c client.StateChange) string {
	switch {
	case c.Binding != nil:
		b := c.Binding
		grant := b.Role
		if grant == "" {
			grant = strings.Join(b.Actions, ",")
		}
		scope := "org"
		switch {
		case b.Scope.ID != "":
			scope = b.Scope.Namespace + "/" + b.Scope.Type + "/" + b.Scope.ID
		case b.Scope.Namespace != "":
			scope = "ns/" + b.Scope.Namespace
		}
		return fmt.Sprintf("%s %s %s at %s", b.ID, b.Principal, grant, scope)
	case c.Principal != nil:
		return c.Principal.ID
	case c.Team != nil:
		return fmt.Sprintf("team:%s (%d members)", c.Team.Slug, len(c.Team.Members))
	case c.Resource != nil:
		return c.Resource.Namespace + "/" + c.Resource.Type + "/" + c.Resource.ID
	case c.Policy != nil:
		return fmt.Sprintf("policy (%d bytes)", len(*c.Policy))
	case c.Lifecycle != nil:
		return "suspension rules"
	}
	return c.ID
}
