package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/client"
)

// Admin verbs for orgs, namespaces, members, invitations, teams, roles,
// bindings and sharing.

func orgRows(os []client.Org) [][]string {
	var rows [][]string
	for _, o := range os {
		rows = append(rows, []string{o.ID, o.Name, o.Template, admTime(o.CreatedAt)})
	}
	return rows
}

var orgHeader = []string{"ID", "NAME", "TEMPLATE", "CREATED"}

func (a *adm) orgCmd() *cobra.Command {
	var name, template string
	var yes bool
	create := &cobra.Command{
		Use: "create ID", Short: "Create an org from a template; you become its owner", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				o, rev, err := cl.c.CreateOrg(cl.ctx, client.CreateOrgRequest{ID: args[0], Name: name, Template: template})
				if err != nil {
					return err
				}
				return cl.say(o, "created org %s (template %s) %s", o.ID, o.Template, revText(rev))
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringVar(&template, "template", "", "template: agent-platform (default), letta, zyeta or mentiko")
	list := &cobra.Command{
		Use: "list", Short: "List your orgs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				os, err := cl.c.ListOrgs(cl.ctx)
				if err != nil {
					return err
				}
				return cl.out(os, orgHeader, orgRows(os))
			})
		},
	}
	get := &cobra.Command{
		Use: "get [ORG]", Short: "Show an org (default --org)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				id, err := argOrOrg(cl, args)
				if err != nil {
					return err
				}
				o, err := cl.c.GetOrg(cl.ctx, id)
				if err != nil {
					return err
				}
				return cl.out(o, orgHeader, orgRows([]client.Org{o}))
			})
		},
	}
	rename := &cobra.Command{
		Use: "rename NAME", Short: "Change the org's display name", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				rev, err := cl.c.RenameOrg(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.say(map[string]uint64{"revision": rev}, "renamed org %s %s", org, revText(rev))
			})
		},
	}
	del := &cobra.Command{
		Use: "delete ORG --yes", Short: "Delete an org and everything in it (owners only)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return badInput("deleting org %q deletes everything in it: pass --yes", args[0])
			}
			return a.run(cmd, func(cl *call) error {
				rev, err := cl.c.DeleteOrg(cl.ctx, args[0])
				if err != nil {
					return err
				}
				return cl.say(map[string]uint64{"revision": rev}, "deleted org %s %s", args[0], revText(rev))
			})
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	return a.group("org", "Manage orgs", create, list, get, rename, del)
}

func argOrOrg(cl *call, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	return cl.org()
}

func (a *adm) nsCmd() *cobra.Command {
	var cascade bool
	rows := func(ns []client.Namespace) [][]string {
		var rs [][]string
		for _, n := range ns {
			rs = append(rs, []string{n.Name, admTime(n.CreatedAt)})
		}
		return rs
	}
	header := []string{"NAMESPACE", "CREATED"}
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a namespace", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				n, rev, err := cl.c.CreateNamespace(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.say(n, "created namespace %s %s", n.Name, revText(rev))
			})
		},
	}
	list := listCmd(a, "List namespaces", header, rows, (*client.Client).ListNamespaces)
	get := getCmd(a, "get NAME", "Show a namespace", header, rows, (*client.Client).GetNamespace)
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a namespace (with --cascade also its resources and bindings)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				rev, err := cl.c.DeleteNamespace(cl.ctx, org, args[0], cascade)
				if err != nil {
					return err
				}
				return cl.say(map[string]uint64{"revision": rev}, "deleted namespace %s %s", args[0], revText(rev))
			})
		},
	}
	del.Flags().BoolVar(&cascade, "cascade", false, "also delete what the namespace holds")
	return a.group("ns", "Manage namespaces", create, list, get, del)
}

func (a *adm) memberCmd() *cobra.Command {
	var role string
	header := []string{"USER", "SINCE"}
	rows := func(ms []client.Member) [][]string {
		var rs [][]string
		for _, m := range ms {
			rs = append(rs, []string{m.UserID, admTime(m.CreatedAt)})
		}
		return rs
	}
	add := &cobra.Command{
		Use: "add USER --role ROLE", Short: "Add an existing user to the org with a role at org scope", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				return badInput("--role is required")
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				m, rev, err := cl.c.AddMember(cl.ctx, org, args[0], role)
				if err != nil {
					return err
				}
				return cl.say(m, "added %s to %s as %s %s", m.UserID, org, role, revText(rev))
			})
		},
	}
	add.Flags().StringVar(&role, "role", "", "org-scope role")
	list := listCmd(a, "List members", header, rows, (*client.Client).ListMembers)
	get := getCmd(a, "get USER", "Show a membership", header, rows, (*client.Client).GetMember)
	setRole := &cobra.Command{
		Use: "set-role USER ROLE", Short: "Replace a member's org-scope role (escalation rules apply)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				b, rev, err := cl.c.SetMemberRole(cl.ctx, org, args[0], args[1])
				if err != nil {
					return err
				}
				return cl.say(b, "%s is now %s in %s %s", args[0], b.Role, org, revText(rev))
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove USER", Short: "Remove a member with its bindings", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				rev, err := cl.c.RemoveMember(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.say(map[string]uint64{"revision": rev}, "removed %s from %s %s", args[0], org, revText(rev))
			})
		},
	}
	return a.group("member", "Manage the org's members", add, list, get, setRole, remove)
}

