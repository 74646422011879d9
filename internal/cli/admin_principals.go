package cli

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Admin verbs for agents, services and API keys.

func (a *adm) agentCmd() *cobra.Command {
	var role, ns, sponsor, expires, attrs string
	header := []string{"AGENT", "ROLE", "SPONSOR", "EXPIRES", "CREATED"}
	rows := func(as []client.Agent) [][]string {
		var out [][]string
		for _, g := range as {
			out = append(out, []string{g.Name, g.Role, g.Sponsor, admTime(g.ExpiresAt), admTime(g.CreatedAt)})
		}
		return out
	}
	create := &cobra.Command{
		Use: "create NAME --role ROLE [--ns NS]", Short: "Create an agent bound to its role (its ceiling)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			exp, err := parseTime("expires", expires)
			if err != nil {
				return err
			}
			at, err := parseAttrs(attrs)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				g, rev, err := cl.c.CreateAgent(cl.ctx, org, client.AgentSpec{Name: args[0], Role: role, Namespace: ns, Sponsor: sponsor, ExpiresAt: exp, Attributes: at})
				if err != nil {
					return err
				}
				return cl.say(g, "created agent %s (%s, sponsor %s) %s", g.Name, g.Role, g.Sponsor, revText(rev))
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "the agent's role (its ceiling)")
	create.Flags().StringVar(&ns, "ns", "", "bind the role in this namespace only (default: the org)")
	create.Flags().StringVar(&sponsor, "sponsor", "", "user id of the responsible member (default: you)")
	create.Flags().StringVar(&expires, "expires", "", "RFC 3339 expiry (default: never)")
	create.Flags().StringVar(&attrs, "attributes", "", "attributes as a JSON object")
	list := listCmd(a, "List agents", header, rows, (*client.Client).ListAgents)
	get := getCmd(a, "get NAME", "Show an agent", header, rows, (*client.Client).GetAgent)
	update := &cobra.Command{
		Use: "update NAME [--role R] [--sponsor U] [--expires T|never] [--attributes JSON]", Short: "Change an agent", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p client.AgentPatch
			if cmd.Flags().Changed("role") {
				p.Role = &role
			}
			if cmd.Flags().Changed("sponsor") {
				p.Sponsor = &sponsor
			}
			if cmd.Flags().Changed("expires") {
				e := expires
				if e == "never" {
					e = ""
				} else if _, err := parseTime("expires", e); err != nil {
					return err
				}
				p.ExpiresAt = &e
			}
			if cmd.Flags().Changed("attributes") {
				at, err := parseAttrs(attrs)
				if err != nil {
					return err
				}
				if at == nil {
					at = map[string]any{}
				}
				p.Attributes = &at
			}
			if p == (client.AgentPatch{}) {
				return badInput("nothing to change: pass --role, --sponsor, --expires or --attributes")
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				g, rev, err := cl.c.UpdateAgent(cl.ctx, org, args[0], p)
				if err != nil {
					return err
				}
				return cl.say(g, "updated agent %s %s", g.Name, revText(rev))
			})
		},
	}
	update.Flags().StringVar(&role, "role", "", "new role")
	update.Flags().StringVar(&sponsor, "sponsor", "", "new sponsor user id")
	update.Flags().StringVar(&expires, "expires", "", "new RFC 3339 expiry, or never")
	update.Flags().StringVar(&attrs, "attributes", "", "new attributes (JSON object)")
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete an agent with its bindings", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "deleted agent "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.DeleteAgent(cl.ctx, org, args[0])
			})
		},
	}
	return a.group("agent", "Manage AI agent identities", create, list, get, update, del)
}

// parseAttrs reads a JSON object flag ("" is none).
func parseAttrs(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, badInput("--attributes: want a JSON object such as '{\"team\":\"ml\"}'")
	}
	return m, nil
}

