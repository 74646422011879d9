// Package templates holds Gatehouse's built-in role sets as policy-language
// files: letta, zyeta, mentiko and agent-platform (the default). Each
// reproduces its seed's permission matrix exactly (DESIGN §4).
//
// Invariants: every embedded template compiles without errors; a compiled
// template is built once and shared (policy.Model is immutable); the top
// role of every template holds every permission Gatehouse itself checks
// (roles can never be widened past what someone holds, DESIGN §1.2), and
// a declared resource type lists every action the server checks on it
// (admin_test.go reads those checks from the code).
package templates

import (
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/policy"
)

//go:embed *.policy
var files embed.FS

// Default is the template an org gets when none is named.
const Default = "agent-platform"

// ErrUnknown is returned for a template name that does not exist.
var ErrUnknown = errors.New("unknown template")

// Names lists the built-in templates, sorted.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".policy"))
	}
	sort.Strings(names)
	return names
}

// FileName is the name positions in a template's diagnostics refer to.
func FileName(name string) string { return "template:" + name }

// Source returns a template's policy text.
func Source(name string) ([]byte, error) {
	b, err := files.ReadFile(name + ".policy")
	if err != nil {
		return nil, fmt.Errorf("%w %q (have %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return b, nil
}

var cache sync.Map // name → *compiled

type compiled struct {
	once  sync.Once
	model *policy.Model
	err   error
}

// Model returns a template compiled, building it once per process.
func Model(name string) (*policy.Model, error) {
	src, err := Source(name)
	if err != nil {
		return nil, err
	}
	v, _ := cache.LoadOrStore(name, &compiled{})
	c := v.(*compiled)
	c.once.Do(func() {
		m, diags := policy.Load(FileName(name), src, LintOptions())
		if err := diags.Err(); err != nil {
			c.err = fmt.Errorf("template %s does not compile: %w", name, err)
			return
		}
		c.model = m
	})
	return c.model, c.err
}

// LintOptions are the lint settings templates are checked with: the
// templates follow their seeds' own naming (lower-case roles for Mentiko,
// PascalCase for Letta and Zyeta), so naming is left to "auto".
func LintOptions() policy.LintOptions { return policy.LintOptions{} }