func (a *adm) inviteCmd() *cobra.Command {
	var role, userID, name string
	var lo listOpts
	create := &cobra.Command{
		Use: "create EMAIL --role ROLE", Short: "Invite an email address with a role; prints the one-time token", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				return badInput("--role is required")
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				inv, err := cl.c.Invite(cl.ctx, org, args[0], role)
				if err != nil {
					return err
				}
				return cl.say(inv, "invited %s to %s as %s (expires %s) %s\ntoken (shown once): %s",
					inv.Item.Email, org, inv.Item.Role, admTime(inv.Item.ExpiresAt), revText(inv.Revision), inv.Token)
			})
		},
	}
	create.Flags().StringVar(&role, "role", "", "the role the invitee gets at org scope")
	list := &cobra.Command{
		Use: "list", Short: "List the org's invitations", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				l, err := cl.c.ListInvitations(cl.ctx, org, lo.opts())
				if err != nil {
					return err
				}
				var rows [][]string
				for _, v := range l.Items {
					state := "pending"
					switch {
					case !v.AcceptedAt.IsZero():
						state = "accepted by " + v.AcceptedBy
					case !v.RevokedAt.IsZero():
						state = "revoked"
					}
					rows = append(rows, []string{v.ID, v.Email, v.Role, v.InvitedBy, admTime(v.ExpiresAt), state})
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, []string{"ID", "EMAIL", "ROLE", "INVITED BY", "EXPIRES", "STATE"}, rows)
			})
		},
	}
	lo.register(list)
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a pending invitation", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				rev, err := cl.c.RevokeInvitation(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.say(map[string]uint64{"revision": rev}, "revoked invitation %s %s", args[0], revText(rev))
			})
		},
	}
	accept := &cobra.Command{
		Use: "accept", Short: "Accept an invitation (token from stdin); prints a session token", Args: cobra.NoArgs,
		Long: "Accept an invitation. The invitation token is read from stdin (never an argument, so it stays out of shell history). Needs no credentials.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := readAllLimited(a.e.stdin, 4096)
			if err != nil {
				return badInput("reading the token from stdin: %v", err)
			}
			tok := strings.TrimSpace(string(b))
			if tok == "" {
				return badInput("no invitation token on stdin")
			}
			return a.run(cmd, func(cl *call) error {
				acc, err := cl.c.WithToken("").AcceptInvitation(cl.ctx, client.AcceptRequest{Token: tok, UserID: userID, DisplayName: name})
				if err != nil {
					return err
				}
				return cl.say(acc, "welcome %s: member of %s as %s %s\nsession token (expires %s): %s",
					acc.User.ID, acc.Org, acc.Role, revText(acc.Revision), admTime(acc.Session.ExpiresAt), acc.Session.Token)
			})
		},
	}
	accept.Flags().StringVar(&userID, "user-id", "", "your user id, when no user has the invited email yet")
	accept.Flags().StringVar(&name, "name", "", "your display name (new users)")
	return a.group("invite", "Invite people to the org", create, list, revoke, accept)
}

