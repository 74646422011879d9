package sqlcore

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestStringsKeyIsExistsKey: existsStrings must find what Prefetch and
// noteFound remembered under existsKey, so for string arguments the two
// keys must be the same bytes.
func TestStringsKeyIsExistsKey(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		args []string
	}{
		{"org", `SELECT 1 FROM orgs WHERE id = $1`, []string{"acme"}},
		{"namespace", namespaceExistsSQL, []string{"acme", "bulk"}},
		{"member", memberExistsSQL, []string{"acme", "u1"}},
		{"resource", resourceExistsSQL, []string{"acme", "bulk", "chains", "c1"}},
		{"empty and NUL arguments", resourceExistsSQL, []string{"", "a\x00s", "", "x"}},
		{"no arguments", `SELECT 1`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			boxed := make([]any, len(tt.args))
			for i, a := range tt.args {
				boxed[i] = a
			}
			want, ok := existsKey(tt.sql, boxed)
			if !ok {
				t.Fatalf("existsKey(%q, %q) is not cacheable", tt.sql, tt.args)
			}
			got := string(appendStringsKey([]byte("stale scratch"), tt.sql, tt.args)[len("stale scratch"):])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("appendStringsKey differs from existsKey (-existsKey +appendStringsKey):\n%s", diff)
			}
		})
	}
}

// TestAuditBoxesRows: the arguments of buffered audit rows are each row's
// own values in auditCols' order, whether a repeated string reuses the
// box of the row before or a changed one is boxed anew, and the body is
// the bytes AppendAudit was given.
func TestAuditBoxesRows(t *testing.T) {
	mac := make([]byte, 32)
	rec := func(org, actor, action, target, result, body string, seq uint64, withMAC bool) pendingAudit {
		p := pendingAudit{AuditRecord: store.AuditRecord{Org: org, Seq: seq, At: int64(seq) * 10, Actor: actor, Action: action,
			Target: target, Result: result, Hash: []byte{byte(seq)}}, body: body}
		if withMAC {
			p.MAC = mac
		}
		return p
	}
	rows := []pendingAudit{
		rec("acme", "user:alice", "binding.create", "binding/1", "ok", `{"a":1}`, 1, true),
		rec("acme", "user:alice", "binding.create", "binding/2", "ok", `{"a":2}`, 2, true),
		rec("acme", "user:bob", "member.add", "user/u1", "ok", `{"a":3}`, 3, false),
		rec("beta", "user:bob", "member.add", "user/u2", "denied", `{"a":4}`, 4, true),
		rec("acme", "user:alice", "binding.create", "binding/3", "ok", `{"a":5}`, 5, true),
	}
	var want []any
	for _, a := range rows {
		var m any
		if a.MAC != nil {
			m = a.MAC
		}
		want = append(want, a.Org, int64(a.Seq), a.At, a.Actor, a.Action, a.Target, a.Result, a.body, a.Hash, m)
	}
	var bx auditBoxes
	var got []any
	for i := range rows {
		got = bx.row(got, &rows[i])
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit row arguments (-want +got):\n%s", diff)
	}
	if n := len(strings.Split(auditCols, ",")); len(got) != n*len(rows) {
		t.Errorf("%d arguments for %d rows, want %d a row (auditCols)", len(got), len(rows), n)
	}
}

// TestExistsStringsKnownAllocates: an existence check the transaction
// already answers (a row it found or inserted, a row its prefetch found
// absent) allocates nothing: a bulk write makes several per change.
func TestExistsStringsKnownAllocates(t *testing.T) {
	tests := []struct {
		name      string
		sql       string
		args      []string
		wantFound bool
	}{
		{"found org", `SELECT 1 FROM orgs WHERE id = $1`, []string{"acme"}, true},
		{"found resource", resourceExistsSQL, []string{"acme", "bulk", "chains", "c1"}, true},
		{"absent member", memberExistsSQL, []string{"acme", "u1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := &txn{found: map[string]struct{}{}, absent: map[string]struct{}{}}
			key := string(appendStringsKey(nil, tt.sql, tt.args))
			if tt.wantFound {
				tx.found[key] = struct{}{}
			} else {
				tx.absent[key] = struct{}{}
			}
			ctx := context.Background()
			detail := func() string { return "unused" }
			var found bool
			var err error
			allocs := testing.AllocsPerRun(100, func() {
				found, err = tx.existsStrings(ctx, "op", detail, tt.sql, tt.args...)
			})
			if err != nil || found != tt.wantFound {
				t.Fatalf("existsStrings = %v, %v; want %v, nil", found, err, tt.wantFound)
			}
			if allocs != 0 {
				t.Errorf("existsStrings of a known key: %v allocations, want 0", allocs)
			}
		})
	}
}
