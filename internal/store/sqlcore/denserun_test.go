package sqlcore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// peersRun is a run of a bulk write as the peers' load makes them: n
// pairs of a member.put and a binding.put (increasing binding ids), one
// org, one author, one time.
func peersRun(tb testing.TB, n int) []store.Change {
	tb.Helper()
	at := time.Date(2026, 12, 7, 18, 35, 59, 840656000, time.UTC)
	var out []store.Change
	for i := range n {
		user := fmt.Sprintf("u%d", 14863+i*7)
		m, err := json.Marshal(store.Member{Org: "o48", UserID: user, CreatedAt: at})
		if err != nil {
			tb.Fatal(err)
		}
		b := store.Binding{Binding: authz.Binding{ID: newBindingID(), Principal: "user:" + user, Role: "member"}, Org: "o48", CreatedBy: "user:loader", CreatedAt: at}
		p, err := appendBindingPayload(nil, b)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out,
			store.Change{Kind: store.KindMemberPut, Key: "user:" + user, Payload: m},
			store.Change{Kind: store.KindBindingPut, Key: b.ID, Payload: p})
	}
	return out
}

// runOf is a run of (kind, key, payload) triples.
func runOf(kkp ...string) []store.Change {
	var out []store.Change
	for i := 0; i+2 < len(kkp); i += 3 {
		out = append(out, store.Change{Kind: store.Kind(kkp[i]), Key: kkp[i+1], Payload: json.RawMessage(kkp[i+2])})
	}
	return out
}

func runChanges(cs []store.Change) []runChange {
	out := make([]runChange, 0, len(cs))
	for _, c := range cs {
		out = append(out, runChange{Kind: string(c.Kind), Key: c.Key, Payload: c.Payload})
	}
	return out
}

// TestDenseRunRoundTrip: a dense run row's payload decodes to exactly the
// kinds, keys and payload bytes encodeDenseRun was given, and is valid
// JSON (PostgreSQL's column is json) and valid UTF-8 when they are.
func TestDenseRunRoundTrip(t *testing.T) {
	many := runOf()
	for i := range 20 { // more kinds than the encoder tracks without allocating
		many = append(many, runOf(fmt.Sprintf("k%d.put", i%11), fmt.Sprintf("key%d", i), fmt.Sprintf(`{"i":%d}`, i))...)
	}
	tests := []struct {
		name    string
		changes []store.Change
	}{
		{"one change", runOf("binding.put", "b1", `{"id":"b1"}`)},
		{"peers' bulk write", peersRun(t, 50)},
		{"escapes and quotes", runOf(
			"resource.put", "n/chains/c1", `{"spec":{"a":"}{][\"\\","b":[{"c":"\u003c"}]},"x":"\\"}`,
			"resource.put", "n/chains/c2", `{"spec":{"a":"}{][\"\\\n","b":[{"c":"\u003e"}]},"x":"\\\""}`,
			"resource.put", "n/chains/c3", "{\"raw\":\"\x01\x1f\t\n\x7f\"}")},
		{"unicode cut inside a character", runOf(
			"member.put", "user:é", `{"a":"é","b":"日本"}`,
			"member.put", "user:è", `{"a":"è","b":"日本語"}`,
			"member.put", "user:èé", `{"a":"è","b":"日本"}`,
			"member.put", "user:\u2028", `{"a":"𝄞\u2028","b":"𝄢"}`)},
		{"empty and equal payloads", runOf(
			"binding.delete", "", ``,
			"binding.delete", "", ``,
			"binding.delete", "x", `{}`,
			"binding.delete", "x", `{}`,
			"binding.delete", "", ``)},
		{"payload within its predecessor", runOf(
			"team.put", "t", `aXa`,
			"team.put", "t2", `a`,
			"team.put", "t", `aa`,
			"team.put", "t", `aaXaa`,
			"team.put", "t", `aaaa`)},
		{"keys needing escapes", runOf(
			"binding.put", `a"b\c<`, `{"id":"x"}`,
			"binding.put", `a"b\c<d`, `{"id":"y"}`,
			"binding.put", "é", `{"id":"z"}`)},
		{"kinds needing escapes", runOf(`k"\`, "a", `{}`, "k\n", "b", `{}`, `k"\`, "c", `{}`)},
		{"many kinds", many},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := encodeDenseRun(tc.changes)
			if !json.Valid([]byte(enc)) || !utf8.ValidString(enc) {
				t.Errorf("encodeDenseRun wrote invalid JSON or UTF-8: %s", enc)
			}
			got, err := decodeDenseRun([]byte(enc))
			if err != nil {
				t.Fatalf("decodeDenseRun(%s): %v", enc, err)
			}
			if d := cmp.Diff(runChanges(tc.changes), got); d != "" {
				t.Errorf("decodeDenseRun(encodeDenseRun) (-want +got):\n%s\nencoded: %s", d, enc)
			}
			// encoding/json reads the same strings (the format is JSON,
			// not only this decoder's).
			var elems []any
			if err := json.Unmarshal([]byte(enc), &elems); err != nil || len(elems) != 6*len(tc.changes) {
				t.Fatalf("encoding/json: %d elements, %v", len(elems), err)
			}
			for i, c := range got {
				if key, _ := elems[6*i+2].(string); !strings.HasSuffix(c.Key, key) {
					t.Errorf("change %d: key %q does not end in the row's %q", i, c.Key, key)
				}
				if mid, _ := elems[6*i+5].(string); !bytes.Contains(c.Payload, []byte(mid)) {
					t.Errorf("change %d: payload %q does not hold the row's %q", i, c.Payload, mid)
				}
			}
		})
	}
}