func (a *adm) teamCmd() *cobra.Command {
	var name string
	var members []string
	var lo listOpts
	create := &cobra.Command{
		Use: "create SLUG", Short: "Create a team", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				t, rev, err := cl.c.CreateTeam(cl.ctx, org, client.CreateTeamRequest{Slug: args[0], Name: name, Members: members})
				if err != nil {
					return err
				}
				return cl.say(t, "created team %s %s", t.Slug, revText(rev))
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringSliceVar(&members, "member", nil, "initial member principal (user:alice), repeatable")
	list := &cobra.Command{
		Use: "list", Short: "List teams", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				l, err := cl.c.ListTeams(cl.ctx, org, lo.opts())
				if err != nil {
					return err
				}
				var rows [][]string
				for _, t := range l.Items {
					rows = append(rows, []string{t.Slug, t.Name, admTime(t.CreatedAt)})
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, []string{"TEAM", "NAME", "CREATED"}, rows)
			})
		},
	}
	lo.register(list)
	get := &cobra.Command{
		Use: "get SLUG", Short: "Show a team with its members", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				t, err := cl.c.GetTeam(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.out(t, []string{"TEAM", "NAME", "MEMBERS"}, [][]string{{t.Slug, t.Name, strings.Join(t.Members, ",")}})
			})
		},
	}
	rename := &cobra.Command{
		Use: "rename SLUG NAME", Short: "Change a team's display name", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "renamed team "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.RenameTeam(cl.ctx, org, args[0], args[1])
			})
		},
	}
	del := &cobra.Command{
		Use: "delete SLUG", Short: "Delete a team and every binding naming it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "deleted team "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.DeleteTeam(cl.ctx, org, args[0])
			})
		},
	}
	add := &cobra.Command{
		Use: "add SLUG PRINCIPAL", Short: "Add a user, agent or service to a team", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "added "+args[1]+" to team "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.AddTeamMember(cl.ctx, org, args[0], args[1])
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove SLUG PRINCIPAL", Short: "Remove a principal from a team", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "removed "+args[1]+" from team "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.RemoveTeamMember(cl.ctx, org, args[0], args[1])
			})
		},
	}
	return a.group("team", "Manage teams", create, list, get, rename, del, add, remove)
}

// revOp runs a write in the org that answers only a revision.
func (a *adm) revOp(cmd *cobra.Command, done string, fn func(cl *call, org string) (uint64, error)) error {
	return a.run(cmd, func(cl *call) error {
		org, err := cl.org()
		if err != nil {
			return err
		}
		rev, err := fn(cl, org)
		if err != nil {
			return err
		}
		return cl.say(map[string]uint64{"revision": rev}, "%s %s", done, revText(rev))
	})
}

func (a *adm) roleCmd() *cobra.Command {
	var level int
	var parents, perms []string
	rows := func(rs []client.Role) [][]string {
		var out [][]string
		for _, r := range rs {
			kind := "template"
			if r.Custom {
				kind = "custom"
			}
			out = append(out, []string{r.Name, strconv.Itoa(r.Level), strings.Join(r.Parents, ","), kind, strings.Join(r.Permissions, " ")})
		}
		return out
	}
	header := []string{"ROLE", "LEVEL", "PARENTS", "KIND", "PERMISSIONS"}
	list := &cobra.Command{
		Use: "list", Short: "List the roles of the org's policy", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				rs, err := cl.c.ListRoles(cl.ctx, org)
				if err != nil {
					return err
				}
				return cl.out(rs, header, rows(rs))
			})
		},
	}
	get := getCmd(a, "get ROLE", "Show a role", header, rows, (*client.Client).GetRole)
	spec := func(name string) (client.RoleSpec, error) {
		if len(perms) == 0 {
			return client.RoleSpec{}, badInput("--permission is required (e.g. --permission chains:run)")
		}
		return client.RoleSpec{Name: name, Level: level, Parents: parents, Permissions: perms}, nil
	}
	create := &cobra.Command{
		Use: "create ROLE --level N --permission TYPE:ACTION...", Short: "Create a custom role (no higher, and no more, than yours)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := spec(args[0])
			if err != nil {
				return err
			}
			return a.revOp(cmd, "created role "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.CreateRole(cl.ctx, org, s)
			})
		},
	}
	update := &cobra.Command{
		Use: "update ROLE --level N --permission TYPE:ACTION...", Short: "Redefine a custom role", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := spec(args[0])
			if err != nil {
				return err
			}
			return a.revOp(cmd, "updated role "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.UpdateRole(cl.ctx, org, s)
			})
		},
	}
	for _, c := range []*cobra.Command{create, update} {
		c.Flags().IntVar(&level, "level", 0, "level 0..100")
		c.Flags().StringSliceVar(&parents, "parent", nil, "parent role, repeatable")
		c.Flags().StringSliceVar(&perms, "permission", nil, "permission pattern (chains:run, tickets:*), repeatable")
	}
	del := &cobra.Command{
		Use: "delete ROLE", Short: "Delete a custom role (refused while bound)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "deleted role "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.DeleteRole(cl.ctx, org, args[0])
			})
		},
	}
	return a.group("role", "Manage roles", list, get, create, update, del)
}

