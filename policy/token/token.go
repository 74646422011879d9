// Package token defines source positions and positioned diagnostics for the
// Gatehouse policy language.
//
// Invariants:
//   - A Pos is 1-based in Line and Col (Col counts bytes, like go/token); the
//     zero Pos is "no position" and prints as just the file name.
//   - Diagnostics sort by file, then line, then column, then message, so
//     output is deterministic whatever order the phases found them in.
package token

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a policy source file.
type Pos struct {
	File   string `json:"file,omitempty"`
	Offset int    `json:"offset"` // byte offset, 0-based
	Line   int    `json:"line"`   // 1-based
	Col    int    `json:"col"`    // 1-based, in bytes
}

// IsValid reports whether the position carries a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String renders file:line:col, omitting what is unknown.
func (p Pos) String() string {
	s := p.File
	if p.IsValid() {
		if s != "" {
			s += ":"
		}
		s += fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	if s == "" {
		s = "-"
	}
	return s
}

// Severity grades a diagnostic.
type Severity int

const (
	// Error makes a policy unusable: it does not compile.
	Error Severity = iota
	// Warning is a lint finding; the policy still compiles.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText renders the severity as "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one positioned finding: a parse or compile error, or a lint
// warning. Code is a stable identifier (e.g. "parse", "unknown-role",
// "agent-rule-not-granted") that tools and tests can match on.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

// Error renders "file:line:col: severity: message (hint)".
func (d Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// List is a list of diagnostics. As an error it reports its errors only;
// warnings never make a List a non-nil error (see Err).
type List []Diagnostic

// Add appends a diagnostic.
func (l *List) Add(pos Pos, sev Severity, code, msg, hint string) {
	*l = append(*l, Diagnostic{Pos: pos, Severity: sev, Code: code, Message: msg, Hint: hint})
}

// Errorf appends an error diagnostic.
func (l *List) Errorf(pos Pos, code, hint, format string, args ...any) {
	l.Add(pos, Error, code, fmt.Sprintf(format, args...), hint)
}

// Warnf appends a warning diagnostic.
func (l *List) Warnf(pos Pos, code, hint, format string, args ...any) {
	l.Add(pos, Warning, code, fmt.Sprintf(format, args...), hint)
}

// Sort orders the list by position, then message.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return l[i].Message < l[j].Message
	})
}

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (l List) Errors() List { return l.filter(Error) }

// Warnings returns only the warning diagnostics.
func (l List) Warnings() List { return l.filter(Warning) }

func (l List) filter(s Severity) List {
	var out List
	for _, d := range l {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Error joins every diagnostic, one per line.
func (l List) Error() string {
	var b strings.Builder
	for i, d := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Err returns the list's errors as an error, or nil when there are none.
// The returned value is a List, so callers can errors.As it back.
func (l List) Err() error {
	errs := l.Errors()
	if len(errs) == 0 {
		return nil
	}
	return errs
}
