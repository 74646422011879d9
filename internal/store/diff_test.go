package store_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want []store.DiffEntry
	}{
		{"equal documents", `{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, nil},
		{"both empty", ``, ``, nil},
		{"numbers compare by value", `{"n":1}`, `{"n":1.0}`, nil},
		{"big numbers keep precision", `{"n":12345678901234567890}`, `{"n":12345678901234567891}`,
			[]store.DiffEntry{{Path: "/n", Op: store.DiffChanged, Old: raw(`12345678901234567890`), New: raw(`12345678901234567891`)}}},
		{"added key", `{}`, `{"a":{"b":true}}`,
			[]store.DiffEntry{{Path: "/a", Op: store.DiffAdded, New: raw(`{"b":true}`)}}},
		{"removed key", `{"a":null}`, `{}`,
			[]store.DiffEntry{{Path: "/a", Op: store.DiffRemoved, Old: raw(`null`)}}},
		{"changed nested scalar", `{"a":{"b":"x"}}`, `{"a":{"b":"y"}}`,
			[]store.DiffEntry{{Path: "/a/b", Op: store.DiffChanged, Old: raw(`"x"`), New: raw(`"y"`)}}},
		{"type change is one change", `{"a":{"b":1}}`, `{"a":[1]}`,
			[]store.DiffEntry{{Path: "/a", Op: store.DiffChanged, Old: raw(`{"b":1}`), New: raw(`[1]`)}}},
		{"arrays index by index", `[1,2,3]`, `[1,5]`,
			[]store.DiffEntry{
				{Path: "/1", Op: store.DiffChanged, Old: raw(`2`), New: raw(`5`)},
				{Path: "/2", Op: store.DiffRemoved, Old: raw(`3`)},
			}},
		{"array grows", `[]`, `["a"]`, []store.DiffEntry{{Path: "/0", Op: store.DiffAdded, New: raw(`"a"`)}}},
		{"whole document replaced", `1`, `"1"`, []store.DiffEntry{{Path: "", Op: store.DiffChanged, Old: raw(`1`), New: raw(`"1"`)}}},
		{"from nothing", ``, `{"a":1}`, []store.DiffEntry{{Path: "", Op: store.DiffChanged, Old: raw(`null`), New: raw(`{"a":1}`)}}},
		{"pointer escaping", `{"a/b":1,"c~d":1}`, `{"a/b":2,"c~d":2}`,
			[]store.DiffEntry{
				{Path: "/a~1b", Op: store.DiffChanged, Old: raw(`1`), New: raw(`2`)},
				{Path: "/c~0d", Op: store.DiffChanged, Old: raw(`1`), New: raw(`2`)},
			}},
		{"keys in sorted order", `{"z":1,"a":1,"m":1}`, `{"z":2,"a":2,"m":2}`,
			[]store.DiffEntry{
				{Path: "/a", Op: store.DiffChanged, Old: raw(`1`), New: raw(`2`)},
				{Path: "/m", Op: store.DiffChanged, Old: raw(`1`), New: raw(`2`)},
				{Path: "/z", Op: store.DiffChanged, Old: raw(`1`), New: raw(`2`)},
			}},
		{"booleans and null", `{"a":true,"b":null}`, `{"a":false,"b":false}`,
			[]store.DiffEntry{
				{Path: "/a", Op: store.DiffChanged, Old: raw(`true`), New: raw(`false`)},
				{Path: "/b", Op: store.DiffChanged, Old: raw(`null`), New: raw(`false`)},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.Diff(raw(tc.a), raw(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Diff(%s, %s) mismatch (-want +got):\n%s", tc.a, tc.b, d)
			}
		})
	}
}

func TestDiffInvalid(t *testing.T) {
	for _, tc := range []struct{ a, b string }{{`{`, `{}`}, {`{}`, `[1,]`}, {`{} {}`, `{}`}, {`{}`, `1 2`}} {
		if _, err := store.Diff(raw(tc.a), raw(tc.b)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Diff(%s, %s) = %v, want ErrInvalid", tc.a, tc.b, err)
		}
	}
}

func TestError(t *testing.T) {
	cause := errors.New("pq: duplicate key value violates unique constraint \"secret_internal_name\"")
	err := store.Errorf(store.ErrConflict, "create binding", `binding "b1" in org "acme"`, cause)
	if got, want := err.Error(), `store: create binding: binding "b1" in org "acme": conflict`; got != want {
		t.Errorf("Error() = %q, want %q (no driver text)", got, want)
	}
	if !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("errors.Is does not see exactly the sentinel")
	}
	if !errors.Is(err, cause) {
		t.Errorf("the cause is not kept in the chain for logs")
	}
	var se *store.Error
	if !errors.As(err, &se) || se.Op != "create binding" {
		t.Errorf("errors.As: %+v", se)
	}
	if got := store.Errorf(store.ErrInvalid, "x", "", nil).Error(); got != "store: x: invalid" {
		t.Errorf("without detail: %q", got)
	}
}

func TestDecodeKinds(t *testing.T) {
	tests := []struct {
		kind    store.Kind
		payload string
		want    any
	}{
		{store.KindOrgPut, `{"id":"a","name":"A"}`, store.Org{ID: "a", Name: "A"}},
		{store.KindNamespaceDelete, `{"org":"a","name":"prod"}`, store.Namespace{Org: "a", Name: "prod"}},
		{store.KindUserPut, `{"id":"u"}`, store.User{ID: "u"}},
		{store.KindMemberDelete, `{"org":"a","user_id":"u"}`, store.Member{Org: "a", UserID: "u"}},
		{store.KindAgentPut, `{"org":"a","name":"T","role":"r"}`, store.Agent{Org: "a", Name: "T", Role: "r"}},
		{store.KindServiceDelete, `{"org":"a","name":"ci"}`, store.Service{Org: "a", Name: "ci"}},
		{store.KindTeamPut, `{"org":"a","slug":"s","members":["user:u"]}`, store.Team{Org: "a", Slug: "s", Members: []string{"user:u"}}},
		{store.KindPolicyPut, `{"org":"a","version":2,"text":"x"}`, store.Policy{Org: "a", Version: 2, Text: "x"}},
	}
	for _, tc := range tests {
		got, err := store.Change{Kind: tc.kind, Payload: raw(tc.payload)}.Decode()
		if err != nil {
			t.Errorf("%s: %v", tc.kind, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tc.kind, d)
		}
	}
	b, err := store.Change{Kind: store.KindBindingPut, Payload: raw(`{"org":"a","id":"b","principal":"user:u","role":"r","scope":{"namespace":"n"}}`)}.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if got := b.(store.Binding); got.ID != "b" || got.Org != "a" || got.Scope.Namespace != "n" || got.Role != "r" {
		t.Errorf("binding payload = %+v", got)
	}
}
