package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
)

// peersLikeImport is n lines shaped like the peers' facts (bench/cmd/
// peersimport): users of each org, then its shares, bindings and members.
func peersLikeImport(n int) string {
	var b strings.Builder
	for i := range n {
		org := fmt.Sprintf("o%d", i/600)
		switch i % 600 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
			fmt.Fprintf(&b, `{"email":"u%d@peers.test","op":"user.create","org":"%s","role":"member","user":"u%d"}`+"\n", i, org, i)
		default:
			switch i % 10 {
			case 0:
				fmt.Fprintf(&b, `{"op":"member.add","org":"%s","role":"member","user":"u%d"}`+"\n", org, i-7)
			case 1, 2, 3:
				fmt.Fprintf(&b, `{"op":"binding.create","org":"%s","principal":"user:u%d","role":"builder","scope":{"namespace":"ns%d"}}`+"\n", org, i-9, i%7)
			default:
				fmt.Fprintf(&b, `{"actions":["run"],"id":"r%d","namespace":"ns%d","op":"share.create","org":"%s","principal":"user:u%d","type":"chains"}`+"\n", i%997, i%7, org, i-5)
			}
		}
	}
	return b.String()
}

// BenchmarkReadImport: parsing a 20,000-line import, which the import does
// before it sends anything (so the server and the database wait for it).
func BenchmarkReadImport(b *testing.B) {
	in := peersLikeImport(20000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		bs, err := readImport(strings.NewReader(in), "", 1000, 1)
		if err != nil || len(bs) == 0 {
			b.Fatal(err)
		}
	}
}

// readImportSerial is readImport as it was before it decoded on every
// core (branch writes17): one line at a time, in file order. The parallel
// parse must give its answer for every input.
func readImportSerial(r io.Reader, defaultOrg string, size, from int) ([]importBatch, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	var out []importBatch
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if n < from || len(line) == 0 {
			continue
		}
		var l importLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, badInput("line %d: %v", n, err)
		}
		if dec.More() {
			return nil, badInput("line %d: more than one JSON value", n)
		}
		if l.Op == "" {
			return nil, badInput("line %d: \"op\" is required", n)
		}
		org := l.Org
		if org == "" {
			org = defaultOrg
		}
		if k := len(out) - 1; k >= 0 && out[k].org == org && len(out[k].changes) < size {
			out[k].changes = append(out[k].changes, l.WriteChange)
			out[k].lines = append(out[k].lines, n)
			continue
		}
		out = append(out, importBatch{org: org, lines: []int{n}, changes: []client.WriteChange{l.WriteChange}})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, badInput("a line is longer than %d bytes", maxImportLine)
		}
		return nil, badInput("reading: %v", err)
	}
	if len(out) == 0 {
		return nil, badInput("no changes to import")
	}
	return out, nil
}

// failingReader gives its text, then fails.
type failingReader struct{ r io.Reader }

var errDiskGone = errors.New("disk gone")

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errDiskGone
	}
	return n, err
}

// importAnswer is what readImport answers, comparable with cmp.Diff.
type importAnswer struct {
	Batches []importBatchView
	Err     string
}

type importBatchView struct {
	Org     string
	Lines   []int
	Changes []client.WriteChange
}

func answerOf(bs []importBatch, err error) importAnswer {
	var a importAnswer
	if err != nil {
		a.Err = err.Error()
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != ExitBadInput {
			a.Err += " (not bad input)"
		}
	}
	for _, b := range bs {
		a.Batches = append(a.Batches, importBatchView{Org: b.org, Lines: b.lines, Changes: b.changes})
	}
	return a
}

