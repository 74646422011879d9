package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const canary = "sk-CANARY-7f3a9c1e-do-not-leak"

// TestVisibility is DESIGN §2 and seed 002's secret rules as a table: who
// sees names, who sees values, who manages, and what everyone else gets.
func TestVisibility(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "OPENAI_API_KEY", canary, Meta{Description: "model provider"})

		type result struct {
			list, get, history, reveal, create, update, rotate, del error
		}
		// Every row: the error each operation gives the actor (nil: allowed).
		tests := []struct {
			who  Actor
			role string
			want result
		}{
			{alice, "admin: manages, reads", result{}},
			{bob, "builder: names and metadata only", result{reveal: ErrForbidden, create: ErrForbidden, update: ErrForbidden, rotate: ErrForbidden, del: ErrForbidden}},
			{olga, "operator: neither names nor values", result{list: ErrForbidden, get: ErrNotFound, history: ErrNotFound, reveal: ErrNotFound, create: ErrForbidden, update: ErrNotFound, rotate: ErrNotFound, del: ErrNotFound}},
			{vic, "viewer: neither", result{list: ErrForbidden, get: ErrNotFound, history: ErrNotFound, reveal: ErrNotFound, create: ErrForbidden, update: ErrNotFound, rotate: ErrNotFound, del: ErrNotFound}},
			{dana, "builder in dev only: prod is invisible", result{list: ErrForbidden, get: ErrNotFound, history: ErrNotFound, reveal: ErrNotFound, create: ErrForbidden, update: ErrNotFound, rotate: ErrNotFound, del: ErrNotFound}},
			{ci, "service without a role", result{list: ErrForbidden, get: ErrNotFound, history: ErrNotFound, reveal: ErrNotFound, create: ErrForbidden, update: ErrNotFound, rotate: ErrNotFound, del: ErrNotFound}},
			{eve, "member of another org: the org does not exist", result{ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound}},
			{actor("user:nobody"), "unknown principal", result{ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound}},
			{actor("team:x"), "a team cannot act", result{ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound, ErrNotFound}},
		}
		for _, tc := range tests {
			t.Run(tc.role, func(t *testing.T) {
				var errs []error
				check := func(op string, err, want error) {
					t.Helper()
					errs = append(errs, err)
					wantErr(t, op, err, want)
				}
				list, _, err := f.v.List(f.ctx, tc.who, org, "prod", store.Page{})
				check("list", err, tc.want.list)
				if err == nil && !slices.ContainsFunc(list, func(s store.Secret) bool { return s.Name == "OPENAI_API_KEY" }) {
					t.Errorf("list = %+v", list)
				}
				s, err := f.v.Get(f.ctx, tc.who, org, "prod", "OPENAI_API_KEY")
				check("get", err, tc.want.get)
				if err == nil && (s.Name != "OPENAI_API_KEY" || s.Version < 1) {
					t.Errorf("get = %+v", s)
				}
				check("history", third(f.v.History(f.ctx, tc.who, org, "prod", "OPENAI_API_KEY", store.Page{})), tc.want.history)
				r, err := f.v.Reveal(f.ctx, tc.who, org, "prod", "OPENAI_API_KEY", 0)
				check("reveal", err, tc.want.reveal)
				if err == nil && string(r.Value) != canary {
					t.Errorf("reveal = %q", r.Value)
				}
				_, _, err = f.v.Create(f.ctx, tc.who, org, "prod", "NEW_"+strings.ToUpper(strings.NewReplacer(":", "_").Replace(tc.who.Principal)), []byte(canary), Meta{})
				check("create", err, tc.want.create)
				desc := "changed"
				check("update", third(f.v.Update(f.ctx, tc.who, org, "prod", "OPENAI_API_KEY", Update{Description: &desc})), tc.want.update)
				check("rotate", third(f.v.Rotate(f.ctx, tc.who, org, "prod", "OPENAI_API_KEY", []byte(canary), 0)), tc.want.rotate)
				if tc.want.del == nil {
					f.ok("create a secret to delete", third(f.v.Create(f.ctx, alice, org, "prod", "TO_DELETE", []byte(canary), Meta{})))
					check("delete", second(f.v.Delete(f.ctx, tc.who, org, "prod", "TO_DELETE", DeleteOptions{})), nil)
				} else {
					check("delete", second(f.v.Delete(f.ctx, tc.who, org, "prod", "OPENAI_API_KEY", DeleteOptions{})), tc.want.del)
				}
				for _, err := range errs {
					if err != nil && strings.Contains(err.Error(), canary) {
						t.Errorf("an error carries the value: %v", err)
					}
				}
			})
		}
	})
}

