package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
)

// gatehouse mcp import|suggest|list: MCP servers and their tools as
// resources (docs/mcp.md).

func (a *adm) mcpCmd() *cobra.Command {
	var ns, server, url, secret, header, format, wait string
	var dryRun bool
	imp := &cobra.Command{
		Use:   "import --server NAME --url URL [-n NS] [--credential-secret S] [--dry-run]",
		Short: "Import an MCP server's tools as resources tools/NAME.TOOL and print what changed",
		Long: `Connects Gatehouse (the server, not this command) to the MCP server at URL,
lists its tools and records mcp_servers/NAME and each tool as tools/NAME.TOOL
in the namespace, in one write. A re-import prints the diff: tools added (+),
removed (-) and changed (~, with the members that changed). --dry-run prints
the diff and writes nothing. --credential-secret names a vault secret of the
namespace that Gatehouse sends upstream (default: Authorization: Bearer
<value>); its value never reaches this command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || url == "" {
				return badInput("--server and --url are required")
			}
			req := client.MCPImportRequest{Name: server, URL: url, WaitForApproval: wait, DryRun: dryRun}
			if secret != "" {
				req.Credential = &client.MCPCredential{Secret: secret, Header: header, Format: format}
			} else if header != "" || format != "" {
				return badInput("--credential-header and --credential-format need --credential-secret")
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				res, err := cl.c.ImportMCPServer(cl.ctx, org, ns, req)
				if err != nil {
					return err
				}
				if cl.machine() {
					return cl.emit(res)
				}
				out := cl.a.e.stdout
				switch {
				case res.DryRun:
					fmt.Fprintf(out, "dry run: MCP server %s in %s has %d tools; nothing written\n", res.Server.Name, res.Server.Namespace, res.Server.Tools)
				case res.Written:
					fmt.Fprintf(out, "imported MCP server %s into %s: %d tools %s\n", res.Server.Name, res.Server.Namespace, res.Server.Tools, revText(res.Revision))
				default:
					fmt.Fprintf(out, "MCP server %s in %s is up to date: %d tools, nothing changed\n", res.Server.Name, res.Server.Namespace, res.Server.Tools)
				}
				for _, t := range res.Diff.Added {
					fmt.Fprintf(out, "+ %s\n", t)
				}
				for _, t := range res.Diff.Removed {
					fmt.Fprintf(out, "- %s\n", t)
				}
				for _, c := range res.Diff.Changed {
					fmt.Fprintf(out, "~ %s (%s)\n", c.Tool, strings.Join(c.Fields, ", "))
				}
				return nil
			})
		},
	}
	addNamespaceFlag(imp, &ns, "default", "namespace of the server and its tools")
	imp.Flags().StringVar(&server, "server", "", "the server's name (a lower-case slug): mcp_servers/NAME, tools/NAME.TOOL")
	imp.Flags().StringVar(&url, "url", "", "the MCP server's streamable HTTP endpoint (http://host:port/mcp)")
	imp.Flags().StringVar(&secret, "credential-secret", "", "vault secret of the namespace Gatehouse sends upstream")
	imp.Flags().StringVar(&header, "credential-header", "", "header the credential goes in (default Authorization)")
	imp.Flags().StringVar(&format, "credential-format", "", "the header's value, {value} standing for the secret (default \"Bearer {value}\")")
	imp.Flags().StringVar(&wait, "wait-for-approval", "", "how long the gateway holds a call that needs approval (\"30s\"; default: answer at once)")
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "print the diff, write nothing")

	var sns, sserver string
	suggest := &cobra.Command{
		Use:   "suggest --server NAME [-n NS]",
		Short: "Print a policy snippet for an imported server's tools: read-only ones for viewers, the others behind ask before",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sserver == "" {
				return badInput("--server is required")
			}
			if err := mcp.CheckServerName(sserver); err != nil {
				return badInput("--server: %v", err)
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				tools := map[string]mcp.ToolSpec{}
				o := &client.ListOptions{PageSize: 1000}
				for {
					page, err := cl.c.ListResources(cl.ctx, org, client.ResourceFilter{Namespace: sns, Type: mcp.ToolType}, o)
					if err != nil {
						return err
					}
					for _, r := range page.Items {
						if !strings.HasPrefix(r.ID, sserver+".") {
							continue
						}
						full, err := cl.c.GetResource(cl.ctx, org, r.Ref())
						if err != nil {
							return err
						}
						var spec mcp.ToolSpec
						if err := json.Unmarshal(full.Spec, &spec); err != nil {
							return fmt.Errorf("tools/%s: the spec is not a tool's: %v", r.ID, err)
						}
						tools[r.ID] = spec
					}
					if page.NextCursor == "" {
						break
					}
					o.Cursor = page.NextCursor
				}
				text := mcp.Suggest(sserver, sns, tools)
				if cl.machine() {
					return cl.emit(map[string]any{"server": sserver, "namespace": sns, "tools": len(tools), "policy": text})
				}
				_, err := fmt.Fprint(cl.a.e.stdout, text)
				return err
			})
		},
	}
	addNamespaceFlag(suggest, &sns, "default", "namespace of the server's tools")
	suggest.Flags().StringVar(&sserver, "server", "", "the server's name")

	var lns string
	list := &cobra.Command{
		Use:   "list [-n NS]",
		Short: "List the namespace's MCP servers with their tool counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inOrg(cmd, func(cl *call, org string) error {
				ss, err := cl.c.ListMCPServers(cl.ctx, org, lns)
				if err != nil {
					return err
				}
				var rows [][]string
				for _, s := range ss {
					cred := "-"
					if s.Credential != nil {
						cred = s.Credential.Secret
					}
					rows = append(rows, []string{s.Name, s.URL, fmt.Sprint(s.Tools), cred, fmt.Sprint(s.Version), admTime(s.UpdatedAt)})
				}
				return cl.out(map[string]any{"items": ss, "next_cursor": ""}, []string{"NAME", "URL", "TOOLS", "CREDENTIAL", "VERSION", "UPDATED"}, rows)
			})
		},
	}
	addNamespaceFlag(list, &lns, "default", "namespace")
	return a.group("mcp", "MCP servers and their tools as resources: import, list, suggest a policy; list and call tools through the gateway", imp, list, suggest, a.mcpToolsCmd(), a.mcpCallCmd())
}
