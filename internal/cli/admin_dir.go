package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

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
				return cl.report(wrote{o, rev, fmt.Sprintf("created org %s (template %s)", o.ID, o.Template)})
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
				return cl.out(listOf(os, ""), orgHeader, orgRows(os))
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
	rename := writeCmd(a, "rename NAME", "Change the org's display name", 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.RenameOrg(cl.ctx, org, args[0])
		return wrote{rev: rev, line: "renamed org " + org}, err
	})
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
				return cl.report(wrote{rev: rev, line: "deleted org " + args[0]})
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
	create := writeCmd(a, "create NAME", "Create a namespace", 1, func(cl *call, org string, args []string) (wrote, error) {
		n, rev, err := cl.c.CreateNamespace(cl.ctx, org, args[0])
		return wrote{n, rev, "created namespace " + n.Name}, err
	})
	list := listCmd(a, "List namespaces", header, rows, (*client.Client).ListNamespaces)
	get := getCmd(a, "get NAME", "Show a namespace", header, rows, (*client.Client).GetNamespace)
	del := writeCmd(a, "delete NAME", "Delete a namespace (with --cascade also its resources and bindings)", 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.DeleteNamespace(cl.ctx, org, args[0], cascade)
		return wrote{rev: rev, line: "deleted namespace " + args[0]}, err
	})
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
	add := writeCmd(a, "add USER --role ROLE", "Add an existing user to the org with a role at org scope", 1, func(cl *call, org string, args []string) (wrote, error) {
		m, rev, err := cl.c.AddMember(cl.ctx, org, args[0], role)
		return wrote{m, rev, fmt.Sprintf("added %s to %s as %s", m.UserID, org, role)}, err
	})
	add.PreRunE = required("role", &role)
	add.Flags().StringVar(&role, "role", "", "org-scope role")
	var lo listOpts
	list := &cobra.Command{
		Use: "list", Short: "List members with their roles per scope (their direct bindings; needs bindings:read for the roles)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				l, err := cl.c.ListMembers(cl.ctx, org, lo.opts())
				if err != nil {
					return err
				}
				ms, err := membersWithRoles(cl, org, l.Items)
				if err != nil {
					return err
				}
				var rs [][]string
				for _, m := range ms {
					rs = append(rs, []string{m.UserID, rolesText(m.Roles), admTime(m.CreatedAt)})
				}
				defer cl.more(l.NextCursor)
				return cl.out(listOf(ms, l.NextCursor), []string{"USER", "ROLES", "SINCE"}, rs)
			})
		},
	}
	lo.register(list)
	get := getCmd(a, "get USER", "Show a membership", header, rows, (*client.Client).GetMember)
	setRole := writeCmd(a, "set-role USER ROLE", "Replace a member's org-scope role (escalation rules apply)", 2, func(cl *call, org string, args []string) (wrote, error) {
		b, rev, err := cl.c.SetMemberRole(cl.ctx, org, args[0], args[1])
		return wrote{b, rev, fmt.Sprintf("%s is now %s in %s", args[0], b.Role, org)}, err
	})
	remove := writeCmd(a, "remove USER", "Remove a member with its bindings", 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.RemoveMember(cl.ctx, org, args[0])
		return wrote{rev: rev, line: "removed " + args[0] + " from " + org}, err
	})
	return a.group("member", "Manage the org's members", add, list, get, setRole, remove)
}

// memberRoles is a member with the roles its direct bindings give it, per
// scope (-o json: "roles": [{"role": "owner", "scope": "org"}]).
type memberRoles struct {
	client.Member
	Roles []scopedRole `json:"roles"`
}

type scopedRole struct {
	Role  string `json:"role"`
	Scope string `json:"scope"`
}