func (a *adm) serviceCmd() *cobra.Command {
	var role, ns, attrs string
	header := []string{"SERVICE", "ATTRIBUTES", "CREATED"}
	rows := func(ss []client.Service) [][]string {
		var out [][]string
		for _, s := range ss {
			at := ""
			if len(s.Attributes) > 0 {
				b, _ := json.Marshal(s.Attributes)
				at = string(b)
			}
			out = append(out, []string{s.Name, at, admTime(s.CreatedAt)})
		}
		return out
	}
	create := &cobra.Command{
		Use: "create NAME [--role ROLE [--ns NS]]", Short: "Create a service (a runtime or CI account)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAttrs(attrs)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				s, rev, err := cl.c.CreateService(cl.ctx, org, client.ServiceSpec{Name: args[0], Role: role, Namespace: ns, Attributes: at})
				if err != nil {
					return err
				}
				return cl.say(s, "created service %s %s", s.Name, revText(rev))
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "bind the service to this role")
	create.Flags().StringVar(&ns, "ns", "", "in this namespace (default: the org)")
	create.Flags().StringVar(&attrs, "attributes", "", "attributes as a JSON object")
	list := listCmd(a, "List services", header, rows, (*client.Client).ListServices)
	get := getCmd(a, "get NAME", "Show a service", header, rows, (*client.Client).GetService)
	update := &cobra.Command{
		Use: "update NAME --attributes JSON", Short: "Replace a service's attributes", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseAttrs(attrs)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				s, rev, err := cl.c.UpdateService(cl.ctx, org, args[0], at)
				if err != nil {
					return err
				}
				return cl.say(s, "updated service %s %s", s.Name, revText(rev))
			})
		},
	}
	update.Flags().StringVar(&attrs, "attributes", "", "attributes as a JSON object")
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a service with its bindings", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "deleted service "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.DeleteService(cl.ctx, org, args[0])
			})
		},
	}
	return a.group("service", "Manage service accounts", create, list, get, update, del)
}

// keyCmd manages API keys: the org's (default) or, with --personal, your
// own personal keys (valid in every org you belong to).
func (a *adm) keyCmd() *cobra.Command {
	var personal bool
	var principal, name, expires string
	var lo listOpts
	scope := func(cl *call) (string, error) {
		if personal {
			return "", nil
		}
		return cl.org()
	}
	header := []string{"ID", "PRINCIPAL", "NAME", "ORG", "CREATED", "EXPIRES", "LAST USED", "STATE"}
	rows := func(ks []client.APIKey) [][]string {
		var out [][]string
		for _, k := range ks {
			state := "active"
			if !k.RevokedAt.IsZero() {
				state = "revoked"
			}
			org := k.Org
			if org == "" {
				org = "(personal)"
			}
			out = append(out, []string{k.ID, k.Principal, k.Name, org, admTime(k.CreatedAt), admTime(k.ExpiresAt), admTime(k.LastUsedAt), state})
		}
		return out
	}
	create := &cobra.Command{
		Use: "create [--principal user:U|service:S] [--name N] [--expires T] [--personal]", Short: "Create an API key; prints its token once", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exp, err := parseTime("expires", expires)
			if err != nil {
				return err
			}
			return a.run(cmd, func(cl *call) error {
				org, err := scope(cl)
				if err != nil {
					return err
				}
				k, err := cl.c.CreateKey(cl.ctx, org, client.KeySpec{Principal: principal, Name: name, ExpiresAt: exp})
				if err != nil {
					return err
				}
				return cl.say(k, "created key %s for %s %s\ntoken (shown once): %s", k.Item.ID, k.Item.Principal, revText(k.Revision), k.Token)
			})
		},
	}
	create.Flags().StringVar(&principal, "principal", "", "whose key: a member user or a service (default: you)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise it by")
	create.Flags().StringVar(&expires, "expires", "", "RFC 3339 expiry (default: never)")
	list := &cobra.Command{
		Use: "list [--principal P] [--personal]", Short: "List API keys", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := scope(cl)
				if err != nil {
					return err
				}
				l, err := cl.c.ListKeys(cl.ctx, org, principal, lo.opts())
				if err != nil {
					return err
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, header, rows(l.Items))
			})
		},
	}
	list.Flags().StringVar(&principal, "principal", "", "only this principal's keys")
	lo.register(list)
	get := &cobra.Command{
		Use: "get ID", Short: "Show an API key (never its secret)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := scope(cl)
				if err != nil {
					return err
				}
				k, err := cl.c.GetKey(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.out(k, header, rows([]client.APIKey{k}))
			})
		},
	}
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke an API key (at once)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := scope(cl)
				if err != nil {
					return err
				}
				rev, err := cl.c.RevokeKey(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.say(map[string]uint64{"revision": rev}, "revoked key %s %s", args[0], revText(rev))
			})
		},
	}
	g := a.group("key", "Manage API keys (the org's, or with --personal your own)", create, list, get, revoke)
	g.PersistentFlags().BoolVar(&personal, "personal", false, "your personal keys instead of the org's")
	return g
}

// readAllLimited reads at most n bytes of r.
func readAllLimited(r io.Reader, n int64) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > n {
		return nil, badInput("input larger than %d bytes", n)
	}
	return b, nil
}
