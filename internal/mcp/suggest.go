package mcp

import (
	"fmt"
	"sort"
	"strings"
)

// Suggest writes a policy snippet for a server's tools (by resource id),
// from their annotations:
//
//   - role <server>_tool_caller sees the server and its tools and calls
//     them; bound on each read-only tool (readOnlyHint) alone — the
//     snippet prints the `gatehouse bind` commands — it lets viewers call
//     exactly those;
//   - role <server>_tool_operator calls every tool of the namespace it is
//     bound in, but a call of any tool that is not on the read-only list
//     (destructiveHint, no hint, or imported after the snippet was made)
//     needs a person's approval (ask before call tools); it approves
//     others' calls.
//
// Each tool gets a comment line. The snippet parses and lints clean on its
// own (a role or condition of the same name in the org's policy must be
// renamed when pasting it).
func Suggest(server, ns string, tools map[string]ToolSpec) string {
	id := strings.ReplaceAll(server, "-", "_")
	ids := make([]string, 0, len(tools))
	width := 0
	for k := range tools {
		ids = append(ids, k)
		width = max(width, len(k))
	}
	sort.Strings(ids)
	var readOnly []string
	var b strings.Builder
	fmt.Fprintf(&b, "# Tools of MCP server %q in namespace %q (tools/%s.*), from their annotations.\n", server, ns, server)
	b.WriteString("# Annotations are the upstream's own claims: review before use.\n#\n")
	for _, k := range ids {
		t := tools[k]
		var what string
		switch {
		case t.ReadOnly():
			what = "read-only (readOnlyHint): viewers may call it"
			readOnly = append(readOnly, k)
		case t.Annotations != nil && t.Annotations.DestructiveHint != nil && *t.Annotations.DestructiveHint:
			what = "destructive (destructiveHint): operators, after approval"
		case t.Destructive():
			what = "no hint (counts as destructive): operators, after approval"
		default:
			what = "writes (not read-only, not destructive): operators, after approval"
		}
		fmt.Fprintf(&b, "#   %-*s  %s\n", width, k, what)
	}
	if len(tools) == 0 {
		b.WriteString("#   (no tools imported yet: run gatehouse mcp import first)\n")
	}
	b.WriteString("\n")
	// The list of read-only tools: any other tool of the namespace, one
	// imported later included, needs an approval.
	quoted := make([]string, len(readOnly))
	for i, k := range readOnly {
		quoted[i] = "'" + celEscape(k) + "'"
	}
	fmt.Fprintf(&b, "condition %s_needs_approval = %q\n\n", id, fmt.Sprintf("!(resource.id in [%s])", strings.Join(quoted, ", ")))

	fmt.Fprintf(&b, "# Sees the server and calls its tools. Bind it on each read-only tool alone:\n")
	if len(readOnly) == 0 {
		b.WriteString("#   (no tool says readOnlyHint: bind it on none)\n")
	}
	for _, k := range readOnly {
		fmt.Fprintf(&b, "#   gatehouse bind team:viewers %s_tool_caller -n %s --resource tools/%s\n", id, ns, k)
	}
	fmt.Fprintf(&b, "role %s_tool_caller level 10 {\n", id)
	b.WriteString("    permission mcp_servers { read }\n")
	b.WriteString("    permission tools { read, call }\n")
	b.WriteString("}\n\n")

	fmt.Fprintf(&b, "# Calls every tool; any tool not on the read-only list after a person's approval\n")
	fmt.Fprintf(&b, "# (another operator's: nobody approves their own call). Bind it in the namespace:\n")
	fmt.Fprintf(&b, "#   gatehouse bind team:operators %s_tool_operator -n %s\n", id, ns)
	fmt.Fprintf(&b, "role %s_tool_operator: %s_tool_caller level 30 {\n", id, id)
	b.WriteString("    permission decisions { approve }\n")
	fmt.Fprintf(&b, "    ask before call tools when %s_needs_approval\n", id)
	b.WriteString("}\n")
	return b.String()
}

// celEscape makes s safe inside a single-quoted CEL string.
func celEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`)
	return r.Replace(s)
}