// membersWithRoles adds each member's direct bindings' roles (not those
// of its teams). Without bindings:read the roles are left out, with a
// note on stderr.
func membersWithRoles(cl *call, org string, ms []client.Member) ([]memberRoles, error) {
	out := make([]memberRoles, 0, len(ms))
	for _, m := range ms {
		mr := memberRoles{Member: m, Roles: []scopedRole{}}
		bs, err := allPages(func(o *client.ListOptions) (client.List[client.Binding], error) {
			return cl.c.ListBindings(cl.ctx, org, client.BindingFilter{Principal: "user:" + m.UserID}, o)
		})
		if client.IsForbidden(err) {
			fmt.Fprintln(cl.a.e.stderr, "gatehouse: roles not shown: listing bindings needs bindings:read")
			for _, m := range ms[len(out):] {
				out = append(out, memberRoles{Member: m})
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if b.Role != "" {
				mr.Roles = append(mr.Roles, scopedRole{Role: b.Role, Scope: scopeText(b.Scope)})
			}
		}
		out = append(out, mr)
	}
	return out, nil
}

// rolesText renders roles as "owner@org builder@ns/dev" ("?" unknown).
func rolesText(rs []scopedRole) string {
	if rs == nil {
		return "?"
	}
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, r.Role+"@"+r.Scope)
	}
	return strings.Join(parts, " ")
}