// A principal without secrets:list cannot tell an existing secret from a
// missing one: the errors are the same kind and the same text.
func TestNoExistenceOracle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "REAL", canary, Meta{})
		for _, who := range []Actor{olga, vic, dana, ci} {
			ops := map[string]func(name string) error{
				"get":     func(n string) error { return second(f.v.Get(f.ctx, who, org, "prod", n)) },
				"reveal":  func(n string) error { return second(f.v.Reveal(f.ctx, who, org, "prod", n, 0)) },
				"history": func(n string) error { return third(f.v.History(f.ctx, who, org, "prod", n, store.Page{})) },
				"rotate":  func(n string) error { return third(f.v.Rotate(f.ctx, who, org, "prod", n, []byte("x"), 0)) },
				"delete":  func(n string) error { return second(f.v.Delete(f.ctx, who, org, "prod", n, DeleteOptions{})) },
			}
			for name, op := range ops {
				real, missing := op("REAL"), op("MISSING")
				if !errors.Is(real, ErrNotFound) || !errors.Is(missing, ErrNotFound) {
					t.Errorf("%s %s: %v / %v, want ErrNotFound for both", who.Principal, name, real, missing)
					continue
				}
				if strings.ReplaceAll(real.Error(), "REAL", "X") != strings.ReplaceAll(missing.Error(), "MISSING", "X") {
					t.Errorf("%s %s: %q and %q differ beyond the name", who.Principal, name, real, missing)
				}
			}
		}
	})
}

// Secrets are scoped to namespaces: dev's secrets are invisible from prod
// and a dev builder reaches nothing in prod; the same name in two
// namespaces is two secrets.
func TestNamespaceScoping(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("dev", "DB_PASSWORD", "dev-"+canary, Meta{})
		f.secret("prod", "DB_PASSWORD", "prod-"+canary, Meta{})
		f.secret("prod", "ONLY_PROD", canary, Meta{})

		dev, _, err := f.v.List(f.ctx, dana, org, "dev", store.Page{})
		if err != nil || len(dev) != 1 || dev[0].Namespace != "dev" {
			t.Errorf("dana lists dev = %+v, %v", dev, err)
		}
		wantErr(t, "dana lists prod", third(f.v.List(f.ctx, dana, org, "prod", store.Page{})), ErrForbidden)
		all, _, err := f.v.List(f.ctx, dana, org, "", store.Page{})
		if err != nil || len(all) != 1 || all[0].Namespace != "dev" {
			t.Errorf("dana lists every namespace = %+v, %v (only dev's)", all, err)
		}
		all, _, err = f.v.List(f.ctx, bob, org, "", store.Page{})
		if err != nil || len(all) != 3 {
			t.Errorf("bob (org-wide builder) lists every namespace = %+v, %v", all, err)
		}
		wantErr(t, "dana gets prod's", second(f.v.Get(f.ctx, dana, org, "prod", "ONLY_PROD")), ErrNotFound)
		wantErr(t, "dev has no ONLY_PROD", second(f.v.Get(f.ctx, alice, org, "dev", "ONLY_PROD")), ErrNotFound)
		d, err := f.v.Reveal(f.ctx, alice, org, "dev", "DB_PASSWORD", 0)
		p, err2 := f.v.Reveal(f.ctx, alice, org, "prod", "DB_PASSWORD", 0)
		if err != nil || err2 != nil || string(d.Value) != "dev-"+canary || string(p.Value) != "prod-"+canary {
			t.Errorf("same name in dev and prod: %v %v", err, err2)
		}
		// A dev chain cannot reference a prod credential: references resolve
		// in the chain's own namespace.
		_, err = f.chain(dana, "dev", "x", "ONLY_PROD")
		if err == nil || !strings.Contains(err.Error(), "does not exist in namespace \"dev\"") {
			t.Errorf("dev chain referencing a prod-only secret: %v", err)
		}
		wantErr(t, "the namespace must exist", third(f.v.List(f.ctx, alice, org, "staging", store.Page{})), ErrNotFound)
	})
}

