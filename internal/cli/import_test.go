package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestImport: gatehouse import sends a JSON Lines file in batches, and on
// a failure names the line, imports nothing of its batch and says where to
// resume.
func TestImport(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	org := srv.Demo.Org
	dir := t.TempDir()
	file := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.jsonl",
		`{"org":"`+org+`","op":"namespace.create","namespace":"staging"}`,
		``,
		`{"op":"resource.create","namespace":"staging","type":"chains","id":"nightly"}`,
		`{"org":"`+org+`","op":"user.create","user":"gina","email":"gina@example.com","role":"viewer"}`,
		`{"org":"`+org+`","op":"binding.create","principal":"user:gina","role":"builder","scope":{"namespace":"staging"}}`,
		`{"org":"`+org+`","op":"share.create","namespace":"staging","type":"chains","id":"nightly","principal":"user:carol","actions":["run"]}`,
	)
	failing := file("failing.jsonl",
		`{"org":"`+org+`","op":"namespace.create","namespace":"later"}`,
		`{"org":"`+org+`","op":"namespace.create","namespace":"fine"}`,
		`{"org":"`+org+`","op":"namespace.create","namespace":"staging"}`,
	)
	one := file("one.jsonl", `{"op":"namespace.create","namespace":"single"}`)
	malformed := file("malformed.jsonl",
		`{"org":"`+org+`","op":"namespace.create","namespace":"x"}`,
		`{"org":"`+org+`","op":"namespace.create","nmespace":"x"}`,
	)
	runSteps(t, srv, srv.Demo.Keys, []adminStep{
		{name: "import", as: "alice", args: []string{"import", good, "--batch", "2", "--org", org}, code: 0,
			out: []string{"imported 5 changes in 3 requests"}},
		{name: "imported", as: "alice", args: []string{"bind", "list", "--org", org, "--principal", "user:gina"}, code: 0,
			out: []string{"builder"}},
		{name: "failing batch", as: "alice", args: []string{"import", failing, "--batch", "2"}, code: ExitConflict,
			err: []string{"line 3 (org " + org + ")", "nothing of line 3 was made, 2 changes before it were", "--from 3"}},
		{name: "resume", as: "alice", args: []string{"import", failing, "--from", "4", "--org", org}, code: ExitBadInput,
			err: []string{"no changes to import"}},
		{name: "malformed", as: "alice", args: []string{"import", malformed}, code: ExitBadInput,
			err: []string{"line 2:", "nmespace"}},
		{name: "forbidden", as: "carol", args: []string{"import", good, "--org", org}, code: ExitNotAllowed,
			err: []string{"line 1 (org " + org + ")", "namespaces:create", "nothing of lines 1-6 was made, 0 changes before them were"}},
		{name: "one change in one request", as: "alice", args: []string{"import", one, "--org", org}, code: 0,
			out: []string{"imported 1 change in 1 request in"}},
		{name: "the only line refused", as: "alice", args: []string{"import", one, "--org", org}, code: ExitConflict,
			err: []string{"line 1 (org " + org + "): ", "nothing of line 1 was made, 0 changes before it were; resume with --from 1"}},
	})
}

// FuzzReadImport: any input either parses into batches that hold every
// non-blank line at or after --from exactly once, in file order, each
// batch of one org and at most the batch size, or is refused as bad input;
// it never panics.
func FuzzReadImport(f *testing.F) {
	for _, s := range []string{
		`{"org":"acme","op":"namespace.create","namespace":"prod"}` + "\n",
		`{"op":"user.create","user":"gina","email":"g@example.com","role":"viewer"}` + "\n\n" + `{"org":"b","op":"member.add","user":"x","role":"r"}`,
		`{"org":"acme","op":"share.create","namespace":"p","type":"chains","id":"c","principal":"user:u","actions":["run"]}`,
		`{"op":"x","scope":{"namespace":"p"}}{}`,
		`{"nmespace":"x","op":"y"}`,
		"",
		"\n\n",
	} {
		f.Add(s, 2, 1)
	}
	f.Fuzz(func(t *testing.T, in string, size, from int) {
		if size < 1 || size > 1000 || from < 1 || from > 1000 {
			return
		}
		bs, err := readImport(strings.NewReader(in), "dflt", size, from)
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != ExitBadInput {
				t.Fatalf("error %v is not bad input", err)
			}
			return
		}
		prev := 0
		for _, b := range bs {
			if len(b.changes) == 0 || len(b.changes) > size || len(b.lines) != len(b.changes) || b.org == "" {
				t.Fatalf("malformed batch %+v", b)
			}
			for i, n := range b.lines {
				if n <= prev || n < from {
					t.Fatalf("line %d after %d (from %d)", n, prev, from)
				}
				prev = n
				if b.changes[i].Op == "" {
					t.Fatalf("line %d: a change without op", n)
				}
			}
		}
	})
}
