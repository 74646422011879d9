package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
)

// Admin verbs for agents, services and API keys.

func (a *adm) agentCmd() *cobra.Command {
	var role, ns, sponsor, expires, attrs string
	var sponsors []string
	var suspend, resume bool
	header := []string{"AGENT", "ROLE", "SPONSORS", "STATUS", "EXPIRES", "CREATED"}
	rows := func(as []client.Agent) [][]string {
		var out [][]string
		for _, g := range as {
			out = append(out, []string{g.Name, g.Role, strings.Join(g.Sponsors, ","), g.Status, admTime(g.ExpiresAt), admTime(g.CreatedAt)})
		}
		return out
	}
	var spec client.AgentSpec
	create := writeCmd(a, "create NAME --role ROLE [-n NS]", "Create an agent bound to its role (its ceiling)", 1, func(cl *call, org string, args []string) (wrote, error) {
		g, rev, err := cl.c.CreateAgent(cl.ctx, org, spec)
		who := "sponsor " + g.Sponsor
		if len(g.Sponsors) > 1 { // every sponsor given, not only the first user
			who = "sponsors " + strings.Join(g.Sponsors, ", ")
		}
		return wrote{g, rev, fmt.Sprintf("created agent %s (%s, %s)", g.Name, g.Role, who)}, err
	})
	create.PreRunE = func(_ *cobra.Command, args []string) error {
		exp, err := parseTime("expires", expires)
		if err != nil {
			return err
		}
		at, err := parseAttrs(attrs)
		if err != nil {
			return err
		}
		spec = client.AgentSpec{Name: args[0], Role: role, Namespace: ns, Sponsor: sponsor, ExpiresAt: exp, Attributes: at, Sponsors: sponsors}
		return nil
	}
	create.Flags().StringSliceVar(&sponsors, "sponsors", nil, "sponsors, user:ID or team:SLUG, repeatable (default: --sponsor, else you)")
	create.Flags().StringVar(&role, "role", "", "the agent's role (its ceiling)")
	addNamespaceFlag(create, &ns, "", "bind the role in this namespace only (default: the org)")
	create.Flags().StringVar(&sponsor, "sponsor", "", "user id of the responsible member (default: you)")
	create.Flags().StringVar(&expires, "expires", "", "RFC 3339 expiry (default: never)")
	create.Flags().StringVar(&attrs, "attributes", "", "attributes as a JSON object")
	list := statusListCmd(a, "List agents with their sponsors and status", header, rows, (*client.Client).ListAgents, (*client.Client).ListAgentsByStatus,
		"only agents in this status: active, suspended, sponsor_gone, inactive, attestation_due, expired")
	get := getCmd(a, "get NAME", "Show an agent", header, rows, (*client.Client).GetAgent)
	var p client.AgentPatch
	update := writeCmd(a, "update NAME [--role R] [--sponsor U] [--expires T|never] [--attributes JSON]", "Change an agent", 1, func(cl *call, org string, args []string) (wrote, error) {
		g, rev, err := cl.c.UpdateAgent(cl.ctx, org, args[0], p)
		return wrote{g, rev, "updated agent " + g.Name}, err
	})
	update.PreRunE = func(cmd *cobra.Command, _ []string) (err error) {
		if cmd.Flags().Changed("role") {
			p.Role = &role
		}
		if cmd.Flags().Changed("sponsor") {
			p.Sponsor = &sponsor
		}
		if cmd.Flags().Changed("sponsors") {
			p.Sponsors = &sponsors
		}
		switch {
		case suspend && resume:
			return badInput("give --suspend or --resume, not both")
		case suspend:
			p.Suspended = &suspend
		case resume:
			no := false
			p.Suspended = &no
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
		if p.Attributes, err = patchMap(cmd, "attributes", parseAttrs, attrs); err != nil {
			return err
		}
		if p == (client.AgentPatch{}) {
			return badInput("nothing to change: pass --role, --sponsor, --sponsors, --suspend, --resume, --expires or --attributes")
		}
		return nil
	}
	update.Flags().StringVar(&role, "role", "", "new role")
	update.Flags().StringVar(&sponsor, "sponsor", "", "new sponsor user id")
	update.Flags().StringVar(&expires, "expires", "", "new RFC 3339 expiry, or never")
	update.Flags().StringVar(&attrs, "attributes", "", "new attributes (JSON object)")
	update.Flags().StringSliceVar(&sponsors, "sponsors", nil, "replace the sponsors: user:ID or team:SLUG, repeatable (lifts sponsor_gone)")
	update.Flags().BoolVar(&suspend, "suspend", false, "suspend the agent by hand")
	update.Flags().BoolVar(&resume, "resume", false, "lift a suspension by hand")
	del := deleteCmd(a, "delete NAME", "Delete an agent with its bindings", "deleted agent", (*client.Client).DeleteAgent)
	return a.group("agent", "Manage AI agent identities", create, list, get, update, del, a.attestCmd(), a.lifecycleCmd(), a.blastRadiusCmd(), a.agentTokenCmd(), a.agentTokensCmd())
}

// patchMap reads a patch's map flag: nil when the flag was not given (the
// map stays), else the map parse makes of in, empty rather than nil (the
// map is cleared).
func patchMap[In, V any](cmd *cobra.Command, flag string, parse func(In) (map[string]V, error), in In) (*map[string]V, error) {
	if !cmd.Flags().Changed(flag) {
		return nil, nil
	}
	m, err := parse(in)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]V{}
	}
	return &m, nil
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
	var sponsors []string
	var lifecycle bool
	header := []string{"SERVICE", "STATUS", "SPONSORS", "LIFECYCLE", "ATTRIBUTES", "CREATED"}
	rows := func(ss []client.Service) [][]string {
		var out [][]string
		for _, s := range ss {
			at := ""
			if len(s.Attributes) > 0 {
				b, _ := json.Marshal(s.Attributes)
				at = string(b)
			}
			st := s.Status
			if st == "" {
				st = "active"
			}
			sp, life := strings.Join(s.Sponsors, ","), "-"
			if sp == "" {
				sp = "-"
			}
			if s.Lifecycle {
				life = "org rules"
			}
			out = append(out, []string{s.Name, st, sp, life, at, admTime(s.CreatedAt)})
		}
		return out
	}
	var at map[string]any
	readAttrs := func(*cobra.Command, []string) (err error) {
		at, err = parseAttrs(attrs)
		return err
	}
	create := writeCmd(a, "create NAME [--role ROLE [-n NS]] [--sponsors S,...] [--lifecycle]", "Create a service (a runtime or CI account)", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			s, rev, err := cl.c.CreateService(cl.ctx, org, client.ServiceSpec{Name: args[0], Role: role, Namespace: ns, Attributes: at,
				Sponsors: sponsors, Lifecycle: lifecycle})
			return wrote{s, rev, "created service " + s.Name}, err
		})
	create.PreRunE = readAttrs
	create.Flags().StringVar(&role, "role", "", "bind the service to this role")
	addNamespaceFlag(create, &ns, "", "in this namespace (default: the org)")
	create.Flags().StringVar(&attrs, "attributes", "", "attributes as a JSON object")
	create.Flags().StringSliceVar(&sponsors, "sponsors", nil, "sponsors, user:ID or team:SLUG, repeatable (default: none)")
	create.Flags().BoolVar(&lifecycle, "lifecycle", false, "put the service under the org's inactivity and attestation rules (needs --sponsors)")
	list := statusListCmd(a, "List services with their sponsors and status", header, rows, (*client.Client).ListServices, (*client.Client).ListServicesByStatus,
		"only services in this status: active, suspended, sponsor_gone, inactive, attestation_due")
	get := getCmd(a, "get NAME", "Show a service", header, rows, (*client.Client).GetService)
	var p client.ServicePatch
	update := writeCmd(a, "update NAME [--attributes JSON] [--sponsors S,...] [--lifecycle=true|false]", "Change a service's attributes, sponsors or lifecycle opt-in", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			s, rev, err := cl.c.PatchService(cl.ctx, org, args[0], p)
			return wrote{s, rev, "updated service " + s.Name}, err
		})
	update.PreRunE = func(cmd *cobra.Command, _ []string) (err error) {
		if p.Attributes, err = patchMap(cmd, "attributes", parseAttrs, attrs); err != nil {
			return err
		}
		if cmd.Flags().Changed("sponsors") {
			ss := append([]string{}, sponsors...)
			p.Sponsors = &ss
		}
		if cmd.Flags().Changed("lifecycle") {
			p.Lifecycle = &lifecycle
		}
		if p == (client.ServicePatch{}) {
			return badInput("nothing to change: pass --attributes, --sponsors or --lifecycle")
		}
		return nil
	}
	update.Flags().StringVar(&attrs, "attributes", "", "replace the attributes (JSON object)")
	update.Flags().StringSliceVar(&sponsors, "sponsors", nil, "replace the sponsors: user:ID or team:SLUG, repeatable (lifts sponsor_gone; '' for none)")
	update.Flags().BoolVar(&lifecycle, "lifecycle", false, "opt in to (true) or out of (false) the org's inactivity and attestation rules")
	del := deleteCmd(a, "delete NAME", "Delete a service with its bindings", "deleted service", (*client.Client).DeleteService)
	suspend := writeCmd(a, "suspend NAME", "Suspend a service: every decision for it is deny and its API keys and run tokens stop, until resumed", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			s, rev, err := cl.c.SuspendService(cl.ctx, org, args[0])
			return wrote{s, rev, "suspended service " + s.Name}, err
		})
	resume := writeCmd(a, "resume NAME", "Lift a service's suspension", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			s, rev, err := cl.c.ResumeService(cl.ctx, org, args[0])
			return wrote{s, rev, "resumed service " + s.Name}, err
		})
	attest := writeCmd(a, "attest NAME", "Attest a service you sponsor (lifts attestation_due and inactive)", 1,
		func(cl *call, org string, args []string) (wrote, error) {
			s, rev, err := cl.c.AttestService(cl.ctx, org, args[0])
			return wrote{s, rev, fmt.Sprintf("attested service %s at %s (status %s)", s.Name, admTime(s.AttestedAt), s.Status)}, err
		})
	return a.group("service", "Manage service accounts", create, list, get, update, del, suspend, resume, attest)
}

