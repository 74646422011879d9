package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/mcpgw"
)

// gatehouse mcp tools|call: an MCP client of the gateway
// (docs/mcp-gateway.md), so that a person can see what an agent with the
// same credential would see — the tools it may call, and each call's
// answer: the tool's result, a denial with its explanation (exit 1), or an
// approval to ask for (exit 7). The credential is the CLI's own (--token,
// GATEHOUSE_TOKEN or the context), which may be an agent token minted for
// the endpoint (gatehouse agent token … --audience URL).

// mcpEndpoint is the gateway URL of server in org and namespace ns.
func mcpEndpoint(base, org, ns, server string) string {
	return strings.TrimRight(base, "/") + "/mcp/" + url.PathEscape(org) + "/" + url.PathEscape(ns) + "/" + url.PathEscape(server)
}

// bearerTransport presents the CLI's credential on every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// mcpConnect opens an MCP session with the gateway endpoint of server.
func (a *adm) mcpConnect(cl *call, org, ns, server string) (*sdk.ClientSession, string, error) {
	ep := mcpEndpoint(cl.c.BaseURL(), org, ns, server)
	c := sdk.NewClient(&sdk.Implementation{Name: "gatehouse-cli", Version: Version}, nil)
	s, err := c.Connect(cl.ctx, &sdk.StreamableClientTransport{
		Endpoint:   ep,
		HTTPClient: &http.Client{Transport: bearerTransport{a.token}, Timeout: a.f.timeout},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		return nil, ep, mcpConnectErr(ep, err)
	}
	return s, ep, nil
}

// mcpConnectErr maps a failed connection to the CLI's exit codes: the
// gateway's 401 and 404 are the API's.
func mcpConnectErr(ep string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "401") || strings.Contains(msg, "Unauthorized"):
		return &exitError{code: ExitUnauthenticated, err: fmt.Errorf("%s: 401: the gateway did not accept the credential (an agent token must name this URL as its audience)", ep)}
	case strings.Contains(msg, "404") || strings.Contains(msg, "Not Found"):
		return &exitError{code: ExitNotAllowed, err: fmt.Errorf("%s: 404: no such MCP server for you (org, namespace and server must exist and be yours to see)", ep)}
	case strings.Contains(msg, "403") || strings.Contains(msg, "Forbidden"):
		return &exitError{code: ExitNotAllowed, err: fmt.Errorf("%s: 403: %v", ep, err)}
	}
	return &exitError{code: ExitUnavailable, err: fmt.Errorf("%s: %v", ep, err)}
}

func (a *adm) mcpToolsCmd() *cobra.Command {
	var ns, server string
	cmd := &cobra.Command{
		Use:   "tools --server NAME [-n NS]",
		Short: "List, through the gateway, the tools you (or the agent whose token you pass) may call",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return badInput("--server is required")
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				s, _, err := a.mcpConnect(cl, org, ns, server)
				if err != nil {
					return err
				}
				defer s.Close()
				var tools []*sdk.Tool
				for t, err := range s.Tools(cl.ctx, nil) {
					if err != nil {
						return &exitError{code: ExitUnavailable, err: fmt.Errorf("tools/list: %v", err)}
					}
					tools = append(tools, t)
				}
				var rows [][]string
				for _, t := range tools {
					rows = append(rows, []string{t.Name, toolHints(t), clip(t.Description, 60)})
				}
				return cl.out(map[string]any{"items": tools}, []string{"TOOL", "HINTS", "DESCRIPTION"}, rows)
			})
		},
	}
	addNamespaceFlag(cmd, &ns, "default", "namespace of the server")
	cmd.Flags().StringVar(&server, "server", "", "the MCP server's name (as imported)")
	return cmd
}

func toolHints(t *sdk.Tool) string {
	if t.Annotations == nil {
		return "-"
	}
	var h []string
	if t.Annotations.ReadOnlyHint {
		h = append(h, "read-only")
	}
	if t.Annotations.DestructiveHint != nil && *t.Annotations.DestructiveHint {
		h = append(h, "destructive")
	}
	if len(h) == 0 {
		return "-"
	}
	return strings.Join(h, ",")
}

