package client

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/api"
)

// MCP servers and their tools as resources (docs/mcp.md).
type (
	MCPImportRequest = api.MCPImportRequest
	MCPImportResult  = api.MCPImportResult
	MCPServer        = api.MCPServer
	MCPCredential    = api.MCPCredential
	MCPToolDiff      = api.MCPToolDiff
	MCPToolChange    = api.MCPToolChange
)

func mcpServersPath(org, ns string) string {
	return orgPath(org) + "/namespaces/" + seg(ns) + "/mcp/servers"
}

// ImportMCPServer connects the server to the MCP server at req.URL (with
// the credential of req.Credential from the vault), lists its tools and
// records the server as mcp_servers/<name> and each tool as
// tools/<name>.<tool> in namespace ns, in one write; it answers the diff
// against the stored tools. With req.DryRun nothing is written. An
// upstream that cannot be reached or used is a 502 (problem type
// "upstream-failed").
func (c *Client) ImportMCPServer(ctx context.Context, org, ns string, req MCPImportRequest) (MCPImportResult, error) {
	var out MCPImportResult
	err := c.do(ctx, request{method: http.MethodPost, path: mcpServersPath(org, ns), body: req, idem: write}, &out)
	return out, err
}

// ListMCPServers lists the MCP servers of namespace ns the caller may read,
// with the number of their tools it may read.
func (c *Client) ListMCPServers(ctx context.Context, org, ns string) ([]MCPServer, error) {
	out, err := get[List[MCPServer]](ctx, c, mcpServersPath(org, ns), nil)
	return out.Items, err
}