// TestDenseRunSize: the peers' bulk write's run is at most a third of its
// runKind encoding (the reason the format exists).
func TestDenseRunSize(t *testing.T) {
	run := peersRun(t, 500)
	dense, plain := len(encodeDenseRun(run)), len(encodeRun(run))
	t.Logf("%d changes: runKind %d bytes (%.0f a change), dense %d (%.0f)", len(run), plain, float64(plain)/float64(len(run)), dense, float64(dense)/float64(len(run)))
	if dense*3 > plain {
		t.Errorf("dense run is %d bytes, runKind %d: want at most a third", dense, plain)
	}
}

// TestDenseRunMalformed: a dense payload that is not what the encoder
// writes, or that refers to bytes it does not have, is an error, never a
// panic or a change made up.
func TestDenseRunMalformed(t *testing.T) {
	for _, bad := range []string{
		``, `[`, `[]`, `{}`,
		`["k",0,"a",0,0,"{}"`,                   // unterminated
		`["k",0,"a",0,0,"{}"]x`,                 // trailing bytes
		`["k",0,"a",0,0]`,                       // five elements
		`["k",0,"a",0,0,"{}",]`,                 // a comma too many
		`["k" ,0,"a",0,0,"{}"]`,                 // spacing
		`[0,0,"a",0,0,"{}"]`,                    // a kind's number before it is named
		`["k",0,"a",0,0,"{}",1,0,"b",0,0,"{}"]`, // kind 1 never named
		`["k",1,"a",0,0,"{}"]`,                  // key prefix of a kind's first change
		`["k",0,"a",1,0,"{}"]`,                  // payload prefix of a kind's first change
		`["k",0,"a",0,1,"{}"]`,                  // payload suffix of a kind's first change
		`["k",0,"a",0,0,"{}",0,2,"b",0,0,"{}"]`, // key prefix longer than the last key
		`["k",0,"a",0,0,"{}",0,0,"b",2,1,"{}"]`, // prefix and suffix overlap
		`["k",0,"a",0,0,"{}",0,0,"b",0,3,"{}"]`, // suffix longer than the last payload
		`["k",0,"a",0,0,"{}",-1,0,"b",0,0,"{}"]`,
		`["k",0,"a",0,0,"{\u00"]`, `["k",0,"a",0,0,"\x"]`, "[\"k\",0,\"a\",0,0,\"\n\"]",
		`["k",0,"a",99999999999,0,"{}"]`,
	} {
		if run, err := decodeDenseRun([]byte(bad)); err == nil {
			t.Errorf("decodeDenseRun(%q) = %+v, want an error", bad, run)
		}
	}
}