// clip is the first n runes of s's words (the table stays readable; -o
// json has the whole description).
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

func (a *adm) mcpCallCmd() *cobra.Command {
	var ns, server, args, approval string
	cmd := &cobra.Command{
		Use:   "call TOOL --server NAME [-n NS] [--args JSON] [--approval ID]",
		Short: "Call a tool through the gateway: its result (exit 0), a denial explained (exit 1) or an approval to ask for (exit 7)",
		Long: `Calls TOOL of the MCP server through Gatehouse's gateway, exactly as an agent
with the same credential would: the call is decided as tools:call on
tools/NAME.TOOL with --args as context.input. Exit codes: 0 the tool ran and
succeeded; 1 Gatehouse denied the call (the explanation is printed) or the
tool answered an error; 7 the call needs a person's approval (the approval id
is printed: once it is granted, run the same call again, with the same
--args, and it proceeds once; --approval ID presents it explicitly).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			if server == "" {
				return badInput("--server is required")
			}
			var arguments map[string]any
			if args != "" {
				dec := json.NewDecoder(strings.NewReader(args))
				dec.UseNumber()
				if err := dec.Decode(&arguments); err != nil || dec.More() {
					return badInput("--args: not a JSON object: %s", jsonErrText(err))
				}
			}
			return a.inOrg(cmd, func(cl *call, org string) error {
				s, _, err := a.mcpConnect(cl, org, ns, server)
				if err != nil {
					return err
				}
				defer s.Close()
				p := &sdk.CallToolParams{Name: pos[0], Arguments: arguments}
				if approval != "" {
					p.Meta = sdk.Meta{mcpgw.MetaApprovalID: approval}
				}
				res, err := s.CallTool(cl.ctx, p)
				if err != nil {
					if errors.Is(err, context.DeadlineExceeded) {
						return &exitError{code: ExitUnavailable, err: errors.New("tools/call: timed out")}
					}
					return &exitError{code: ExitUnavailable, err: fmt.Errorf("tools/call: %v", err)}
				}
				return a.printCall(cl, res)
			})
		},
	}
	addNamespaceFlag(cmd, &ns, "default", "namespace of the server")
	cmd.Flags().StringVar(&server, "server", "", "the MCP server's name (as imported)")
	cmd.Flags().StringVar(&args, "args", "", "the call's arguments, a JSON object")
	cmd.Flags().StringVar(&approval, "approval", "", "present a granted approval explicitly (the same call finds it by itself)")
	return cmd
}

func jsonErrText(err error) string {
	if err == nil {
		return "trailing data"
	}
	return err.Error()
}

// printCall prints a call's result and returns its exit code.
func (a *adm) printCall(cl *call, res *sdk.CallToolResult) error {
	var ap map[string]any
	if m, ok := res.Meta[mcpgw.MetaApproval].(map[string]any); ok {
		ap = m
	}
	decision, _ := res.Meta[mcpgw.MetaDecision].(string)
	if cl.machine() {
		if err := cl.emit(res); err != nil {
			return err
		}
	} else {
		out := a.e.stdout
		if res.IsError {
			out = a.e.stderr
		}
		for _, c := range res.Content {
			if t, ok := c.(*sdk.TextContent); ok {
				fmt.Fprintln(out, printable(t.Text))
			} else {
				b, _ := json.Marshal(c)
				fmt.Fprintln(out, string(b))
			}
		}
		if res.StructuredContent != nil && len(res.Content) == 0 {
			b, _ := json.MarshalIndent(res.StructuredContent, "", "  ")
			fmt.Fprintln(out, string(b))
		}
	}
	switch {
	case !res.IsError:
		return nil
	case decision == mcpgw.DecisionApprovalRequired || ap != nil && ap["status"] != "consumed":
		return silentExit(ExitApproval)
	}
	// Gatehouse's denial (decision "deny") or the tool's own error.
	return silentExit(ExitDeny)
}

// printable keeps a tool's text free of terminal control sequences (an
// upstream's text is not trusted): control bytes but newline and tab
// become spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