func (a *adm) inviteCmd() *cobra.Command {
	var role, userID, name string
	create := &cobra.Command{
		Use: "create EMAIL --role ROLE", Short: "Invite an email address with a role; prints the one-time token", Args: cobra.ExactArgs(1),
		PreRunE: required("role", &role),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
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
	list := listCmd(a, "List the org's invitations", []string{"ID", "EMAIL", "ROLE", "INVITED BY", "EXPIRES", "STATE"}, invitationRows,
		(*client.Client).ListInvitations)
	revoke := deleteCmd(a, "revoke ID", "Revoke a pending invitation", "revoked invitation", (*client.Client).RevokeInvitation)
	accept := &cobra.Command{
		Use: "accept", Short: "Accept an invitation (token from stdin)", Args: cobra.NoArgs,
		Long: `Accept an invitation. The invitation token is read from stdin (never an argument, so it stays out of shell history).

Without a configured credential it accepts anonymously: it creates a new user with the invited
email and prints a session token for that user (an invitation for the email of an existing
user is refused: that user must accept it signed in). With a user's own credential (a personal
key or a session, from --token or GATEHOUSE_TOKEN) it adds the membership for that user, whose
email must be the invited one, and prints no token.`,
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
				acc, err := cl.c.AcceptInvitation(cl.ctx, client.AcceptRequest{Token: tok, UserID: userID, DisplayName: name})
				if err != nil {
					return err
				}
				if acc.Session == nil {
					return cl.say(acc, "welcome %s: member of %s as %s %s", acc.User.ID, acc.Org, acc.Role, revText(acc.Revision))
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

func invitationRows(is []client.Invitation) [][]string {
	var rows [][]string
	for _, v := range is {
		state := "pending"
		switch {
		case !v.AcceptedAt.IsZero():
			state = "accepted by " + v.AcceptedBy
		case !v.RevokedAt.IsZero():
			state = "revoked"
		}
		rows = append(rows, []string{v.ID, v.Email, v.Role, v.InvitedBy, admTime(v.ExpiresAt), state})
	}
	return rows
}

// required is the PreRunE of a verb whose string flag name must be set.
func required(name string, v *string) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		if *v == "" {
			return badInput("--%s is required", name)
		}
		return nil
	}
}

func (a *adm) teamCmd() *cobra.Command {
	var name string
	var members []string
	create := writeCmd(a, "create SLUG", "Create a team", 1, func(cl *call, org string, args []string) (wrote, error) {
		t, rev, err := cl.c.CreateTeam(cl.ctx, org, client.CreateTeamRequest{Slug: args[0], Name: name, Members: members})
		return wrote{t, rev, "created team " + t.Slug}, err
	})
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringSliceVar(&members, "member", nil, "initial member principal (user:alice), repeatable")
	list := listCmd(a, "List teams", []string{"TEAM", "NAME", "CREATED"}, func(ts []client.Team) [][]string {
		var rows [][]string
		for _, t := range ts {
			rows = append(rows, []string{t.Slug, t.Name, admTime(t.CreatedAt)})
		}
		return rows
	}, (*client.Client).ListTeams)
	get := getCmd(a, "get SLUG", "Show a team with its members", []string{"TEAM", "NAME", "MEMBERS"}, func(ts []client.Team) [][]string {
		return [][]string{{ts[0].Slug, ts[0].Name, strings.Join(ts[0].Members, ",")}}
	}, (*client.Client).GetTeam)
	rename := writeCmd(a, "rename SLUG NAME", "Change a team's display name", 2, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.RenameTeam(cl.ctx, org, args[0], args[1])
		return wrote{rev: rev, line: "renamed team " + args[0]}, err
	})
	del := deleteCmd(a, "delete SLUG", "Delete a team and every binding naming it", "deleted team", (*client.Client).DeleteTeam)
	add := writeCmd(a, "add SLUG PRINCIPAL", "Add a user, agent or service to a team", 2, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.AddTeamMember(cl.ctx, org, args[0], args[1])
		return wrote{rev: rev, line: "added " + args[1] + " to team " + args[0]}, err
	})
	remove := writeCmd(a, "remove SLUG PRINCIPAL", "Remove a principal from a team", 2, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.RemoveTeamMember(cl.ctx, org, args[0], args[1])
		return wrote{rev: rev, line: "removed " + args[1] + " from team " + args[0]}, err
	})
	return a.group("team", "Manage teams", create, list, get, rename, del, add, remove)
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
			return a.inOrg(cmd, func(cl *call, org string) error {
				rs, err := cl.c.ListRoles(cl.ctx, org)
				if err != nil {
					return err
				}
				return cl.out(listOf(rs, ""), header, rows(rs))
			})
		},
	}
	get := getCmd(a, "get ROLE", "Show a role", header, rows, (*client.Client).GetRole)
	var spec client.RoleSpec
	create := writeCmd(a, "create ROLE --level N --permission TYPE:ACTION...", "Create a custom role (no higher, and no more, than yours)", 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.CreateRole(cl.ctx, org, spec)
		return wrote{rev: rev, line: "created role " + args[0]}, err
	})
	update := writeCmd(a, "update ROLE --level N --permission TYPE:ACTION...", "Redefine a custom role", 1, func(cl *call, org string, args []string) (wrote, error) {
		rev, err := cl.c.UpdateRole(cl.ctx, org, spec)
		return wrote{rev: rev, line: "updated role " + args[0]}, err
	})
	for _, c := range []*cobra.Command{create, update} {
		c.PreRunE = func(_ *cobra.Command, args []string) error {
			if len(perms) == 0 {
				return badInput("--permission is required (e.g. --permission chains:run)")
			}
			spec = client.RoleSpec{Name: args[0], Level: level, Parents: parents, Permissions: perms}
			return nil
		}
		c.Flags().IntVar(&level, "level", 0, "level 0..100")
		c.Flags().StringSliceVar(&parents, "parent", nil, "parent role, repeatable")
		c.Flags().StringSliceVar(&perms, "permission", nil, "permission pattern (chains:run, tickets:*), repeatable")
	}
	del := deleteCmd(a, "delete ROLE", "Delete a custom role (refused while bound)", "deleted role", (*client.Client).DeleteRole)
	return a.group("role", "Manage roles", list, get, create, update, del)
}

func bindingRows(bs []client.Binding) [][]string {
	var rows [][]string
	for _, b := range bs {
		grant := b.Role
		if grant == "" {
			grant = "actions:" + strings.Join(b.Actions, ",")
		}
		rows = append(rows, []string{b.ID, b.Principal, grant, scopeText(b.Scope), b.Condition, b.CreatedBy, admTime(b.ExpiresAt)})
	}
	return rows
}

var bindingHeader = []string{"ID", "PRINCIPAL", "ROLE", "SCOPE", "CONDITION", "BY", "EXPIRES"}

