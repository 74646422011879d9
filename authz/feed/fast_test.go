package feed

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
)

var oddStrings = []string{"", "viewer", "user:alice", `quo"te`, `back\slash`, "tab\there", "é", "\xff", "<html>&", "prod"}

func randBinding(rng *rand.Rand) authz.Binding {
	pick := func() string { return oddStrings[rng.IntN(len(oddStrings))] }
	b := authz.Binding{ID: pick(), Principal: pick(), Role: pick(), Condition: pick(),
		Scope: authz.Scope{Namespace: pick(), Type: pick(), ID: pick()}}
	for range rng.IntN(3) {
		b.Actions = append(b.Actions, pick())
	}
	if rng.IntN(2) == 0 {
		b.ExpiresAt = time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("x", 3600*(rng.IntN(5)-2)))
	}
	return b
}

// TestFastEncodeMatchesJSON: the hand-written binding line is byte for
// byte what encoding/json writes.
func TestFastEncodeMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := randBinding(rng)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(Change{Op: OpPutBinding, Binding: &b}); err != nil {
			t.Fatal(err)
		}
		if got := appendBindingLine(nil, &b); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("binding %+v:\n got %s\nwant %s", b, got, want.Bytes())
		}
	}
}

// fastAgrees checks that, when a fast path accepts line, encoding/json
// decodes it to the same value.
func fastAgrees(t *testing.T, line []byte) {
	t.Helper()
	var bd authz.Binding
	if fastBinding(line, map[string]string{}, &bd) {
		var c Change
		if err := json.Unmarshal(line, &c); err != nil || c.Op != OpPutBinding || c.Binding == nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v %+v", line, err, c)
		}
		if diff := cmp.Diff(*c.Binding, bd); diff != "" {
			t.Fatalf("%q: fast path differs from encoding/json (-json +fast):\n%s", line, diff)
		}
	}
	var pr authz.Principal
	if fastPrincipal(line, &pr) {
		var c Change
		if err := json.Unmarshal(line, &c); err != nil || c.Op != OpPutPrincipal || c.Principal == nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v %+v", line, err, c)
		}
		if diff := cmp.Diff(*c.Principal, pr); diff != "" {
			t.Fatalf("%q: fast path differs from encoding/json (-json +fast):\n%s", line, diff)
		}
	}
}

func TestFastDecodeAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	accepted := 0
	for range 5000 {
		b := randBinding(rng)
		line := bytes.TrimSuffix(appendBindingLine(nil, &b), []byte("\n"))
		fastAgrees(t, line)
		var bd authz.Binding
		if fastBinding(line, map[string]string{}, &bd) {
			accepted++
		}
	}
	if accepted < 50 {
		t.Fatalf("the fast path accepted only %d of 5000 lines", accepted)
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range []string{
		`{"op":"binding.put","binding":{"id":"b1","principal":"user:a","role":"viewer","scope":{}}}`,
		`{"op":"binding.put","binding":{"id":"b1","principal":"user:a","actions":["run","*"],"scope":{"namespace":"p","type":"t","id":"x"},"condition":"c","expires_at":"2026-01-02T03:04:05.5+01:00"}}`,
		`{"op":"binding.put","binding":{"id":"b1","scope":{"namespace":"a"},"scope":{"type":"b"}}}`,
		`{"op":"binding.put","binding":{"expires_at":"2026-13-02T03:04:05Z"}}`,
		`{"op":"principal.put","principal":{"id":"user:u0000001"}}`,
		`{"op":"principal.put","principal":{"id":"user:é"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) { fastAgrees(t, line) })
}
