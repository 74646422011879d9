package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/templates"
	"github.com/google/go-cmp/cmp"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodPolicy = `role viewer level 10 {
    permission chains { read }
}
role operator: viewer level 30 {
    permission chains { run }
}
agent Bot: operator {
    can run chains when business_hours
    must audit chains
}
`

func TestLintExitCodesAndFormat(t *testing.T) {
	good := writeFile(t, "good.policy", goodPolicy)
	warn := writeFile(t, "warn.policy", "role r { permission chains { read } }\nagent A: r {\n    can delete chains\n}\n")
	bad := writeFile(t, "bad.policy", "role r {\n    permission chain* { read }\n}\nrole r2: nope { }\n")

	if r := run(t, "", "policy", "lint", good); r.code != 0 || r.stdout != "" {
		t.Errorf("clean file: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r := run(t, "", "policy", "lint", warn)
	if r.code != 0 || !strings.Contains(r.stdout, warn+":3:5: warning: ") {
		t.Errorf("warnings only: want exit 0 and a positioned warning; got %d %q", r.code, r.stdout)
	}
	r = run(t, "", "policy", "lint", bad, good)
	if r.code != 2 {
		t.Errorf("errors: exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stdout, bad+":2:16: error: ") || !strings.Contains(r.stdout, "partial wildcard") {
		t.Errorf("want the partial wildcard positioned at 2:16, got %q", r.stdout)
	}

	// JSON: a machine-readable list with positions and severities.
	r = run(t, "", "policy", "lint", "--output", "json", bad)
	var page struct {
		Items []struct {
			Pos struct {
				File      string
				Line, Col int
			}
			Severity, Code, Message string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("lint json: %v\n%s", err, r.stdout)
	}
	diags := page.Items
	if r.code != 2 || len(diags) < 1 || diags[0].Pos.Line != 2 || diags[0].Severity != "error" || diags[0].Pos.File != bad {
		t.Errorf("lint json: code %d diags %+v", r.code, diags)
	}
	r = run(t, "", "policy", "lint", "--output", "json", good)
	if strings.Join(strings.Fields(r.stdout), "") != `{"items":[],"next_cursor":""}` {
		t.Errorf("lint json of a clean file = %q, want an empty list", r.stdout)
	}

	// Bad invocations are exit 2 with a message, not a crash.
	for _, args := range [][]string{
		{"policy", "lint"},
		{"policy", "lint", filepath.Join(t.TempDir(), "missing.policy")},
		{"policy", "lint", "--output", "xml", good},
		{"policy", "lint", "--role-names", "shouty", good},
		{"policy", "lint", "template:nope"},
		{"policy", "frobnicate"},
	} {
		if r := run(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: code %d stderr %q, want 2 with a message", args, r.code, r.stderr)
		}
	}
}

func TestLintStdinAndConventionFlags(t *testing.T) {
	src := "role viewerrole { permission Chains { Read } }\n"
	r := run(t, src, "policy", "lint", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "<stdin>:1:") {
		t.Fatalf("stdin lint: %d %q", r.code, r.stdout)
	}
	off := run(t, src, "policy", "lint", "--role-names", "off", "--resource-names", "off", "--action-names", "off", "-")
	if off.code != 0 || strings.Count(off.stdout, "\n") >= strings.Count(r.stdout, "\n") {
		t.Errorf("turning conventions off did not remove warnings:\n%s\nvs\n%s", off.stdout, r.stdout)
	}
}

func TestFmt(t *testing.T) {
	messy := "role  viewer   level 10{permission chains{read,run,}}\n"
	r := run(t, messy, "policy", "fmt", "-")
	if r.code != 0 {
		t.Fatalf("fmt: %d %s", r.code, r.stderr)
	}
	// The output is canonical: formatting it again changes nothing, and
	// it means the same policy.
	again := run(t, r.stdout, "policy", "fmt", "-")
	if again.stdout != r.stdout {
		t.Errorf("fmt is not idempotent:\n%s\nvs\n%s", r.stdout, again.stdout)
	}
	m1 := policy.MustLoad("a", messy)
	m2 := policy.MustLoad("b", r.stdout)
	if diff := cmp.Diff(m1.Roles[0].Permissions, m2.Roles[0].Permissions); diff != "" {
		t.Errorf("fmt changed the meaning (-before +after):\n%s", diff)
	}

	// -d prints a diff that, applied, gives the formatted text; -w writes.
	p := writeFile(t, "m.policy", messy)
	d := run(t, "", "policy", "fmt", "-d", p)
	if d.code != 0 || applyDiff(t, messy, d.stdout) != r.stdout {
		t.Errorf("fmt -d: code %d, diff does not produce the formatted text:\n%s", d.code, d.stdout)
	}
	if w := run(t, "", "policy", "fmt", "-w", p); w.code != 0 || w.stdout != "" {
		t.Fatalf("fmt -w: %d %q %q", w.code, w.stdout, w.stderr)
	}
	if got, _ := os.ReadFile(p); string(got) != r.stdout {
		t.Errorf("fmt -w wrote %q, want %q", got, r.stdout)
	}
	if d := run(t, "", "policy", "fmt", "-d", p); d.stdout != "" {
		t.Errorf("fmt -d on a formatted file printed %q", d.stdout)
	}

	// A file that does not parse: exit 2, positioned error, file untouched.
	bad := "role r { permission chains { read run } }\n"
	bp := writeFile(t, "bad.policy", bad)
	if r := run(t, "", "policy", "fmt", "-w", bp); r.code != 2 || !strings.Contains(r.stderr, bp+":1:") {
		t.Errorf("fmt of a bad file: %d %q", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(bp); string(got) != bad {
		t.Errorf("fmt -w changed a file that does not parse")
	}
}

func TestCheck(t *testing.T) {
	p := writeFile(t, "p.policy", goodPolicy)
	tests := []struct {
		name  string
		args  []string
		code  int
		first string // first line of stdout
	}{
		{"role allowed", []string{"--subject", "role:operator", "--permission", "chains:run"}, 0, "allow"},
		{"inherited", []string{"--subject", "role:operator", "--permission", "chains:read"}, 0, "allow"},
		{"role denied", []string{"--subject", "role:viewer", "--permission", "chains:run"}, 1, "deny"},
		{"unknown action denies", []string{"--subject", "role:viewer", "--permission", "chains:explode"}, 1, "deny"},
		{"agent without its condition", []string{"--subject", "agent:Bot", "--permission", "chains:run"}, 1, "deny"},
		{"agent with flag", []string{"--subject", "agent:Bot", "--permission", "chains:run", "--context", "business_hours=true"}, 0, "allow"},
		{"agent flag must be true", []string{"--subject", "agent:Bot", "--permission", "chains:run", "--context", "business_hours=yes"}, 1, "deny"},
		{"agent ceiling", []string{"--subject", "agent:Bot", "--permission", "chains:delete", "--context", "business_hours=true"}, 1, "deny"},
		{"unknown role", []string{"--subject", "role:ghost", "--permission", "chains:run"}, 2, ""},
		{"unknown agent", []string{"--subject", "agent:Ghost", "--permission", "chains:run"}, 2, ""},
		{"bad subject kind", []string{"--subject", "user:alice", "--permission", "chains:run"}, 2, ""},
		{"malformed permission", []string{"--subject", "role:viewer", "--permission", "chains"}, 2, ""},
		{"partial wildcard", []string{"--subject", "role:viewer", "--permission", "chain*:read"}, 2, ""},
		{"pattern not allowed", []string{"--subject", "role:viewer", "--permission", "chains:*"}, 2, ""},
		{"bad context", []string{"--subject", "role:viewer", "--permission", "chains:read", "--context", "novalue"}, 2, ""},
		{"missing subject", []string{"--permission", "chains:read"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"policy", "check", p}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.first != "" {
				if got, _, _ := strings.Cut(r.stdout, "\n"); got != tt.first {
					t.Errorf("first line %q, want %q", got, tt.first)
				}
			} else if r.stderr == "" {
				t.Errorf("bad input without a message")
			}
		})
	}

	// A policy with errors is bad input too.
	bad := writeFile(t, "bad.policy", "role r: missing { }\n")
	if r := run(t, "", "policy", "check", bad, "--subject", "role:r", "--permission", "a:b"); r.code != 2 || !strings.Contains(r.stderr, bad+":1:") {
		t.Errorf("broken policy: %d %q", r.code, r.stderr)
	}
}

func TestCheckJSON(t *testing.T) {
	p := writeFile(t, "p.policy", goodPolicy)
	r := run(t, "", "policy", "check", p, "--subject", "agent:Bot", "--permission", "chains:run",
		"--context", "business_hours=true", "--output", "json")
	var got struct {
		Allowed     *bool
		Reason      string
		Obligations []struct{ Kind, Text string }
		Advice      []struct{ Kind, Text string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if r.code != 0 || got.Allowed == nil || !*got.Allowed || got.Reason == "" {
		t.Errorf("json check: code %d %+v", r.code, got)
	}
	// The shape a server's check answers (api.RuleOut).
	if diff := cmp.Diff([]struct{ Kind, Text string }{{"must", "must audit chains"}}, got.Obligations); diff != "" {
		t.Errorf("obligations (-want +got):\n%s", diff)
	}
	if len(got.Advice) != 0 {
		t.Errorf("advice: %+v, want none", got.Advice)
	}
}

func TestContextTyping(t *testing.T) {
	ctx, err := parseContext([]string{"a=true", "b=false", "c=42", "d=1.5", "e=hello", "f=", "g=1e3", "h=NaN", "i=0x10"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": true, "b": false, "c": int64(42), "d": 1.5, "e": "hello", "f": "", "g": 1000.0, "h": "NaN", "i": "0x10"}
	if diff := cmp.Diff(want, ctx); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := parseContext([]string{"a=1", "a=2"}); err == nil {
		t.Error("duplicate key accepted")
	}
}

// The matrix of each template, read back from JSON, agrees cell by cell
// with the roles' own permissions, and the seed's rows are all present.
func TestMatrix(t *testing.T) {
	r := run(t, "", "policy", "matrix", "template:mentiko", "--output", "json")
	if r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	var mx policy.Matrix
	if err := json.Unmarshal([]byte(r.stdout), &mx); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range mx.Columns {
		cols = append(cols, c.Name)
	}
	if diff := cmp.Diff([]string{"admin", "builder", "operator", "viewer"}, cols); diff != "" {
		t.Errorf("columns, most powerful first (-want +got):\n%s", diff)
	}
	cells := map[string]string{}
	for _, row := range mx.Rows {
		marks := ""
		for _, c := range row.Cells {
			if c == policy.CellGranted {
				marks += "✓"
			} else {
				marks += "-"
			}
		}
		cells[row.Permission.String()] = marks
	}
	// Seed 002's matrix, row by row (admin builder operator viewer).
	want := map[string]string{
		"chains:create": "✓✓--", "chains:update": "✓✓--", "chains:delete": "✓---",
		"chains:run": "✓✓✓-", "chains:read": "✓✓✓✓", "results:read": "✓✓✓✓",
		"decisions:approve": "✓✓✓-", "secrets:list": "✓✓--", "secrets:read": "✓---",
		"secrets:rotate": "✓---", "audit:read": "✓✓✓✓", "members:*": "✓---",
		"org:*": "✓---", "billing:*": "✓---", "schedules:*": "✓✓--", "data:export": "✓✓✓-",
	}
	for perm, marks := range want {
		if cells[perm] != marks {
			t.Errorf("matrix row %s = %q, seed says %q", perm, cells[perm], marks)
		}
	}

	for _, name := range templates.Names() {
		for _, o := range []string{"table", "markdown"} {
			r := run(t, "", "policy", "matrix", "template:"+name, "-o", o)
			if r.code != 0 || !strings.Contains(r.stdout, "✓") {
				t.Errorf("%s %s: %d %q", name, o, r.code, r.stderr)
			}
		}
	}
	// Agents get a column; conditional cells are marked and explained.
	p := writeFile(t, "p.policy", goodPolicy)
	r = run(t, "", "policy", "matrix", p)
	if !strings.Contains(r.stdout, "Bot (agent: operator)") || !strings.Contains(r.stdout, "✓*") ||
		!strings.Contains(r.stdout, "Bot chains:run: when business_hours") {
		t.Errorf("agent column missing or unexplained:\n%s", r.stdout)
	}
}
