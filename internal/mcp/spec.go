// Package mcp records MCP servers and their tools as Gatehouse resources
// (DESIGN §9, docs/mcp.md): an MCP server is the resource
// mcp_servers/<name> of a namespace, each of its tools the resource
// tools/<name>.<tool>; Import connects to the server with the official Go
// SDK's client over streamable HTTP, lists its tools and writes the
// server and the tools in one directory write; Diff says what changed
// since the last import; Suggest writes a policy snippet for the tools.
//
// Invariants:
//
//   - Every write goes through directory.WriteResources: the importer
//     needs mcp_servers:<action> / tools:<action> (or resources:<action>)
//     as for any resource, the server spec's secret reference is vetted as
//     any spec's (secrets:list, the secret's referable_by), every change
//     gets a new spec version and its own audit entry, and the import is
//     all or nothing.
//   - Nothing connects to an upstream before the importer has been
//     authorized to write the server spec that names its URL and
//     credential (a dry run of that write): a caller who could not write
//     the spec cannot make Gatehouse send a secret anywhere.
//   - The credential's value is opened on the server only, added to the
//     upstream requests' header, and never returned, logged or audited;
//     upstream error text is redacted of it before it is answered.
package mcp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/ident"
	"github.com/gatehouse-dev/gatehouse/internal/secretref"
)

// Resource types and the action the gateway checks.
const (
	ServerType = "mcp_servers"
	ToolType   = "tools"
	CallAction = "call" // tools:call on tools/<server>.<tool>
)

// Defaults of a Credential.
const (
	DefaultHeader = "Authorization"
	DefaultFormat = "Bearer {value}"
	valueMark     = "{value}"
)

// MaxWaitForApproval bounds a server's wait_for_approval.
const MaxWaitForApproval = 10 * time.Minute

// Credential says how the value of a secret of the server's namespace is
// sent upstream: in header Header, as Format with {value} replaced.
type Credential struct {
	Secret string `json:"secret"`
	Header string `json:"header,omitempty"`
	Format string `json:"format,omitempty"`
}

// ServerSpec is the spec of an mcp_servers resource. Secrets is the
// vault's spec reference list (docs/secrets.md): it names the credential's
// secret, so that the directory vets the reference on every write.
type ServerSpec struct {
	URL             string      `json:"url"`
	Secrets         []string    `json:"secrets,omitempty"`
	Credential      *Credential `json:"credential,omitempty"`
	WaitForApproval string      `json:"wait_for_approval,omitempty"`
}

// Annotations are a tool's hints as the MCP specification defines them
// (a missing destructiveHint means destructive, for a tool that is not
// read-only).
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    bool   `json:"readOnlyHint"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  bool   `json:"idempotentHint"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// ToolSpec is the spec of a tools resource.
type ToolSpec struct {
	Server       string          `json:"server"`
	Tool         string          `json:"tool"` // the name as the upstream spells it
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	Annotations  *Annotations    `json:"annotations,omitempty"`
}

// ReadOnly reports whether the tool says it does not modify anything.
func (t ToolSpec) ReadOnly() bool { return t.Annotations != nil && t.Annotations.ReadOnlyHint }

// Destructive reports whether the tool may destroy something: it is not
// read-only and does not say destructiveHint false.
func (t ToolSpec) Destructive() bool {
	if t.ReadOnly() {
		return false
	}
	return t.Annotations == nil || t.Annotations.DestructiveHint == nil || *t.Annotations.DestructiveHint
}

// ErrInvalid is the kind of every validation error of this package; an
// *InvalidError names the field.
var ErrInvalid = errors.New("mcp: invalid")

// InvalidError is a bad field of an import request or a spec.
type InvalidError struct {
	Field, Reason string
}

func (e *InvalidError) Error() string   { return fmt.Sprintf("mcp: %s: %s", e.Field, e.Reason) }
func (e *InvalidError) Is(t error) bool { return t == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// CheckServerName validates a server's name: a slug (a lower-case letter,
// then a-z, 0-9, '-' or '_'; at most 63 bytes), so that the gateway path
// /mcp/{org}/{namespace}/{server} and the tool ids <server>.<tool> are
// unambiguous.
func CheckServerName(name string) error {
	if len(name) == 0 || len(name) > 63 || !ident.IsSlug(name) {
		return invalid("name", "%q must be 1 to 63 bytes: a lower-case letter, then a-z, 0-9, '-' or '_'", name)
	}
	return nil
}

// checkURL accepts an absolute http or https URL with a host and without
// user information (a credential belongs in the vault, not in a spec).
func checkURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return invalid(field, "%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return invalid(field, "%q: the scheme must be http or https", s)
	}
	if u.Host == "" {
		return invalid(field, "%q has no host", s)
	}
	if u.User != nil {
		return invalid(field, "the URL must not carry a user or password: name a vault secret with credential instead")
	}
	if u.Fragment != "" {
		return invalid(field, "%q has a fragment", s)
	}
	return nil
}

