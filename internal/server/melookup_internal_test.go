package server

import "testing"

// FuzzMeCursor: a cursor of GET /v1/me/lookup/resources decodes only to a
// valid org id (and a token), whatever the bytes, and every valid org with
// any token round-trips.
func FuzzMeCursor(f *testing.F) {
	f.Add("acme", "tok")
	f.Add("", "")
	f.Add("a\x00b", "c")
	f.Add("Not A Slug", "")
	f.Fuzz(func(t *testing.T, org, token string) {
		c := encodeMeCursor(org, token)
		gotOrg, gotToken, ok := decodeMeCursor(c)
		if ok && !validSlug(gotOrg) {
			t.Fatalf("decoded an invalid org %q", gotOrg)
		}
		if validSlug(org) && (!ok || gotOrg != org || gotToken != token) {
			t.Fatalf("round trip of (%q, %q): (%q, %q, %v)", org, token, gotOrg, gotToken, ok)
		}
		if _, _, ok := decodeMeCursor(org + token); ok {
			if o, _, _ := decodeMeCursor(org + token); !validSlug(o) {
				t.Fatalf("decoded an invalid org %q", o)
			}
		}
	})
}
