package server

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/mcp"
	"github.com/gatehouse-dev/gatehouse/internal/vault"
)

// MCP servers and their tools as resources (issue 16; docs/mcp.md): thin
// adapters to internal/mcp, whose writes go through the directory
// (mcp_servers:<action> and tools:<action>, or resources:<action>; the
// credential's secret reference vetted as any spec's). The upstream
// credential's value is opened only after the caller was authorized to
// write the spec naming it, and never answered.

const mcpServersPath = "/v1/orgs/{org}/namespaces/{namespace}/mcp/servers"

// mcpImporter is the importer over the server's directory and vault.
func (s *Server) mcpImporter() *mcp.Importer {
	im := &mcp.Importer{Dir: s.dir, Client: s.mcpClient, Timeout: mcpUpstreamTimeout}
	if s.vault != nil {
		im.Open = func(ctx context.Context, actor directory.Actor, org string, server authz.ResourceRef, name string) ([]byte, error) {
			return s.vault.OpenForUse(ctx, vault.Actor(actor), org, server, name)
		}
	}
	return im
}

// mcpUpstreamTimeout bounds connecting to and listing an upstream: less
// than the default request timeout, so that a slow upstream is answered
// as what it is (502), not as a timeout of the whole request.
const mcpUpstreamTimeout = 10 * time.Second

// mcpErr maps the mcp package's errors to problems: a bad field is 400
// naming it, an upstream failure 502 with its answerable message (for a
// failure to connect, one fixed text: mcp.Unreachable); the upstream's
// cause goes to the server's log only.
func (c *call) mcpErr(err error) error {
	var ie *mcp.InvalidError
	if errors.As(err, &ie) {
		return invalidField(ie.Field, "%s", ie.Reason)
	}
	var ue *mcp.UpstreamError
	if errors.As(err, &ue) {
		if ue.Cause != "" {
			c.s.log.Warn("mcp: upstream failed", "org", c.org(), "url", ue.URL, "request_id", c.reqID, "cause", ue.Cause)
		}
		return problem(ProblemUpstream, "%s", ue.Error())
	}
	return err
}

func apiMCPCredential(c *mcp.Credential) *api.MCPCredential {
	if c == nil {
		return nil
	}
	return &api.MCPCredential{Secret: c.Secret, Header: c.Header, Format: c.Format}
}

func apiMCPServer(info mcp.ServerInfo) api.MCPServer {
	r := info.Resource
	return api.MCPServer{Namespace: r.Namespace, Name: r.ID, URL: info.Spec.URL, Credential: apiMCPCredential(info.Spec.Credential),
		WaitForApproval: info.Spec.WaitForApproval, Tools: info.Tools, Version: r.Version, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
}

func (s *Server) mcpRoutes() []*Route {
	return []*Route{
		route("POST", mcpServersPath, "mcp", "Import an MCP server's tools: connect to it (streamable HTTP, with the credential from the vault when given), list its tools and record mcp_servers/<name> and each tool as tools/<name>.<tool> in one write (mcp_servers and tools create/update/delete, or resources:*; a credential needs secrets:list and the secret's referable_by). Answers the diff against the stored tools; dry_run writes nothing. 502 when the upstream fails.",
			func(c *call, req *api.MCPImportRequest) (api.MCPImportResult, error) {
				var cred *mcp.Credential
				if req.Credential != nil {
					cred = &mcp.Credential{Secret: req.Credential.Secret, Header: req.Credential.Header, Format: req.Credential.Format}
				}
				res, err := s.mcpImporter().Import(c.ctx, c.actor(), c.org(), mcp.Request{
					Namespace: c.path("namespace"), Name: req.Name, URL: req.URL, Credential: cred,
					WaitForApproval: req.WaitForApproval, DryRun: req.DryRun,
				})
				if err != nil {
					return api.MCPImportResult{}, c.mcpErr(err)
				}
				d := api.MCPToolDiff{Added: res.Diff.Added, Removed: res.Diff.Removed, Changed: make([]api.MCPToolChange, len(res.Diff.Changed))}
				for i, ch := range res.Diff.Changed {
					d.Changed[i] = api.MCPToolChange{Tool: ch.Tool, Fields: ch.Fields}
				}
				return api.MCPImportResult{
					Server:   apiMCPServer(mcp.ServerInfo{Resource: res.Server, Spec: res.Spec, Tools: res.Tools}),
					Diff:     d,
					Revision: res.Rev,
					DryRun:   req.DryRun,
					Written:  res.Wrote,
				}, nil
			}).perm("mcp_servers:create"),
		route("GET", mcpServersPath, "mcp", "List the namespace's MCP servers you may read (mcp_servers:read or resources:read), each with the number of its tools you may read; the credential only with secrets:list.",
			func(c *call, _ *noBody) (List[api.MCPServer], error) {
				infos, err := s.mcpImporter().List(c.ctx, c.actor(), c.org(), c.path("namespace"))
				if err != nil {
					return List[api.MCPServer]{}, c.mcpErr(err)
				}
				return listOf(each(infos, apiMCPServer), ""), nil
			}),
	}
}
