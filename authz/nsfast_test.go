package authz

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNSIDFastAgreesWithMap builds orgs with few, many and long namespace
// names, then has writers create and delete namespaces: at every step the
// published org's nsID (inline table or map) answers as nsIDs does, for
// present, absent, deleted, long and empty names, and an earlier
// published org keeps its answers.
func TestNSIDFastAgreesWithMap(t *testing.T) {
	p := compilePolicy(mustPolicy(t, testPolicy))
	long := strings.Repeat("n", nsFastLen+1)
	max := strings.Repeat("m", nsFastLen)
	tests := []struct {
		name     string
		ns       []string
		put, del []string
		fast     bool // the org ends with the inline table in use
	}{
		{name: "few", ns: []string{"prod", "staging"}, put: []string{"dev"}, del: []string{"staging"}, fast: true},
		{name: "longest inline name", ns: []string{"prod", max}, del: []string{"prod"}, fast: true},
		{name: "a long name", ns: []string{"prod", long}, put: []string{"dev"}, fast: false},
		{name: "a long name deleted stays interned", ns: []string{"prod"}, put: []string{long}, del: []string{long}, fast: false},
		{name: "full", ns: []string{"a", "b", "c", "d", "e", "f", "g"}, del: []string{"a"}, fast: true},
		{name: "too many", ns: []string{"a", "b", "c", "d", "e", "f", "g"}, put: []string{"h"}, fast: false},
	}
	probes := func(tc []string) []string {
		out := []string{"", DefaultNamespace, "prod", "staging", "dev", "nope", long, max, "h", "a", "prodx", "pro"}
		return append(out, tc...)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := buildOrg("o", &OrgData{Org: "o", Namespaces: tc.ns}, p)
			o.freeze()
			first := answers(t, o, probes(tc.ns))
			w := o.writable()
			for _, n := range tc.put {
				w.setNSExists(n, true)
			}
			for _, n := range tc.del {
				w.setNSExists(n, false)
			}
			w.freeze()
			answers(t, w, probes(append(tc.put, tc.del...)))
			if w.nsFastOK != tc.fast {
				t.Errorf("inline table in use: %v, want %v", w.nsFastOK, tc.fast)
			}
			if diff := cmp.Diff(first, answers(t, o, probes(tc.ns))); diff != "" {
				t.Errorf("the first published org changed (-before +after):\n%s", diff)
			}
		})
	}
}

type nsAnswer struct {
	ID     int32
	Exists bool
}

// answers is nsID of every probe, checked against nsIDs.
func answers(t *testing.T, o *orgSnap, probes []string) map[string]nsAnswer {
	t.Helper()
	got := map[string]nsAnswer{}
	for _, n := range probes {
		id, ok := o.nsID(n)
		want := nsAnswer{-1, false}
		if i, found := o.nsIDs[n]; found {
			want = nsAnswer{i.id, i.exists}
		}
		if (nsAnswer{id, ok}) != want {
			t.Errorf("nsID(%q) = %d, %v; nsIDs says %d, %v", n, id, ok, want.ID, want.Exists)
		}
		got[n] = nsAnswer{id, ok}
	}
	return got
}