// keyCmd manages API keys: the org's (default) or, with --personal, your
// own personal keys (valid in every org you belong to). Its verbs run on an
// adm of their own whose scope is then no org.
func (a *adm) keyCmd() *cobra.Command {
	var personal bool
	var principal, name, expires string
	var lo listOpts
	ka := &adm{e: a.e}
	ka.scope = func(cl *call) (string, error) {
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
			return ka.inOrg(cmd, func(cl *call, org string) error {
				kc, err := cl.c.CreateKey(cl.ctx, org, client.KeySpec{Principal: principal, Name: name, ExpiresAt: exp})
				if err != nil {
					return err
				}
				return cl.say(kc, "created key %s for %s %s\ntoken (shown once): %s", kc.Item.ID, kc.Item.Principal, revText(kc.Revision), kc.Token)
			})
		},
	}
	create.Flags().StringVar(&principal, "principal", "", "whose key: a member user or a service (default: you)")
	create.Flags().StringVar(&name, "name", "", "a name to recognise it by")
	create.Flags().StringVar(&expires, "expires", "", "RFC 3339 expiry (default: never)")
	list := &cobra.Command{
		Use: "list [--principal P] [--personal]", Short: "List API keys: the org's (apikeys:read), else your own", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ka.inOrg(cmd, func(cl *call, org string) error {
				l, err := cl.c.ListKeys(cl.ctx, org, principal, lo.opts())
				if client.IsForbidden(err) && principal == "" && org != "" {
					// Without apikeys:read, your own keys: the API lists them
					// for principal=<you>.
					me, merr := cl.c.Me(cl.ctx, "")
					if merr != nil {
						return err
					}
					fmt.Fprintf(a.e.stderr, "gatehouse: listing your own keys, personal and confined to %s (the org's need apikeys:read)\n", org)
					if l, err = cl.c.ListKeys(cl.ctx, org, me.Principal, lo.opts()); err == nil {
						var p client.List[client.APIKey]
						p, err = cl.c.ListKeys(cl.ctx, "", "", lo.opts())
						l.Items = append(l.Items, p.Items...)
						l.NextCursor = "" // two lists: --page-size bounds each
					}
				}
				if err != nil {
					return err
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, header, rows(l.Items))
			})
		},
	}
	lo.register(list)
	list.Flags().StringVar(&principal, "principal", "", "only this principal's keys")
	get := getCmd(ka, "get ID", "Show an API key (never its secret)", header, rows, (*client.Client).GetKey)
	revoke := deleteCmd(ka, "revoke ID", "Revoke an API key (at once)", "revoked key", (*client.Client).RevokeKey)
	g := ka.group("key", "Manage API keys (the org's, or with --personal your own)", create, list, get, revoke)
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

// statusListCmd is listCmd with --status (usage: its help): byStatus
// lists the principals in that status, all (without it) every one.
func statusListCmd[T any](a *adm, short string, header []string, rows func([]T) [][]string,
	all func(*client.Client, context.Context, string, *client.ListOptions) (client.List[T], error),
	byStatus func(*client.Client, context.Context, string, string, *client.ListOptions) (client.List[T], error), usage string) *cobra.Command {
	var status string
	list := listCmd(a, short, header, rows, func(c *client.Client, ctx context.Context, org string, o *client.ListOptions) (client.List[T], error) {
		if status != "" {
			return byStatus(c, ctx, org, status, o)
		}
		return all(c, ctx, org, o)
	})
	list.Flags().StringVar(&status, "status", "", usage)
	return list
}
