package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/client"
)

// lifetimeFlags are --for and --until, how long a binding or share lasts.
type lifetimeFlags struct {
	dur   time.Duration
	until string
}

func (l *lifetimeFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&l.dur, "for", 0, "the grant ends this long after it is made (30m, 2h)")
	fs.StringVar(&l.until, "until", "", "the grant ends at this RFC 3339 time (2026-12-31T18:00:00Z)")
}

// lifetime reads the flags (neither: the grant never ends).
func (l *lifetimeFlags) lifetime() (client.Lifetime, error) {
	var out client.Lifetime
	switch {
	case l.dur != 0 && l.until != "":
		return out, badInput("give --for or --until, not both")
	case l.dur < 0:
		return out, badInput("--for must be a positive duration (30m, 2h)")
	case l.dur > 0:
		out.ExpiresIn = l.dur.String()
	case l.until != "":
		t, err := time.Parse(time.RFC3339, l.until)
		if err != nil {
			return out, badInput("--until %q is not an RFC 3339 time (2026-12-31T18:00:00Z)", l.until)
		}
		out.ExpiresAt = t
	}
	return out, nil
}

// untilText says when a grant ends ("" when never).
func untilText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " until " + admTime(t)
}

// attestCmd: `agent attest NAME` — a sponsor vouches for the agent now.
func (a *adm) attestCmd() *cobra.Command {
	return writeCmd(a, "attest NAME", "Attest an agent you sponsor (lifts attestation_due and inactive)", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			g, rev, err := cl.c.AttestAgent(cl.ctx, org, args[0])
			return wrote{g, rev, fmt.Sprintf("attested agent %s at %s (status %s)", g.Name, admTime(g.AttestedAt), g.Status)}, err
		})
}

// lifecycleCmd: `agent lifecycle --inactive-days N --attestation-days N`
// sets the org's suspension rules for agents and opted-in services.
func (a *adm) lifecycleCmd() *cobra.Command {
	var l client.OrgLifecycle
	cmd := writeCmd(a, "lifecycle --inactive-days N --attestation-days N",
		"Set the org's rules: suspend agents (and services that opted in) unused for N days, and those no sponsor attested for N days (0: off)", 0,
		func(cl *call, org string, _ []string) (wrote, error) {
			o, rev, err := cl.c.SetOrgLifecycle(cl.ctx, org, l)
			return wrote{o, rev, fmt.Sprintf("org %s: agents and opted-in services are suspended after %d days unused (0: never) and %d days unattested (0: never)",
				o.ID, l.InactiveDays, l.AttestationDays)}, err
		})
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if l.InactiveDays < 0 || l.AttestationDays < 0 {
			return badInput("--inactive-days and --attestation-days must not be negative")
		}
		return nil
	}
	cmd.Flags().IntVar(&l.InactiveDays, "inactive-days", 0, "suspend agents unused for this many days (0: off)")
	cmd.Flags().IntVar(&l.AttestationDays, "attestation-days", 0, "suspend agents no sponsor attested for this many days (0: off)")
	return cmd
}