func bindingRows(bs []client.Binding) [][]string {
	var rows [][]string
	for _, b := range bs {
		grant := b.Role
		if grant == "" {
			grant = "actions:" + strings.Join(b.Actions, ",")
		}
		rows = append(rows, []string{b.ID, b.Principal, grant, scopeText(b.Scope), b.Condition, b.CreatedBy})
	}
	return rows
}

var bindingHeader = []string{"ID", "PRINCIPAL", "ROLE", "SCOPE", "CONDITION", "BY"}

// bindCmd: `bind PRINCIPAL ROLE [--ns NS] [--resource TYPE/ID]` creates a
// binding; `bind list|get|delete` manage them.
func (a *adm) bindCmd() *cobra.Command {
	var ns, resource, condition, fPrincipal, fRole string
	var lo listOpts
	cmd := &cobra.Command{
		Use:   "bind PRINCIPAL ROLE [--ns NS] [--resource TYPE/ID] | bind list|get|delete",
		Short: "Bind a principal to a role at the org, a namespace or a resource",
		Args:  cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			if len(args) != 2 {
				return badInput("bind PRINCIPAL ROLE: want two arguments (or list, get, delete)")
			}
			var sc authz.Scope
			switch {
			case resource != "":
				ref, err := parseRef(resource, ns)
				if err != nil {
					return err
				}
				sc = authz.Scope{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID}
			case ns != "":
				sc = authz.Scope{Namespace: ns}
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				b, rev, err := cl.c.CreateBinding(cl.ctx, org, client.BindingSpec{Principal: args[0], Role: args[1], Scope: sc, Condition: condition})
				if err != nil {
					return err
				}
				return cl.say(b, "bound %s to %s at %s: binding %s %s", b.Principal, b.Role, scopeText(b.Scope), b.ID, revText(rev))
			})
		},
	}
	cmd.Flags().StringVar(&ns, "ns", "", "namespace scope (default: the whole org)")
	cmd.Flags().StringVar(&resource, "resource", "", "resource scope TYPE/ID (in --ns, default \"default\")")
	cmd.Flags().StringVar(&condition, "condition", "", "named condition that must hold")
	list := &cobra.Command{
		Use: "list", Short: "List bindings", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				l, err := cl.c.ListBindings(cl.ctx, org, client.BindingFilter{Principal: fPrincipal, Role: fRole, Namespace: ns}, lo.opts())
				if err != nil {
					return err
				}
				defer cl.more(l.NextCursor)
				return cl.out(l, bindingHeader, bindingRows(l.Items))
			})
		},
	}
	list.Flags().StringVar(&fPrincipal, "principal", "", "only this principal's")
	list.Flags().StringVar(&fRole, "role", "", "only this role's")
	list.Flags().StringVar(&ns, "ns", "", "only namespace- and resource-scoped bindings in this namespace")
	lo.register(list)
	get := &cobra.Command{
		Use: "get ID", Short: "Show a binding", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				b, err := cl.c.GetBinding(cl.ctx, org, args[0])
				if err != nil {
					return err
				}
				return cl.out(b, bindingHeader, bindingRows([]client.Binding{b}))
			})
		},
	}
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete a binding (escalation rules apply)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.revOp(cmd, "deleted binding "+args[0], func(cl *call, org string) (uint64, error) {
				return cl.c.DeleteBinding(cl.ctx, org, args[0])
			})
		},
	}
	a.f.register(cmd.PersistentFlags())
	cmd.AddCommand(list, get, del)
	return cmd
}

func (a *adm) shareCmd() *cobra.Command {
	var ns string
	var actions []string
	cmd := &cobra.Command{
		Use:   "share TYPE/ID PRINCIPAL --actions run,read [--ns NS]",
		Short: "Share one resource with a principal for an action list (you must hold each action on it)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0], ns)
			if err != nil {
				return err
			}
			if len(actions) == 0 {
				return badInput("--actions is required (e.g. --actions run,read)")
			}
			return a.run(cmd, func(cl *call) error {
				org, err := cl.org()
				if err != nil {
					return err
				}
				b, rev, err := cl.c.Share(cl.ctx, org, ref, args[1], actions)
				if err != nil {
					return err
				}
				return cl.say(b, "shared %s with %s for %s: binding %s %s", scopeText(b.Scope), b.Principal, strings.Join(b.Actions, ","), b.ID, revText(rev))
			})
		},
	}
	cmd.Flags().StringVar(&ns, "ns", "", "the resource's namespace (default \"default\")")
	cmd.Flags().StringSliceVar(&actions, "actions", nil, "actions to share (run,read)")
	return a.leaf(cmd)
}
