package cli

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestAPIDocExamples runs every curl example of docs/api.md (after the
// README's "Who can run what, in five commands"), as written
// and in order, in one bash shell against a fresh demo server (what a
// newcomer gets from `serve --dev`): the page's own variables, with GH
// pointed at the test server. Every request must succeed (status below
// 400) unless the comment after the example shows the problem it
// answers. A missing Content-Type (415), a path that is no route (404
// "no route"), an undefined variable or a resource the demo lacks all
// fail here rather than for the reader.
func TestAPIDocExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			// CI installs them and sets GATEHOUSE_REQUIRE_DOC_TOOLS=1: there
			// a missing tool is a failure, not a skip counted as a pass.
			if os.Getenv("GATEHOUSE_REQUIRE_DOC_TOOLS") == "1" {
				t.Fatalf("%s not installed (GATEHOUSE_REQUIRE_DOC_TOOLS=1)", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := docCommands("docs/api.md", string(b))
	if len(cmds) < 20 {
		t.Fatalf("found %d commands in docs/api.md", len(cmds))
	}
	// The README's curl tour too, first (it expects the demo untouched).
	if b, err = os.ReadFile("../../README.md"); err != nil {
		t.Fatal(err)
	}
	_, tour, _ := strings.Cut(string(b), "## Who can run what, in five commands")
	tour, _, _ = strings.Cut(tour, "\n## ")
	readme := docCommands("README.md", tour)
	before := strings.Count(string(b[:strings.Index(string(b), tour)]), "\n")
	for i := range readme { // lines of the file, not of the section
		readme[i].line += before
	}
	if len(readme) != 6 {
		t.Fatalf("found %d commands in the README's curl tour, want 6", len(readme))
	}
	cmds = append(readme, cmds...)
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	status := filepath.Join(t.TempDir(), "status")
	var script strings.Builder
	fmt.Fprintf(&script, "export ALICE_KEY=%q BOB_KEY=%q CAROL_KEY=%q STATUS=%q\n",
		srv.Demo.Keys["alice"], srv.Demo.Keys["bob"], srv.Demo.Keys["carol"], status)
	// Each curl appends "<command> <status> <body>" to $STATUS and prints
	// the body as curl -s would.
	script.WriteString(`curl() { local out; out=$(command curl -w '\n%{http_code}' "$@"); printf '%s\n' "${out%$'\n'*}"; printf '%s %s %s\n' "$N" "${out##*$'\n'}" "$(printf %s "${out%$'\n'*}" | tr '\n' ' ')" >>"$STATUS"; }` + "\n")
	for i, c := range cmds {
		text := strings.ReplaceAll(c.text, "http://127.0.0.1:8080", srv.URL)
		fmt.Fprintf(&script, "N=%d\n%s\n", i, text)
	}
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "curl: ") {
		t.Errorf("the examples' shell: %v\n%s", err, out)
	}
	f, err := os.Open(status)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ran := map[int]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var n, code int
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &n, &code); err != nil {
			t.Fatalf("status line %q: %v", sc.Text(), err)
		}
		ran[n] = true
		c := cmds[n]
		switch {
		case code == 0:
			t.Errorf("%s:%d: no answer (curl failed)\n%s\n%s", c.file, c.line, c.text, sc.Text())
		case c.wantProblem != "" && code < 400:
			t.Errorf("%s:%d: status %d, the doc shows problem %s\n%s\n%s", c.file, c.line, code, c.wantProblem, c.text, sc.Text())
		case c.wantProblem == "" && code >= 400:
			t.Errorf("%s:%d: status %d\n%s\n%s", c.file, c.line, code, c.text, sc.Text())
		case c.wantProblem != "" && !strings.Contains(sc.Text(), "/problems/"+c.wantProblem+`"`):
			t.Errorf("%s:%d: want problem %s\n%s\n%s", c.file, c.line, c.wantProblem, c.text, sc.Text())
		}
	}
	for i, c := range cmds {
		if !ran[i] && strings.Contains(c.text, "curl ") {
			t.Errorf("%s:%d: no request made\n%s", c.file, c.line, c.text)
		}
	}
}

type docCommand struct {
	file        string
	line        int
	text        string
	wantProblem string // the problem type the following comment shows, if any
}

var problemComment = regexp.MustCompile(`^# \{"type":"\.\.\./([a-z-]+)"`)

// docCommands are the shell commands of a page's sh blocks: a command is
// a line with its continuations (a trailing backslash, or an open single
// quote). Commands that start or set up a server (go run, gatehouse,
// GATEHOUSE_*=) and `source` are left out: the test provides those.
func docCommands(file, doc string) []docCommand {
	var out []docCommand
	lines := strings.Split(doc, "\n")
	in := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "```") {
			in = !in && strings.TrimPrefix(l, "```") == "sh"
			continue
		}
		if !in || strings.TrimSpace(l) == "" {
			continue
		}
		if strings.HasPrefix(l, "#") {
			if m := problemComment.FindStringSubmatch(l); m != nil && len(out) > 0 {
				out[len(out)-1].wantProblem = m[1]
			}
			continue
		}
		c := docCommand{file: file, line: i + 1, text: l}
		for (strings.HasSuffix(c.text, "\\") || strings.Count(c.text, "'")%2 == 1) && i+1 < len(lines) {
			i++
			c.text += "\n" + lines[i]
		}
		if skip := regexp.MustCompile(`^(go |gatehouse |source |GATEHOUSE_[A-Z_]*=)`); skip.MatchString(c.text) {
			continue
		}
		out = append(out, c)
	}
	return out
}