// agentTokenCmd: `agent token NAME --audience URL [--on-behalf-of user:Y]
// [--ttl 5m]` mints an audience-bound agent token. The table form prints
// only the token (for TOKEN=$(gatehouse agent token …)); -o json the
// whole answer.
func (a *adm) agentTokenCmd() *cobra.Command {
	var req client.AgentTokenRequest
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token NAME --audience URL [--on-behalf-of user:ID] [--ttl 5m]",
		Short: "Mint a short-lived token for the agent, accepted only at the audience URL (an MCP gateway endpoint)",
		Example: `  gatehouse agent token Helper --audience https://gatehouse.example.com/mcp/acme/default/github --on-behalf-of user:bob
  gatehouse agent token Helper --audience http://127.0.0.1:8080/mcp/acme/default/demo --ttl 15m -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.Audience == "" {
				return badInput("--audience is required: the absolute URL of the endpoint that will accept the token")
			}
			if ttl < 0 {
				return badInput("--ttl must be a positive duration (5m, at most 1h)")
			}
			if ttl > 0 {
				req.TTL = ttl.String()
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				t, err := cl.c.MintAgentToken(cl.ctx, org, args[0], req)
				if err != nil {
					return err
				}
				return cl.say(t, "%s", t.Token)
			})
		},
	}
	cmd.Flags().StringVar(&req.Audience, "audience", "", "the absolute URL of the one endpoint that will accept the token")
	cmd.Flags().StringVar(&req.OnBehalfOf, "on-behalf-of", "", "the member user the agent acts for (user:ID; a user may name only itself)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "the token's lifetime (default 5m, at most 1h)")
	return cmd
}

// agentTokensCmd: `agent tokens list NAME` lists the agent's unexpired
// tokens (never a token itself); `agent tokens revoke NAME ID` revokes one
// by the id minting printed (-o json's token_id).
func (a *adm) agentTokensCmd() *cobra.Command {
	var lo listOpts
	header := []string{"ID", "AGENT", "ON BEHALF OF", "AUDIENCE", "MINTED BY", "CREATED", "EXPIRES", "STATE"}
	rows := func(ts []client.AgentTokenInfo) [][]string {
		var out [][]string
		for _, t := range ts {
			state := "active"
			if !t.RevokedAt.IsZero() {
				state = "revoked by " + t.RevokedBy
			}
			out = append(out, []string{t.ID, t.Agent, t.OnBehalfOf, t.Audience, t.CreatedBy, admTime(t.CreatedAt), admTime(t.ExpiresAt), state})
		}
		return out
	}
	list := &cobra.Command{
		Use:     "list NAME",
		Short:   "List the agent's unexpired tokens, newest first (apikeys:read); never a token itself",
		Example: `  gatehouse agent tokens list Helper`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				l, err := cl.c.ListAgentTokens(cl.ctx, org, args[0], lo.opts())
				if err != nil {
					return err
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, header, rows(l.Items))
			})
		},
	}
	lo.register(list)
	revoke := writeCmd(a, "revoke NAME ID", "Revoke one of the agent's tokens by its id: refused at its next use (apikeys:delete)", 2,
		func(cl *call, org string, args []string) (wrote, error) {
			rev, err := cl.c.RevokeAgentToken(cl.ctx, org, args[0], args[1])
			return wrote{rev: rev, line: "revoked agent token " + args[1] + " of " + args[0]}, err
		})
	revoke.Example = `  gatehouse agent tokens revoke Helper 0006620b2b2c4604e7765c72d1b1e205`
	cmd := &cobra.Command{Use: "tokens", Short: "List and revoke the agent's minted tokens", Args: cobra.ArbitraryArgs, RunE: unknownSubcommand}
	cmd.AddCommand(list, revoke)
	return cmd
}

// blastRadiusCmd: `agent blast-radius NAME|PRINCIPAL` — what the agent (or
// any user or service, by full id) could do if hijacked.
func (a *adm) blastRadiusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blast-radius NAME|PRINCIPAL",
		Short: "Everything the agent (or user:ID, service:NAME) could do if hijacked, most destructive first",
		Example: `  gatehouse agent blast-radius Triage
  gatehouse agent blast-radius user:bob -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := args[0]
			if !strings.Contains(p, ":") {
				p = "agent:" + p
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				r, err := cl.c.Reach(cl.ctx, org, p)
				if err != nil {
					return err
				}
				if cl.machine() {
					return cl.emit(r)
				}
				w := cl.a.e.stdout
				fmt.Fprintln(w, r.Summary)
				var rows [][]string
				for _, nr := range r.Namespaces {
					for _, e := range nr.Entries {
						on := "every resource"
						if e.Resource != nil {
							on = e.Resource.Type + "/" + e.Resource.ID
						}
						rows = append(rows, []string{nr.Namespace, e.Severity, e.Permission, on, strconv.Itoa(e.Resources), strings.Join(e.Conditions, " or "), reachApprovals(e.Approvals)})
					}
				}
				if len(rows) > 0 {
					fmt.Fprintln(w)
					printTable(w, []string{"NAMESPACE", "SEVERITY", "PERMISSION", "ON", "RESOURCES", "ONLY WHEN", "NEEDS APPROVAL"}, rows)
				}
				if len(r.Secrets) > 0 || r.HiddenSecrets > 0 {
					fmt.Fprintln(w, "\nsecrets it could have injected:")
					for _, s := range r.Secrets {
						var via []string
						for _, v := range s.Via {
							via = append(via, v.Type+"/"+v.ID)
						}
						var withApproval []string
						for _, v := range s.ViaApproval {
							withApproval = append(withApproval, v.Type+"/"+v.ID)
						}
						switch {
						case len(via) > 0 && len(withApproval) > 0:
							fmt.Fprintf(w, "  %s/%s (via %s; with approval via %s)\n", s.Namespace, s.Name, strings.Join(via, ", "), strings.Join(withApproval, ", "))
						case len(via) > 0:
							fmt.Fprintf(w, "  %s/%s (via %s)\n", s.Namespace, s.Name, strings.Join(via, ", "))
						default:
							fmt.Fprintf(w, "  %s/%s (only with approval, via %s)\n", s.Namespace, s.Name, strings.Join(withApproval, ", "))
						}
					}
					if r.HiddenSecrets > 0 {
						fmt.Fprintf(w, "  and %d more in namespaces where you may not list secrets\n", r.HiddenSecrets)
					}
				}
				if len(r.Tools) > 0 {
					fmt.Fprintln(w, "\nMCP tools it may call:")
					for _, t := range r.Tools {
						if len(t.Approvals) > 0 {
							fmt.Fprintf(w, "  %s/%s (needs approval: %s)\n", t.Namespace, t.ID, reachApprovals(t.Approvals))
						} else {
							fmt.Fprintf(w, "  %s/%s\n", t.Namespace, t.ID)
						}
					}
				}
				if r.Truncated {
					fmt.Fprintln(w, "\n(only the first 2,000 resources were scanned for secrets and tools)")
				}
				return nil
			})
		},
	}
	return cmd
}

