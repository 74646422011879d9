package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/templates"
)

// Dynamic shell completion (`gatehouse completion bash|zsh|fish`): flag
// values and arguments are completed from the server, as the caller would
// see them (the same --server, credential, --org and context as the
// command), within completionTimeout. A completion that cannot ask the
// server completes nothing; it never prints an error into the shell.

const completionTimeout = 3 * time.Second

// completer lists the candidates for one kind of value.
type completer func(cl *call, org string, cmd *cobra.Command) []string

// flagCompleters complete flag values by flag name, wherever the flag is.
var flagCompleters = map[string]completer{
	"org":       nil, // completeOrgs: no org needed
	"namespace": completeNamespaces,
	"ns":        completeNamespaces,
	"role":      completeRoles,
	"parent":    completeRoles,
	"principal": completePrincipals,
	"member":    completePrincipals,
	"runtime":   completeServices,
	"resource":  completeResources,
	"sponsor":   completeUsers,
}

// argCompleters complete a command's arguments, by command path without
// "gatehouse ", one completer per argument position.
var argCompleters = map[string][]completer{
	"check":             {completePrincipals, nil, completeResources},
	"explain":           {completePrincipals, nil, completeResources},
	"what-can":          {completePrincipals},
	"who-can":           {nil, completeResources},
	"bind":              {completePrincipals, completeRoles},
	"share":             {completeResources, completePrincipals},
	"ns get":            {completeNamespaces},
	"ns delete":         {completeNamespaces},
	"member get":        {completeUsers},
	"member set-role":   {completeUsers, completeRoles},
	"member remove":     {completeUsers},
	"team get":          {completeTeams},
	"team rename":       {completeTeams},
	"team delete":       {completeTeams},
	"team add":          {completeTeams, completePrincipals},
	"team remove":       {completeTeams, completePrincipals},
	"role get":          {completeRoles},
	"role update":       {completeRoles},
	"role delete":       {completeRoles},
	"agent get":         {completeAgents},
	"agent update":      {completeAgents},
	"agent delete":      {completeAgents},
	"service get":       {completeServices},
	"service update":    {completeServices},
	"service delete":    {completeServices},
	"resource get":      {completeResources},
	"resource update":   {completeResources},
	"resource delete":   {completeResources},
	"resource versions": {completeResources},
	"resource diff":     {completeResources},
	"resource history":  {completeResources},
	"secret get":        {completeSecrets},
	"secret rotate":     {completeSecrets},
	"secret delete":     {completeSecrets},
	"secret history":    {completeSecrets},
	"secret set":        {completeSecrets},
}

// registerCompletions gives every command of the tree its flag and
// argument completions. It runs once, on the built tree.
func registerCompletions(root *cobra.Command) {
	seen := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if seen[f] {
					return
				}
				seen[f] = true
				switch name := f.Name; {
				case name == "org":
					_ = c.RegisterFlagCompletionFunc(name, dynamic(nil, true))
				case name == "use-context":
					_ = c.RegisterFlagCompletionFunc(name, completeContexts)
				case name == "template":
					_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(templates.Names(), cobra.ShellCompDirectiveNoFileComp))
				case name == "output":
					_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
				case flagCompleters[name] != nil:
					_ = c.RegisterFlagCompletionFunc(name, dynamic(flagCompleters[name], false))
				}
			})
		}
		if cs, ok := argCompleters[strings.TrimPrefix(c.CommandPath(), root.Name()+" ")]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) >= len(cs) || cs[len(args)] == nil {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return dynamic(cs[len(args)], false)(cmd, args, toComplete)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// dynamic is a cobra completion function asking the server with the
// command's own flags; orgs completes org ids (no org needed).
func dynamic(fn completer, orgs bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		a := &adm{e: &env{}}
		a.f.timeout = completionTimeout
		a.f.output = "table"
		for name, dst := range map[string]*string{"server": &a.f.server, "token": &a.f.token, "token-file": &a.f.tokenFile, "org": &a.f.org, "use-context": &a.f.context} {
			if f := cmd.Flag(name); f != nil {
				*dst = f.Value.String()
			}
		}
		var out []string
		_ = a.run(cmd, func(cl *call) error {
			if orgs {
				os, err := cl.c.ListOrgs(cl.ctx)
				for _, o := range os {
					out = append(out, o.ID)
				}
				return err
			}
			org, err := cl.org()
			if err != nil {
				return err
			}
			out = fn(cl, org, cmd)
			return nil
		})
		var match []cobra.Completion
		for _, c := range out {
			if strings.HasPrefix(c, toComplete) {
				match = append(match, c)
			}
		}
		return match, cobra.ShellCompDirectiveNoFileComp
	}
}

// names lists one page (the first 1000) of a list, as strings.
func names[T any](ctx context.Context, page func(context.Context, *client.ListOptions) (client.List[T], error), name func(T) string) []string {
	l, err := page(ctx, &client.ListOptions{PageSize: 1000})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(l.Items))
	for _, it := range l.Items {
		out = append(out, name(it))
	}
	return out
}

// nsOf is the namespace the command is about (its -n), "" for none.
func nsOf(cmd *cobra.Command) string {
	if f := cmd.Flag("namespace"); f != nil {
		return f.Value.String()
	}
	return ""
}

func completeNamespaces(cl *call, org string, _ *cobra.Command) []string {
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Namespace], error) {
		return cl.c.ListNamespaces(ctx, org, o)
	}, func(n client.Namespace) string { return n.Name })
}

func completeRoles(cl *call, org string, _ *cobra.Command) []string {
	rs, _ := cl.c.ListRoles(cl.ctx, org)
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func completeUsers(cl *call, org string, _ *cobra.Command) []string {
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Member], error) {
		return cl.c.ListMembers(ctx, org, o)
	}, func(m client.Member) string { return m.UserID })
}

func completeTeams(cl *call, org string, _ *cobra.Command) []string {
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Team], error) {
		return cl.c.ListTeams(ctx, org, o)
	}, func(t client.Team) string { return t.Slug })
}

func completeAgents(cl *call, org string, _ *cobra.Command) []string {
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Agent], error) {
		return cl.c.ListAgents(ctx, org, o)
	}, func(g client.Agent) string { return g.Name })
}

func completeServices(cl *call, org string, _ *cobra.Command) []string {
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Service], error) {
		return cl.c.ListServices(ctx, org, o)
	}, func(s client.Service) string { return s.Name })
}

// completePrincipals lists users, teams, agents and services as
// principals (user:alice, team:support, ...).
func completePrincipals(cl *call, org string, cmd *cobra.Command) []string {
	var out []string
	for prefix, list := range map[string]completer{"user:": completeUsers, "team:": completeTeams, "agent:": completeAgents, "service:": completeServices} {
		for _, n := range list(cl, org, cmd) {
			out = append(out, prefix+n)
		}
	}
	return out
}

func completeResources(cl *call, org string, cmd *cobra.Command) []string {
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Resource], error) {
		return cl.c.ListResources(ctx, org, client.ResourceFilter{Namespace: nsOf(cmd)}, o)
	}, func(r client.Resource) string { return r.Type + "/" + r.ID })
}

func completeSecrets(cl *call, org string, cmd *cobra.Command) []string {
	ns := firstNonEmpty(nsOf(cmd), "default")
	return names(cl.ctx, func(ctx context.Context, o *client.ListOptions) (client.List[client.Secret], error) {
		return cl.c.ListSecrets(ctx, org, ns, o)
	}, func(s client.Secret) string { return s.Name })
}
