package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestReadmeCLITour runs the README's CLI tour ("The same five questions
// with the CLI") against the demo org: every gatehouse line of the block,
// with the exit code the README promises.
func TestReadmeCLITour(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := readmeBlock(t, string(b), "## The same five questions with the CLI")
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	for _, k := range []string{"GATEHOUSE_SERVER", "GATEHOUSE_URL", "GATEHOUSE_TOKEN", "GATEHOUSE_ORG", "GATEHOUSE_CONTEXT"} {
		t.Setenv(k, "")
	}
	t.Setenv("GATEHOUSE_CLI_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	want := map[string]int{ // the README's promises, line by line
		"gatehouse check user:bob chains:update chains/database-migration -n prod": ExitDeny,
		"gatehouse explain user:carol chains:run chains/ticket-summarizer -n prod": ExitDeny,
	}
	ran := 0
	for _, line := range block {
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "source ") || strings.HasPrefix(line, "go install") {
			continue
		}
		stdin := ""
		if strings.HasPrefix(line, `printf %s "$ALICE_KEY" | `) {
			stdin, line = srv.Demo.Keys["alice"], strings.TrimPrefix(line, `printf %s "$ALICE_KEY" | `)
		}
		if rest, ok := strings.CutPrefix(line, "GATEHOUSE_TOKEN=$BOB_KEY "); ok {
			t.Setenv("GATEHOUSE_TOKEN", srv.Demo.Keys["bob"])
			line = rest
		}
		args := strings.Fields(strings.TrimPrefix(line, "gatehouse "))
		for i, a := range args {
			if a == "http://127.0.0.1:8080" {
				args[i] = srv.URL
			}
		}
		r := run(t, stdin, args...)
		t.Setenv("GATEHOUSE_TOKEN", "")
		if r.code != want[line] {
			t.Errorf("%s: exit %d, want %d\n%s%s", line, r.code, want[line], r.stdout, r.stderr)
		}
		ran++
	}
	if ran < 8 {
		t.Errorf("ran %d lines of the tour", ran)
	}
}

// readmeBlock is the first sh block after heading, one command a line
// (continuations joined), without blank lines and comments.
func readmeBlock(t *testing.T, readme, heading string) []string {
	t.Helper()
	_, block, ok := strings.Cut(readme, heading)
	if !ok {
		t.Fatalf("README lacks %q", heading)
	}
	_, block, _ = strings.Cut(block, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	block = strings.ReplaceAll(block, "\\\n", " ")
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestReadmeOfflineTour runs "Who can run what, without a server" with the
// exit codes its comments promise.
func TestReadmeOfflineTour(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"gatehouse policy check template:mentiko --subject role:viewer --permission chains:run": ExitDeny}
	lines := readmeBlock(t, string(b), "## Who can run what, without a server")
	for _, line := range lines {
		args := strings.Fields(strings.TrimPrefix(line, "gatehouse "))
		for i, a := range args {
			if strings.HasPrefix(a, "examples/") {
				args[i] = "../../" + a
			}
		}
		if r := run(t, "", args...); r.code != want[line] {
			t.Errorf("%s: exit %d, want %d\n%s%s", line, r.code, want[line], r.stdout, r.stderr)
		}
	}
	if len(lines) != 4 {
		t.Errorf("ran %d lines: %q", len(lines), lines)
	}
}
