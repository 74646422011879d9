package api

import "time"

// MCP servers and their tools as resources (docs/mcp.md): a server is the
// resource mcp_servers/<name> of a namespace, each tool tools/<name>.<tool>.

// ProblemUpstream is the problem type of a failure of an upstream MCP
// server (502): unreachable, refused Gatehouse's credential, not an MCP
// server, or a tool list that cannot be recorded.
const ProblemUpstream = "upstream-failed"

// MCPCredential says which secret of the server's namespace is sent
// upstream, in which header and format ({value} is replaced by the
// secret's value; defaults: Authorization, "Bearer {value}").
type MCPCredential struct {
	Secret string `json:"secret"`
	Header string `json:"header,omitempty"`
	Format string `json:"format,omitempty"`
}

// MCPImportRequest is the body of POST
// /v1/orgs/{org}/namespaces/{namespace}/mcp/servers: connect to the server
// at URL, list its tools, and record the server and its tools (DryRun:
// only answer the diff).
type MCPImportRequest struct {
	Name            string         `json:"name"`
	URL             string         `json:"url"`
	Credential      *MCPCredential `json:"credential,omitempty"`
	WaitForApproval string         `json:"wait_for_approval,omitempty"`
	DryRun          bool           `json:"dry_run,omitempty"`
}

// MCPToolChange is a tool whose spec changed, and which members did
// (title, description, input_schema, output_schema, annotations).
type MCPToolChange struct {
	Tool   string   `json:"tool"`
	Fields []string `json:"fields"`
}

// MCPToolDiff is what an import changes in a server's tools, by the tools'
// names as the upstream spells them.
type MCPToolDiff struct {
	Added   []string        `json:"added"`
	Removed []string        `json:"removed"`
	Changed []MCPToolChange `json:"changed"`
}

// MCPServer is a registered MCP server. Credential is shown only to a
// caller who sees secret references (secrets:list in the namespace).
type MCPServer struct {
	Namespace       string         `json:"namespace"`
	Name            string         `json:"name"`
	URL             string         `json:"url"`
	Credential      *MCPCredential `json:"credential,omitempty"`
	WaitForApproval string         `json:"wait_for_approval,omitempty"`
	// Tools is how many of its tools (tools/<name>.*) the caller may read.
	Tools     int       `json:"tools"`
	Version   uint64    `json:"version"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// MCPImportResult answers an import: the server, the diff, and the
// revision of the write (with DryRun, or when nothing changed, the
// current revision: nothing was written).
type MCPImportResult struct {
	Server   MCPServer   `json:"server"`
	Diff     MCPToolDiff `json:"diff"`
	Revision uint64      `json:"revision"`
	DryRun   bool        `json:"dry_run,omitempty"`
	// Written is false when nothing was written (a dry run, or an import
	// that changed nothing).
	Written bool `json:"written"`
}
