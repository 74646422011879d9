package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/client"
)

// The conventions every command follows (docs/cli.md), in one place so
// that a new command gets them by calling these helpers:
//
//   - exit codes: the table below, and exitCodeOf the one mapping from an
//     SDK error to a code;
//   - -o/--output table|json|yaml (output, emit): JSON and YAML print the
//     API's shapes; a list is {"items": [...], "next_cursor": ...}; a write
//     is {"revision": N, "item": ...};
//   - -n/--namespace (addNamespaceFlag), with --ns kept as a deprecated
//     alias;
//   - --server, --token-file, --org, -o, --timeout (admFlags.register,
//     through adm.group or adm.leaf), the org defaulting to your only one;
//   - one error line: "gatehouse: <status> <title>: <detail> [request <id>]".

// Exit codes. 3 means no usable answer: the server could not be reached,
// timed out, or failed (5xx, 429), or a local store failed.
const (
	ExitOK              = 0
	ExitDeny            = 1 // a decision that denies (decision commands only), a log that does not verify
	ExitBadInput        = 2 // usage, a flag or argument, 400, 413, 415, 422
	ExitUnavailable     = 3 // cannot reach the server, timeout, 429, 5xx
	ExitUnauthenticated = 4 // 401
	ExitNotAllowed      = 5 // 403, 404 (absent or another org's), 410
	ExitConflict        = 6 // 409
	ExitApproval        = 7 // approval_required (decision commands, run): neither an allow nor a plain deny
	// ExitInternal is a local failure (a store, a file); it shares 3.
	ExitInternal = ExitUnavailable
)

// exitCodeOf maps an error to the exit code: an *exitError keeps its
// code, an SDK *client.Error goes by its status (the problem kind's), and
// anything else is a failure to get an answer.
func exitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		return ExitUnavailable
	}
	switch {
	case client.IsUnauthenticated(ce):
		return ExitUnauthenticated
	case client.IsForbidden(ce), client.IsNotFound(ce), client.IsGone(ce):
		return ExitNotAllowed
	case client.IsConflict(ce):
		return ExitConflict
	case client.IsInvalid(ce):
		return ExitBadInput
	}
	return ExitUnavailable
}

// admExit turns an error from the SDK into an *exitError with the code of
// exitCodeOf, rendering an API error in the one format every command
// prints (after "gatehouse: "): "<status> <title>: <detail> [request
// <id>]", the missing permission added when the detail does not name it,
// a policy's diagnostics below.
func admExit(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	code := exitCodeOf(err)
	var ce *client.Error
	if !errors.As(err, &ce) {
		if errors.Is(err, context.DeadlineExceeded) {
			return &exitError{code: code, err: fmt.Errorf("no answer within --timeout: %w", err)}
		}
		return &exitError{code: code, err: err}
	}
	msg := apiErrorText(ce)
	if len(ce.Diagnostics) > 0 {
		var b strings.Builder
		b.WriteString(msg)
		for _, d := range ce.Diagnostics {
			b.WriteString("\n    " + d.String())
		}
		msg = b.String()
	}
	return &exitError{code: code, err: errors.New(msg)}
}

// apiErrorText is an API error's one line: "<status> <title>: <detail>
// [request <id>]".
func apiErrorText(ce *client.Error) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(ce.Status))
	if title := firstNonEmpty(ce.Title, http.StatusText(ce.Status)); title != "" {
		b.WriteString(" " + title)
	}
	if ce.Detail != "" {
		b.WriteString(": " + ce.Detail)
	}
	if ce.MissingPermission != "" && !strings.Contains(ce.Detail, ce.MissingPermission) {
		b.WriteString(" (missing " + ce.MissingPermission + ")")
	}
	if ce.RequestID != "" {
		b.WriteString(" [request " + ce.RequestID + "]")
	}
	return b.String()
}

// output is the -o/--output flag's value.
type output string

// outputFormats are the formats every command with output accepts; a
// command may accept more (policy matrix: markdown; secret get: value).
var outputFormats = []string{"table", "json", "yaml"}

// check accepts the common formats and extra; "text" is an old name of
// "table" and is normalised to it.
func (o *output) check(extra ...string) error {
	if *o == "text" {
		*o = "table"
	}
	for _, a := range append(append([]string{}, outputFormats...), extra...) {
		if string(*o) == a {
			return nil
		}
	}
	return badInput("--output %q: want one of %s", string(*o), strings.Join(append(append([]string{}, outputFormats...), extra...), ", "))
}

// machine reports a structured format (json, yaml).
func (o output) machine() bool { return o == "json" || o == "yaml" }

// emit prints v as JSON or YAML (the same document: YAML is made from
// the JSON encoding, so field names and omitted fields agree).
func (o output) emit(w io.Writer, v any) error {
	if o == "yaml" {
		return writeYAML(w, v)
	}
	return writeJSON(w, v)
}

// addOutputFlag registers -o/--output with default "table".
func addOutputFlag(cmd *cobra.Command, p *output, extra ...string) {
	*p = "table"
	cmd.Flags().VarP(&outputValue{p: p}, "output", "o", strings.Join(append(append([]string{}, outputFormats...), extra...), ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML prints v's JSON encoding as YAML.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(yamlNumbers(doc)); err != nil {
		return err
	}
	return enc.Close()
}

// yamlNumbers replaces json.Numbers by int64 or float64 (YAML would quote
// them as strings, and float64 would print 1e+06 for a revision).
func yamlNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = yamlNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// listOf is how every list prints in JSON and YAML.
func listOf[T any](items []T, next string) api.List[T] {
	if items == nil {
		items = []T{}
	}
	return api.List[T]{Items: items, NextCursor: next}
}

// nsAliasNote says what to use instead of --ns.
const nsAliasNote = "use -n/--namespace"

// addNamespaceFlag registers -n/--namespace into p with default def, and
// --ns, the old name, as a hidden deprecated alias of it that says so on
// stderr. (Not pflag's MarkDeprecated: its notice went to stdout for some
// commands, ahead of -o json's document.)
func addNamespaceFlag(cmd *cobra.Command, p *string, def, usage string) {
	cmd.Flags().StringVarP(p, "namespace", "n", def, usage)
	cmd.Flags().Var(nsAlias{p: p, cmd: cmd}, "ns", "deprecated, "+nsAliasNote)
	_ = cmd.Flags().MarkHidden("ns")
}

// nsAlias is the --ns flag's value: the namespace's, with a notice.
type nsAlias struct {
	p   *string
	cmd *cobra.Command
}

func (v nsAlias) String() string { return *v.p }
func (v nsAlias) Type() string   { return "string" }
func (v nsAlias) Set(s string) error {
	*v.p = s
	fmt.Fprintln(v.cmd.ErrOrStderr(), "gatehouse: --ns is deprecated, "+nsAliasNote)
	return nil
}

// outputValue is a pflag.Value for --output.
type outputValue struct{ p *output }

func newOutputValue(p *output, def string) *outputValue {
	*p = output(def)
	return &outputValue{p: p}
}
func (v *outputValue) String() string     { return string(*v.p) }
func (v *outputValue) Set(s string) error { *v.p = output(s); return nil }
func (v *outputValue) Type() string       { return "format" }
