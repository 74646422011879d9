package mcpgw

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestCheckJSON: bodies every parser reads alike pass; a member named
// twice — spelt with an escape, in another case, with a long s — at any
// depth, data after the value and nesting past maxNesting do not.
func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, true},
		{`{"s":"a\"b\\\\","t":"{\"s\":1}"}`, true},
		{`[]`, true},
		{`"x"`, true},
		{strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting), true},
		{`{"amount":1,"amount":2}`, false},
		{`{"amount":1,"\u0061mount":2}`, false},
		{`{"amount":1,"AMOUNT":2}`, false},
		{`{"status":1,"ſtatus":2}`, false},
		{`{"k":1,"\u212a":2}`, false},
		{`{"x":[{"a":1},{"b":{"c":1,"C":2}}]}`, false},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"J":11}`, false},
		{`{} x`, false},
		{`{}{}`, false},
		{`{"a":`, false},
		{strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1), false},
	} {
		err := checkJSON([]byte(tc.body))
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, errAmbiguous) {
			t.Errorf("checkJSON(%.80s) = %v, want ok %v", tc.body, err, tc.ok)
		}
	}
}

// FuzzCheckJSON: checkJSON never panics, and passes only valid JSON.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":"\"","b":[1,{"c":"\\"}]}`, `[[[]]]`, `{"\u0061":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkJSON(b) == nil && !json.Valid(b) {
			t.Fatalf("checkJSON passed invalid JSON %q", b)
		}
	})
}