func TestCreateValidation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "TAKEN", "v", Meta{})
		past := time.Now().Add(-time.Hour)
		tests := []struct {
			name, ns, secret string
			value            []byte
			meta             Meta
			want             error
		}{
			{"valid", "prod", "OK_1", []byte("v"), Meta{Description: "d", ReferableBy: []string{"role:builder"}}, nil},
			{"empty value", "prod", "EMPTY", nil, Meta{}, nil},
			{"lower-case name", "prod", "lower", []byte("v"), Meta{}, ErrInvalid},
			{"leading digit", "prod", "1ABC", []byte("v"), Meta{}, ErrInvalid},
			{"dash", "prod", "A-B", []byte("v"), Meta{}, ErrInvalid},
			{"too long", "prod", strings.Repeat("A", 129), []byte("v"), Meta{}, ErrInvalid},
			{"taken", "prod", "TAKEN", []byte("v"), Meta{}, ErrConflict},
			{"NUL in value", "prod", "NUL", []byte("a\x00b"), Meta{}, ErrInvalid},
			{"not UTF-8", "prod", "BIN", []byte{0xff, 0xfe}, Meta{}, ErrInvalid},
			{"too large", "prod", "BIG", make([]byte, MaxValueBytes+1), Meta{}, ErrInvalid},
			{"expiry in the past", "prod", "OLD", []byte("v"), Meta{ExpiresAt: past}, ErrInvalid},
			{"malformed referable_by", "prod", "REF", []byte("v"), Meta{ReferableBy: []string{"bob"}}, ErrInvalid},
			{"missing namespace", "staging", "X", []byte("v"), Meta{}, ErrNotFound},
			{"malformed namespace", "Prod", "X", []byte("v"), Meta{}, ErrInvalid},
		}
		for _, tc := range tests {
			_, _, err := f.v.Create(f.ctx, alice, org, tc.ns, tc.secret, tc.value, tc.meta)
			wantErr(t, tc.name, err, tc.want)
		}
	})
}

func TestUpdateRotateHistory(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		created := f.secret("prod", "API_KEY", "v1-"+canary, Meta{Description: "first"})
		if created.Version != 1 || created.CreatedBy != "user:alice" {
			t.Fatalf("created = %+v", created)
		}
		desc, exp := "second", time.Now().Add(24*time.Hour)
		u, _, err := f.v.Update(f.ctx, alice, org, "prod", "API_KEY", Update{Description: &desc, ExpiresAt: &exp})
		if err != nil || u.Version != 1 || u.Description != "second" || u.ExpiresAt.IsZero() {
			t.Errorf("metadata update = %+v, %v (no new version)", u, err)
		}
		v2 := []byte("v2-" + canary)
		u, _, err = f.v.Update(f.ctx, alice, org, "prod", "API_KEY", Update{Value: &v2, IfVersion: 1})
		if err != nil || u.Version != 2 || !u.RotatedAt.IsZero() {
			t.Errorf("value update = %+v, %v", u, err)
		}
		wantErr(t, "update with a stale if-version", third(f.v.Update(f.ctx, alice, org, "prod", "API_KEY", Update{Value: &v2, IfVersion: 1})), ErrConflict)
		r, _, err := f.v.Rotate(f.ctx, alice, org, "prod", "API_KEY", []byte("v3-"+canary), 2)
		if err != nil || r.Version != 3 || r.RotatedAt.IsZero() {
			t.Errorf("rotate = %+v, %v", r, err)
		}
		for version, want := range map[uint64]string{0: "v3-", 1: "v1-", 2: "v2-", 3: "v3-"} {
			got, err := f.v.Reveal(f.ctx, alice, org, "prod", "API_KEY", version)
			if err != nil || string(got.Value) != want+canary {
				t.Errorf("reveal version %d = %v, %v", version, got, err)
			}
		}
		wantErr(t, "reveal a version that does not exist", second(f.v.Reveal(f.ctx, alice, org, "prod", "API_KEY", 9)), ErrNotFound)
		hist, _, err := f.v.History(f.ctx, bob, org, "prod", "API_KEY", store.Page{})
		var got []string
		for _, h := range hist {
			got = append(got, fmt.Sprintf("%d by %s key %d", h.Version, h.CreatedBy, h.KeyID))
		}
		if d := cmp.Diff([]string{"3 by user:alice key 1", "2 by user:alice key 1", "1 by user:alice key 1"}, got); err != nil || d != "" {
			t.Errorf("history (builder): %v\n%s", err, d)
		}
		meta, _ := f.v.Get(f.ctx, alice, org, "prod", "API_KEY")
		if meta.LastUsedAt.IsZero() {
			t.Error("reveals did not stamp last use")
		}
	})
}

func TestExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "SHORT", canary, Meta{ExpiresAt: time.Now().Add(time.Hour)})
		f.ok("reveal before expiry", second(f.v.Reveal(f.ctx, alice, org, "prod", "SHORT", 0)))
		f.clock.advance(2 * time.Hour)
		err := second(f.v.Reveal(f.ctx, alice, org, "prod", "SHORT", 0))
		wantErr(t, "reveal after expiry", err, ErrConflict)
		if err != nil && !strings.Contains(err.Error(), "expired") {
			t.Errorf("the expiry error does not say so: %v", err)
		}
		// Rotating with a new expiry makes it usable again.
		exp := f.clock.now().Add(time.Hour)
		f.ok("rotate", third(f.v.Rotate(f.ctx, alice, org, "prod", "SHORT", []byte("new"), 0)))
		f.ok("extend", third(f.v.Update(f.ctx, alice, org, "prod", "SHORT", Update{ExpiresAt: &exp})))
		f.ok("reveal after renewal", second(f.v.Reveal(f.ctx, alice, org, "prod", "SHORT", 0)))
	})
}