// normalize fills a credential's defaults and validates it.
func (c *Credential) normalize(field string) error {
	if err := secretref.CheckName(c.Secret); err != nil {
		return invalid(field+".secret", "%v", err)
	}
	if c.Header == "" {
		c.Header = DefaultHeader
	}
	if c.Format == "" {
		c.Format = DefaultFormat
	}
	if !validHeaderName(c.Header) {
		return invalid(field+".header", "%q is not an HTTP header name", c.Header)
	}
	switch strings.ToLower(c.Header) {
	case "host", "content-length", "content-type", "transfer-encoding", "connection", "mcp-session-id", "mcp-protocol-version":
		return invalid(field+".header", "%q is a header the MCP transport sets itself", c.Header)
	}
	if strings.Count(c.Format, valueMark) != 1 {
		return invalid(field+".format", "%q must contain {value} exactly once", c.Format)
	}
	if strings.ContainsAny(c.Format, "\r\n\x00") {
		return invalid(field+".format", "the format must be one line")
	}
	return nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Normalize fills the spec's defaults (the credential's header and format;
// Secrets naming the credential's secret) and validates it.
func (s *ServerSpec) Normalize() error {
	if err := checkURL("url", s.URL); err != nil {
		return err
	}
	if s.Credential != nil {
		if err := s.Credential.normalize("credential"); err != nil {
			return err
		}
		found := false
		for _, n := range s.Secrets {
			found = found || n == s.Credential.Secret
		}
		if !found {
			s.Secrets = append(s.Secrets, s.Credential.Secret)
		}
	}
	if len(s.Secrets) == 0 {
		s.Secrets = nil // "secrets": [] and no member are the same spec
	}
	for i, n := range s.Secrets {
		if err := secretref.CheckName(n); err != nil {
			return invalid(fmt.Sprintf("secrets[%d]", i), "%v", err)
		}
	}
	if s.WaitForApproval != "" {
		d, err := time.ParseDuration(s.WaitForApproval)
		if err != nil || d < 0 || d > MaxWaitForApproval {
			return invalid("wait_for_approval", "%q must be a duration from 0s to %s (\"30s\")", s.WaitForApproval, MaxWaitForApproval)
		}
	}
	return nil
}

// Wait is the server's wait_for_approval (0 when unset; Normalize has
// validated it).
func (s ServerSpec) Wait() time.Duration {
	d, _ := time.ParseDuration(s.WaitForApproval)
	return d
}

// maxSpec bounds a spec ParseServerSpec reads.
const maxSpec = 64 << 10

// ParseServerSpec decodes and validates a stored mcp_servers spec (the
// gateway's reading of it): a JSON object with only the members of
// ServerSpec (unknown members are an error naming them, so that a typo
// such as "credentials" is not silently ignored), whose credential's
// secret is listed in "secrets".
func ParseServerSpec(b []byte) (ServerSpec, error) {
	var s ServerSpec
	if len(b) > maxSpec {
		return s, invalid("spec", "larger than %d bytes", maxSpec)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return ServerSpec{}, invalid("spec", "%v", jsonErr(err))
	}
	if dec.More() {
		return ServerSpec{}, invalid("spec", "trailing data after the JSON object")
	}
	// A stored spec lists its credential's secret in "secrets" (the
	// directory refuses one that does not, so that the reference is
	// vetted); one that does not is refused here too, never completed.
	if c := s.Credential; c != nil && !slices.Contains(s.Secrets, c.Secret) {
		return ServerSpec{}, invalid("credential.secret", "secret %q is not listed in the spec's \"secrets\"", c.Secret)
	}
	if err := s.Normalize(); err != nil {
		return ServerSpec{}, err
	}
	return s, nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must be %s, not %s (at byte %d)", te.Field, te.Type, te.Value, te.Offset)
	}
	return err.Error()
}

// ToolID is the resource id of a server's tool: "<server>.<tool>" when the
// tool's name is 1 to 128 bytes of A-Z, a-z, 0-9, '_', '-' and '.' (the
// names the MCP specification recommends); any other name maps to its
// characters outside that set replaced by '_', cut to 64 bytes, then '~'
// and the first 8 hex digits of the SHA-256 of the name as the upstream
// spells it ("my tool/x" → "my_tool_x~" + 8 hex digits). '~' never
// appears in an unmapped name, so a mapped id never equals an unmapped
// one. The spec keeps the upstream's name in "tool".
func ToolID(server, tool string) string {
	return server + "." + mapToolName(tool)
}

func plainToolName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func mapToolName(s string) string {
	if plainToolName(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(s))
	return b.String() + "~" + hex.EncodeToString(sum[:4])
}

// ParseToolSpec decodes and validates a stored tools spec (the gateway's
// reading of it): a JSON object of ToolSpec's members (others are
// ignored: a tool spec is the upstream's description, which may grow),
// with a server name, the upstream's tool name, and an input schema that
// is a JSON object when present.
func ParseToolSpec(b []byte) (ToolSpec, error) {
	var t ToolSpec
	if len(b) > maxSpec*16 {
		return t, invalid("spec", "larger than %d bytes", maxSpec*16)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&t); err != nil {
		return ToolSpec{}, invalid("spec", "%v", jsonErr(err))
	}
	if dec.More() {
		return ToolSpec{}, invalid("spec", "trailing data after the JSON object")
	}
	if err := CheckServerName(t.Server); err != nil {
		return ToolSpec{}, invalid("server", "%q is not a server name", t.Server)
	}
	if t.Tool == "" {
		return ToolSpec{}, invalid("tool", "the upstream's tool name is required")
	}
	for field, s := range map[string]json.RawMessage{"input_schema": t.InputSchema, "output_schema": t.OutputSchema} {
		if c := canonical(s); c != nil && c[0] != '{' {
			return ToolSpec{}, invalid(field, "must be a JSON object")
		}
	}
	return t, nil
}
