package audit

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type recordingSink struct{ got [][]string }

func (r *recordingSink) Deliver(_ context.Context, es []Entry) error {
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	r.got = append(r.got, actions)
	return nil
}
func (r *recordingSink) Close() error { return nil }

// TestOnlyFilters: Only delivers the matching entries, in order, and
// sends nothing for a batch without one.
func TestOnlyFilters(t *testing.T) {
	r := &recordingSink{}
	s := Only(r, "approval.")
	for _, batch := range [][]string{{"decision", "approval.request", "bindings.create", "approval.approve"}, {"decision", "secrets.read"}, {"approval.consume"}} {
		var es []Entry
		for _, a := range batch {
			es = append(es, Entry{Action: a})
		}
		if err := s.Deliver(context.Background(), es); err != nil {
			t.Fatal(err)
		}
	}
	want := [][]string{{"approval.request", "approval.approve"}, {"approval.consume"}}
	if diff := cmp.Diff(want, r.got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}