// Every operation is an audit entry; refusals are recorded as denied; no
// entry carries the value.
func TestAuditTrail(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "AUDITED", canary, Meta{})
		f.ok("reveal", second(f.v.Reveal(f.ctx, alice, org, "prod", "AUDITED", 0)))
		f.ok("rotate", third(f.v.Rotate(f.ctx, alice, org, "prod", "AUDITED", []byte(canary+"2"), 0)))
		desc := "d"
		f.ok("update", third(f.v.Update(f.ctx, alice, org, "prod", "AUDITED", Update{Description: &desc})))
		wantErr(t, "bob reveals", second(f.v.Reveal(f.ctx, bob, org, "prod", "AUDITED", 0)), ErrForbidden)
		wantErr(t, "olga reveals", second(f.v.Reveal(f.ctx, olga, org, "prod", "AUDITED", 0)), ErrNotFound)
		f.ok("delete", second(f.v.Delete(f.ctx, alice, org, "prod", "AUDITED", DeleteOptions{})))

		var got []string
		for _, r := range f.auditRows(org) {
			if !strings.HasPrefix(r.Action, "secrets.") {
				continue
			}
			got = append(got, fmt.Sprintf("%s %s %s %s", r.Action, r.Actor, r.Target, r.Result))
			if strings.Contains(string(r.Body), canary) || strings.Contains(r.Target, canary) {
				t.Errorf("audit entry %s carries the value: %s", r.Action, r.Body)
			}
		}
		want := []string{
			"secrets.create user:alice prod/secrets/AUDITED success",
			"secrets.read user:alice prod/secrets/AUDITED success",
			"secrets.rotate user:alice prod/secrets/AUDITED success",
			"secrets.update user:alice prod/secrets/AUDITED success",
			"secrets.read user:bob prod/secrets/AUDITED denied",
			"secrets.read user:olga prod/secrets/AUDITED denied",
			"secrets.delete user:alice prod/secrets/AUDITED success",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("audit trail (-want +got):\n%s", d)
		}
		var read store.AuditRecord
		for _, r := range f.auditRows(org) {
			if r.Action == "secrets.read" && r.Result == "success" {
				read = r
			}
		}
		var body map[string]any
		_ = json.Unmarshal(read.Body, &body)
		if !strings.Contains(string(read.Body), `"version"`) || !strings.Contains(string(read.Body), `"AUDITED"`) {
			t.Errorf("a reveal's entry names the secret and version: %s", read.Body)
		}
	})
}

// An audit entry that cannot be written fails the action it records.
func TestAuditFailureFailsTheAction(t *testing.T) {
	f := newFx(t, backends(t)[0])
	f.secret("prod", "KEY", canary, Meta{})
	failing := &Vault{}
	*failing = *f.v
	failing.audit = failRecorder{}
	wantErr(t, "reveal with a failing audit log", second(failing.Reveal(f.ctx, alice, org, "prod", "KEY", 0)), ErrUnavailable)
	wantErr(t, "create with a failing audit log", third(failing.Create(f.ctx, alice, org, "prod", "OTHER", []byte("v"), Meta{})), ErrUnavailable)
	wantErr(t, "the failed create left nothing", second(f.v.Get(f.ctx, alice, org, "prod", "OTHER")), ErrNotFound)
	if s, _ := f.v.Get(f.ctx, alice, org, "prod", "KEY"); !s.LastUsedAt.IsZero() {
		t.Error("the failed reveal stamped last use")
	}
}

type failRecorder struct{}

func (failRecorder) Record(context.Context, store.Tx, audit.Entry) error {
	return errors.New("audit log unavailable")
}

func TestListPagination(t *testing.T) {
	f := newFx(t, backends(t)[0])
	var want []string
	for i := range 7 {
		n := fmt.Sprintf("K_%02d", i)
		f.secret("prod", n, "v", Meta{})
		want = append(want, n)
	}
	var got []string
	p := store.Page{Size: 3}
	for range 10 {
		ss, next, err := f.v.List(f.ctx, bob, org, "prod", p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			got = append(got, s.Name)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	if !slices.Equal(want, got) {
		t.Errorf("paged list = %v, want %v", got, want)
	}
}
