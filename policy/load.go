package policy

import (
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/policy/parser"
	"github.com/gatehouse-dev/gatehouse/policy/token"
)

// ErrInvalid is wrapped by the panic value of MustLoad: the source has at
// least one error diagnostic.
var ErrInvalid = errors.New("invalid policy")

// Load parses, compiles and lints one policy source. The diagnostics of
// all three phases come back merged and sorted; the Model is nil iff any
// of them is an error.
//
// A file with syntax errors is not compiled: the compiler's view of a
// partly parsed file would add errors that are only echoes of the syntax
// errors (as the Go toolchain does not type-check a file that does not
// parse). Likewise Lint runs only on a file that compiled.
func Load(filename string, src []byte, opts LintOptions) (*Model, token.List) {
	f, diags := parser.ParseFile(filename, src)
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags
	}
	m, cd := Compile(f)
	diags = append(diags, cd...)
	if m != nil {
		diags = append(diags, Lint(f, m, opts)...)
	}
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return m, diags
}

// MustLoad is Load with the default LintOptions for sources known to be
// valid — built-in templates and tests. It panics, with an error wrapping
// ErrInvalid and listing the errors, when the source does not compile;
// warnings are ignored. src may be a string or a []byte.
func MustLoad[S ~string | ~[]byte](filename string, src S) *Model {
	m, diags := Load(filename, []byte(src), LintOptions{})
	if m == nil {
		panic(fmt.Errorf("%w %s:\n%v", ErrInvalid, filename, diags.Errors()))
	}
	return m
}