// TestReadImportAsSerial: decoding on every core, in chunks, readImport
// answers what the serial parse answers — the same batches, or the same
// error: the first malformed line in file order even when a later chunk
// has one too (and is decoded first), a line too long or a read error
// only when no line before it is malformed.
func TestReadImportAsSerial(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(peersLikeImport(5*importChunkLines), "\n"), "\n")
	with := func(edits map[int]string) string {
		t.Helper()
		ls := slices.Clone(lines)
		for i, l := range edits {
			ls[i-1] = l // line numbers from 1
		}
		return strings.Join(ls, "\n") + "\n"
	}
	long := `{"op":"namespace.create","namespace":"` + strings.Repeat("x", maxImportLine) + `"}`
	tests := []struct {
		name             string
		in               string
		size, from       int
		readErr, batches bool // wants an error; wants batches
	}{
		{name: "whole file", in: with(nil), size: 1000, from: 1, batches: true},
		{name: "small batches, from a later chunk", in: with(nil), size: 7, from: 2*importChunkLines + 5, batches: true},
		{name: "blank lines and orgs left out", in: with(map[int]string{
			3: "", 1500: "   ", 2049: `{"op":"namespace.create","namespace":"dflt1"}`, 2050: `{"op":"namespace.create","namespace":"dflt2"}`,
		}), size: 1000, from: 1, batches: true},
		{name: "malformed in the last chunk and the first", in: with(map[int]string{
			4 * importChunkLines: `{"op":"namespace.create","nmespace":"x"}`, 10: `{"org":"a","op":"x"}{}`,
		}), size: 1000, from: 1},
		{name: "malformed at a chunk's end and the next one's start", in: with(map[int]string{
			importChunkLines: `{"op":"namespace.create","nmespace":"x"}`, importChunkLines + 1: `not json`,
		}), size: 1000, from: 1},
		{name: "malformed twice in one chunk", in: with(map[int]string{
			importChunkLines + 700: `{"op":""}`, importChunkLines + 3: `not json`,
		}), size: 1000, from: 1},
		{name: "malformed before from is skipped", in: with(map[int]string{
			5: `not json`, 3*importChunkLines + 1: `{"op":"namespace.create","nmespace":"x"}`,
		}), size: 1000, from: 6},
		{name: "malformed before a line too long", in: with(map[int]string{
			2*importChunkLines + 9: `{"op":5}`, 3 * importChunkLines: long,
		}), size: 1000, from: 1},
		{name: "a line too long before a malformed one", in: with(map[int]string{
			2 * importChunkLines: long, 3*importChunkLines + 2: `{"op":5}`,
		}), size: 1000, from: 1},
		{name: "a read error after well-formed lines", in: with(nil), size: 1000, from: 1, readErr: true},
		{name: "a read error after a malformed line", in: with(map[int]string{4*importChunkLines + 1: `[]`}), size: 1000, from: 1, readErr: true},
		{name: "nothing to import", in: "\n \n\n", size: 1000, from: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reader := func() io.Reader {
				if tc.readErr {
					return &failingReader{strings.NewReader(tc.in)}
				}
				return strings.NewReader(tc.in)
			}
			want := answerOf(readImportSerial(reader(), "dflt", tc.size, tc.from))
			got := answerOf(readImport(reader(), "dflt", tc.size, tc.from))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("readImport differs from the serial parse (-serial +readImport):\n%s", diff)
			}
			if (len(want.Batches) > 0) != tc.batches || (want.Err != "") == tc.batches {
				t.Errorf("the case is not what it says: %d batches, error %q", len(want.Batches), want.Err)
			}
		})
	}
}

// FuzzReadImportAsSerial: for any input, readImport answers what the
// serial parse answers.
func FuzzReadImportAsSerial(f *testing.F) {
	f.Add(`{"org":"acme","op":"namespace.create","namespace":"prod"}`+"\n"+`{"op":"x"}`+"\n\n{", 2, 1, 3)
	f.Add(`{"op":"user.create","user":"gina"}`+"\n"+`{"nmespace":"x","op":"y"}`, 1, 1, 1000)
	f.Fuzz(func(t *testing.T, in string, size, from, repeat int) {
		if size < 1 || size > 1000 || from < 1 || from > 5000 || repeat < 1 || repeat > 3000 {
			return
		}
		// Repeated, the input spans several chunks.
		in = strings.Repeat(in+"\n", repeat)
		want := answerOf(readImportSerial(strings.NewReader(in), "dflt", size, from))
		got := answerOf(readImport(strings.NewReader(in), "dflt", size, from))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("readImport differs from the serial parse (-serial +readImport):\n%s", diff)
		}
	})
}