// reachApprovals says a blast-radius entry's approval rules in a table
// cell: "chains:run by 2 from admin when in_prod", "" for none.
func reachApprovals(as []client.ReachApproval) string {
	var parts []string
	for _, a := range as {
		s := a.Permission
		if a.Quorum > 1 {
			s += fmt.Sprintf(" by %d", a.Quorum)
		}
		if len(a.From) > 0 {
			s += " from " + strings.Join(a.From, " or ")
		}
		if len(a.Conditions) > 0 {
			s += " when " + strings.Join(a.Conditions, " and ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// asOfFlags are --at and --at-revision: a check, explanation or lookup
// (who-can, what-can) of the past.
type asOfFlags struct {
	at  string
	rev uint64
}

func (f *asOfFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.at, "at", "", "answer as at this RFC 3339 time (2026-11-01T10:00:00Z), from the changelog")
	cmd.Flags().Uint64Var(&f.rev, "at-revision", 0, "answer as at this revision, from the changelog")
}

// option is the call option the flags ask for (nil: now).
func (f *asOfFlags) option() (client.CallOption, error) {
	switch {
	case f.at != "" && f.rev != 0:
		return nil, badInput("give --at or --at-revision, not both")
	case f.at != "":
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return nil, badInput("--at %q is not an RFC 3339 time (2026-11-01T10:00:00Z)", f.at)
		}
		return client.AsOf(t), nil
	case f.rev != 0:
		return client.AsOfRevision(f.rev), nil
	}
	return nil, nil
}