// bindCmd: `bind PRINCIPAL ROLE [-n NS] [--resource TYPE/ID]` creates a
// binding; `bind list|get|delete` manage them.
func (a *adm) bindCmd() *cobra.Command {
	var ns, resource, condition, fPrincipal, fRole string
	var dryRun bool
	var life lifetimeFlags
	cmd := &cobra.Command{
		Use:   "bind PRINCIPAL ROLE [-n NS] [--resource TYPE/ID] [--for 2h | --until TIME] [--dry-run] | bind list|get|delete",
		Short: "Bind a principal to a role at the org, a namespace or a resource",
		Args:  cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			if len(args) != 2 {
				return badInput("bind PRINCIPAL ROLE: want two arguments (or list, get, delete)")
			}
			var sc client.Scope
			switch {
			case resource != "":
				ref, err := parseRef(resource, ns)
				if err != nil {
					return err
				}
				sc = client.Scope(ref)
			case ns != "":
				sc = client.Scope{Namespace: ns}
			}
			lt, err := life.lifetime()
			if err != nil {
				return err
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				spec := client.BindingSpec{Principal: args[0], Role: args[1], Scope: sc, Condition: condition, Lifetime: lt}
				if dryRun {
					return bindDryRun(cl, org, spec)
				}
				b, rev, err := cl.c.CreateBinding(cl.ctx, org, spec)
				if err != nil {
					return err
				}
				return cl.report(wrote{b, rev, fmt.Sprintf("bound %s to %s at %s%s: binding %s", b.Principal, b.Role, scopeText(b.Scope), untilText(b.ExpiresAt), b.ID)})
			})
		},
	}
	addNamespaceFlag(cmd, &ns, "", "namespace scope (default: the whole org)")
	cmd.Flags().StringVar(&resource, "resource", "", "resource scope TYPE/ID (in -n, default \"default\")")
	cmd.Flags().StringVar(&condition, "condition", "", "named condition that must hold")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what the binding would grant (who gains what, where) without creating it")
	life.register(cmd.Flags())
	list := listCmd(a, "List bindings", bindingHeader, bindingRows,
		func(c *client.Client, ctx context.Context, org string, o *client.ListOptions) (client.List[client.Binding], error) {
			return c.ListBindings(ctx, org, client.BindingFilter{Principal: fPrincipal, Role: fRole, Namespace: ns}, o)
		})
	list.Flags().StringVar(&fPrincipal, "principal", "", "only this principal's")
	list.Flags().StringVar(&fRole, "role", "", "only this role's")
	addNamespaceFlag(list, &ns, "", "only namespace- and resource-scoped bindings in this namespace")
	get := getCmd(a, "get ID", "Show a binding", bindingHeader, bindingRows, (*client.Client).GetBinding)
	del := deleteCmd(a, "delete ID", "Delete a binding (escalation rules apply)", "deleted binding", (*client.Client).DeleteBinding)
	a.f.register(cmd.PersistentFlags())
	cmd.AddCommand(list, get, del)
	return cmd
}

func (a *adm) shareCmd() *cobra.Command {
	var ns string
	var actions []string
	var ref client.ResourceRef
	var life lifetimeFlags
	var lt client.Lifetime
	cmd := writeCmd(a, "share TYPE/ID PRINCIPAL --actions run,read [-n NS] [--for 30m | --until TIME]",
		"Share one resource with a principal, or with every holder of a role (role:NAME), for an action list (you must hold each action on it)", 2,
		func(cl *call, org string, args []string) (wrote, error) {
			b, rev, err := cl.c.ShareFor(cl.ctx, org, ref, args[1], actions, lt)
			return wrote{b, rev, fmt.Sprintf("shared %s with %s for %s%s: binding %s", scopeText(b.Scope), b.Principal, strings.Join(b.Actions, ","), untilText(b.ExpiresAt), b.ID)}, err
		})
	cmd.PreRunE = func(_ *cobra.Command, args []string) (err error) {
		if ref, err = parseRef(args[0], ns); err != nil {
			return err
		}
		if len(actions) == 0 {
			return badInput("--actions is required (e.g. --actions run,read)")
		}
		lt, err = life.lifetime()
		return err
	}
	life.register(cmd.Flags())
	addNamespaceFlag(cmd, &ns, "", "the resource's namespace (default \"default\")")
	cmd.Flags().StringSliceVar(&actions, "actions", nil, "actions to share (run,read)")
	return a.leaf(cmd)
}
