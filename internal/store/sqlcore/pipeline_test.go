package sqlcore

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTakeQueueMergesRows: runs of the same single-row INSERT are sent as
// 100-, 10- and 1-row INSERTs with their arguments in order; anything else
// (another statement, a run of one) is sent as queued, and each sent
// statement names the queued one it begins with.
func TestTakeQueueMergesRows(t *testing.T) {
	const ins = `INSERT INTO members (org, user_id) VALUES ($1, $2)`
	const other = `INSERT INTO users (id) VALUES ($1)`
	const upd = `UPDATE users SET email = $2 WHERE id = $1`
	var tx txn
	add := func(sql string, args ...any) {
		tx.queue = append(tx.queue, queued{Stmt: Stmt{SQL: sql, Args: args}, op: "op " + sql[:6], detail: "row " + args[len(args)-1].(string)})
	}
	for i := range 112 {
		add(ins, "acme", "u"+strings.Repeat("x", i%3)+string(rune('a'+i%26)))
	}
	add(other, "solo")
	add(upd, "a", "b")
	add(upd, "c", "d")
	q, stmts := tx.takeQueue()
	if len(tx.queue) != 0 {
		t.Errorf("%d statements left queued", len(tx.queue))
	}
	type sent struct {
		Rows   int
		Args   int
		Detail string
	}
	var got []sent
	for i, st := range stmts {
		got = append(got, sent{Rows: strings.Count(st.SQL, "), (") + 1, Args: len(st.Args), Detail: q[i].detail})
	}
	want := []sent{
		{100, 200, "100 rows from row ua"}, {10, 20, "10 rows from row uxw"},
		{1, 2, "row uxxg"}, {1, 2, "row uh"},
		{1, 1, "row solo"}, {1, 2, "row b"}, {1, 2, "row d"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sent statements (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(stmts[0].SQL, "($199, $200)") || stmts[0].Args[198] != "acme" {
		t.Errorf("the 100-row INSERT does not number its parameters on: %q", stmts[0].SQL[len(stmts[0].SQL)-40:])
	}
	if stmts[5].SQL != upd || stmts[6].SQL != upd {
		t.Errorf("an UPDATE was merged: %q", stmts[5].SQL)
	}
}