// FuzzDenseRun: any run (kinds, keys and payloads of any bytes: the
// input split at 0xfe into triples) encodes to a row that decodes to
// exactly it, and to valid JSON when the input is valid UTF-8.
func FuzzDenseRun(f *testing.F) {
	sep := "\xfe"
	for _, run := range [][]store.Change{
		peersRun(f, 3),
		runOf("member.put", "user:é", `{"a":"é"}`, "member.put", "user:è", `{"a":"è\"\\\n"}`),
		runOf("team.put", "t", `aXa`, "team.put", "t2", `a`, "team.put", "", ``),
	} {
		var parts []string
		for _, c := range run {
			parts = append(parts, string(c.Kind), c.Key, string(c.Payload))
		}
		f.Add([]byte(strings.Join(parts, sep)))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		parts := strings.Split(string(in), sep)
		run := runOf(parts...)
		if len(run) == 0 {
			return
		}
		enc := encodeDenseRun(run)
		if utf8.Valid(in) && !json.Valid([]byte(enc)) {
			t.Fatalf("invalid JSON for valid UTF-8: %q", enc)
		}
		got, err := decodeDenseRun([]byte(enc))
		if err != nil {
			t.Fatalf("decodeDenseRun(%q): %v", enc, err)
		}
		if d := cmp.Diff(runChanges(run), got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}

// FuzzDenseRunDecode: whatever a row holds, the decoder returns an error
// or changes that encode and decode to themselves; it never panics.
func FuzzDenseRunDecode(f *testing.F) {
	f.Add([]byte(encodeDenseRun(peersRun(f, 3))))
	f.Add([]byte(`["k",0,"a",0,0,"{\"x\":\"\u00e9\ud834\udd1e\ud834\"}",0,1,"b",3,2,"y\\"]`))
	f.Add([]byte(`["k",0,"a",0,0,"{}",0,2,"b",0,0,"{}"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		run, err := decodeDenseRun(b)
		if err != nil {
			return
		}
		var cs []store.Change
		for _, r := range run {
			cs = append(cs, store.Change{Kind: store.Kind(r.Kind), Key: r.Key, Payload: r.Payload})
		}
		again, err := decodeDenseRun([]byte(encodeDenseRun(cs)))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(run, again); d != "" {
			t.Fatalf("re-encoded (-first +again):\n%s", d)
		}
	})
}

// BenchmarkRunEncode and BenchmarkRunDecode: a bulk write's run of 1,000
// changes (500 members, 500 bindings) in either encoding; ns/op is a
// run's, bytes/change the row's size.
func BenchmarkRunEncode(b *testing.B) {
	run := peersRun(b, 500)
	for _, enc := range []struct {
		name string
		fn   func([]store.Change) string
	}{{"runKind", encodeRun}, {"dense", encodeDenseRun}} {
		b.Run(enc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(enc.fn(run))
			}
			b.ReportMetric(float64(n)/float64(len(run)), "bytes/change")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(run)), "ns/change")
		})
	}
}

func BenchmarkRunDecode(b *testing.B) {
	run := peersRun(b, 500)
	for _, dec := range []struct {
		name string
		row  []byte
		fn   func([]byte) ([]runChange, error)
	}{
		{"runKind", []byte(encodeRun(run)), func(p []byte) ([]runChange, error) { return decodeRun(bytes.Clone(p)) }}, // readChanges' clone
		{"dense", []byte(encodeDenseRun(run)), decodeDenseRun},
	} {
		b.Run(dec.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dec.fn(dec.row); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(run)), "ns/change")
		})
	}
}
