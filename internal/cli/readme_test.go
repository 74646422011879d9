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
	_, block, ok := strings.Cut(string(b), "## The same five questions with the CLI")
	if !ok {
		t.Fatal("README lacks the CLI tour")
	}
	_, block, _ = strings.Cut(block, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
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
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "source ") || strings.HasPrefix(line, "go install") {
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
