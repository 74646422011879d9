package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
)

// batchesOf makes one batch per spec "org:op" or "org:op:user" (op short
// for its change's op: share, bind, member, user, ns, res, del), each of
// one change on line i+1. user is the user it creates (user: its email is
// user@example.com) or names (member; share and bind: principal
// user:USER, else team:t).
func batchesOf(t *testing.T, specs ...string) []importBatch {
	t.Helper()
	ops := map[string]string{"share": "share.create", "bind": "binding.create", "member": "member.add",
		"user": "user.create", "ns": "namespace.create", "res": "resource.create", "del": "binding.delete"}
	out := make([]importBatch, len(specs))
	for i, s := range specs {
		parts := strings.Split(s, ":")
		if len(parts) < 2 || len(parts) > 3 || ops[parts[1]] == "" {
			t.Fatalf("bad spec %q", s)
		}
		c := client.WriteChange{Op: ops[parts[1]]}
		user := ""
		if len(parts) == 3 {
			user = parts[2]
		}
		switch parts[1] {
		case "user":
			c.User, c.Email = user, user+"@example.com"
		case "member":
			c.User = user
		case "share", "bind":
			c.Principal = "team:t"
			if user != "" {
				c.Principal = "user:" + user
			}
		}
		out[i] = importBatch{org: parts[0], lines: []int{i + 1}, changes: []client.WriteChange{c}}
	}
	return out
}

// specUser is the user a batch of batchesOf creates (created) or names.
func specUser(b importBatch) (user string, created bool) {
	c := b.changes[0]
	switch c.Op {
	case "user.create":
		return c.User, true
	case "member.add":
		return c.User, false
	}
	u, _ := strings.CutPrefix(c.Principal, "user:")
	if u == c.Principal {
		return "", false
	}
	return u, false
}

// orderRecorder is a send that models the server: batches of different
// orgs may run at once; a user exists once the batch creating it is made;
// a batch that names a user fails if it does not exist when it starts, one
// that creates an existing user fails (a conflict). It also checks, when
// batch i starts, that every earlier batch it must follow has been made:
// one of its org, or one that shares a user with it and creates it (on
// either side).
type orderRecorder struct {
	t       *testing.T
	batches []importBatch
	mu      sync.Mutex
	done    map[int]bool
	order   []int
	fail    map[int]bool
	users   map[string]bool
	made    map[string][]int // each org's batches made, in the order made
}

func newOrderRecorder(t *testing.T, bs []importBatch, fail ...int) *orderRecorder {
	r := &orderRecorder{t: t, batches: bs, done: map[int]bool{}, fail: map[int]bool{},
		users: map[string]bool{}, made: map[string][]int{}}
	for _, i := range fail {
		r.fail[i] = true
	}
	return r
}

func (r *orderRecorder) index(b importBatch) int { return b.lines[0] - 1 }

// start checks the order and what b names; it returns b's failure.
func (r *orderRecorder) start(i int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.batches[i]
	u, creates := specUser(b)
	for j := range i {
		o := r.batches[j]
		ou, ocreates := specUser(o)
		mustFollow := o.org == b.org || (u != "" && ou == u && (creates || ocreates))
		if mustFollow && !r.done[j] {
			r.t.Errorf("batch %d (%s %s) sent before batch %d (%s %s) was made", i, b.org, b.changes[0].Op, j, o.org, o.changes[0].Op)
		}
	}
	r.order = append(r.order, i)
	switch {
	case r.fail[i]:
		return fmt.Errorf("change 0: refused")
	case u != "" && creates && r.users[u]:
		return fmt.Errorf("change 0: user %q already exists", u)
	case u != "" && !creates && !r.users[u]:
		return fmt.Errorf("change 0: user %q not found", u)
	}
	return nil
}

// finish makes b (if it did not fail): its user exists from now on.
func (r *orderRecorder) finish(i int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[i] = true
	if err != nil {
		return
	}
	b := r.batches[i]
	if u, creates := specUser(b); creates {
		r.users[u] = true
	}
	r.made[b.org] = append(r.made[b.org], i)
}

func (r *orderRecorder) send(b importBatch) (uint64, error) {
	i := r.index(b)
	err := r.start(i)
	time.Sleep(time.Duration(i%3) * 100 * time.Microsecond) // let the others overlap
	r.finish(i, err)
	if err != nil {
		return 0, err
	}
	return uint64(i + 1), nil
}

// TestSendImportKeepsOrder: whatever --parallel, the load makes what the
// file order makes (every batch once, each org's in file order, every user
// existing before a batch names it), a batch is sent only after every
// earlier batch of its org and every earlier one it shares a user with
// where either creates it, and with --parallel 1 they are sent in file
// order. With --parallel 4, batches of different orgs overlap.
func TestSendImportKeepsOrder(t *testing.T) {
	specs := []string{"a:user:u1", "b:user:u2", "a:share:u2", "b:share:u1", "c:bind", "a:member:u2", "b:share", "a:ns",
		"c:user:u3", "c:share:u3", "a:share", "b:bind:u3", "c:del", "d:member:u1", "a:share", "b:share:u2", "c:share", "a:res", "d:share:u3", "b:share"}
	for _, parallel := range []int{1, 2, 4, 16} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			bs := batchesOf(t, specs...)
			r := newOrderRecorder(t, bs)
			n, rev, err := sendImport(bs, parallel, r.send)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]uint64{uint64(len(bs)), uint64(len(bs))}, [2]uint64{uint64(n), rev}); diff != "" {
				t.Errorf("changes, revision (-want +got):\n%s", diff)
			}
			want := map[string][]int{}
			for i, b := range bs {
				want[b.org] = append(want[b.org], i)
			}
			if diff := cmp.Diff(want, r.made); diff != "" {
				t.Errorf("each org's batches made (-file order +got):\n%s", diff)
			}
			if parallel == 1 {
				want := make([]int, len(bs))
				for i := range want {
					want[i] = i
				}
				if diff := cmp.Diff(want, r.order); diff != "" {
					t.Errorf("order with --parallel 1 (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestImportDeps pins the dependencies: the org's last batch, a user's
// creator for those that name it, and for a creator every earlier batch
// that named or created the same user or email.
func TestImportDeps(t *testing.T) {
	bs := batchesOf(t, "a:user:u1", "b:user:u2", "c:member:u1", "d:share:u1", "a:share:u2", "e:bind", "b:share", "f:user:u1", "g:member:u1")
	bs = append(bs, importBatch{org: "h", lines: []int{10}, changes: []client.WriteChange{{Op: "user.create", User: "u9", Email: "U2@Example.com"}}})
	want := [][]int{nil, nil, {0}, {0}, {0, 1}, nil, {1}, {0, 2, 3}, {7}, {1}}
	got := importDeps(bs)
	for i := range got {
		if len(got[i]) == 0 {
			got[i] = nil
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
}

// TestSendImportOverlaps: with --parallel 2, two batches of different orgs
// are in flight at once — shares, and batches that create users (the first
// 100 requests of the peers' load). Each send waits for the other to start:
// sent one after the other, the first would wait forever, and the test
// fails after its bound instead.
func TestSendImportOverlaps(t *testing.T) {
	for _, specs := range [][]string{
		{"a:share", "b:share"},
		{"a:user:u1", "b:user:u2"},
	} {
		t.Run(strings.Join(specs, ","), func(t *testing.T) {
			bs := batchesOf(t, specs...)
			var started sync.WaitGroup
			started.Add(2)
			both := make(chan struct{})
			go func() { started.Wait(); close(both) }()
			_, _, err := sendImport(bs, 2, func(b importBatch) (uint64, error) {
				started.Done()
				select {
				case <-both:
					return 1, nil
				case <-time.After(30 * time.Second):
					return 0, errors.New("the other batch was not sent alongside")
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSendImportNoHeadOfLine: a batch waiting for the one before it (an
// org's last lines after its first thousand) does not hold back a later
// batch of another org: with --parallel 2, b's batch is sent while a's
// first is in flight. Each of those two waits for the other to start:
// sent in file order, a's first would wait for ever, and the test fails
// after its bound instead.
func TestSendImportNoHeadOfLine(t *testing.T) {
	bs := batchesOf(t, "a:share", "a:share", "b:share")
	aStarted, bStarted := make(chan struct{}), make(chan struct{})
	var order []int
	var mu sync.Mutex
	_, _, err := sendImport(bs, 2, func(b importBatch) (uint64, error) {
		i := b.lines[0] - 1
		mu.Lock()
		order = append(order, i)
		mu.Unlock()
		wait := (<-chan struct{})(nil)
		switch i {
		case 0:
			close(aStarted)
			wait = bStarted
		case 2:
			close(bStarted)
			wait = aStarted
		default:
			return 1, nil
		}
		select {
		case <-wait:
			return 1, nil
		case <-time.After(30 * time.Second):
			return 0, errors.New("a later batch of another org was not sent alongside")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[2] != 1 {
		t.Errorf("order sent %v, want a's second batch last", order)
	}
}

// TestSendImportFailure: the error is the earliest failed batch's; the
// changes counted as made are those before it; nothing that depends on a
// failed batch is sent; with --parallel 1 nothing after the failed batch
// is sent. (A batch that depends on nothing in flight may be sent beside
// one that fails, and is then named as made too.)
func TestSendImportFailure(t *testing.T) {
	tests := []struct {
		name     string
		specs    []string
		fail     []int
		parallel int
		wantN    int
		wantErr  []string
		never    []int // batches that must not be sent
	}{
		{name: "serial", specs: []string{"a:share", "b:share", "c:share", "d:share"}, fail: []int{1}, parallel: 1,
			wantN: 1, wantErr: []string{"line 2 (org b)", "nothing of line 2 was made, 1 change before it was", "--from 2"}, never: []int{2, 3}},
		{name: "serial, two failures", specs: []string{"a:share", "b:share", "c:share"}, fail: []int{1, 2}, parallel: 1,
			wantN: 1, wantErr: []string{"line 2 (org b)"}, never: []int{2}},
		{name: "a user's creator fails: what names it is not sent", specs: []string{"a:share", "b:user:u1", "c:member:u1", "d:share"}, fail: []int{1}, parallel: 4,
			wantN: 1, wantErr: []string{"line 2 (org b)", "--from 2"}, never: []int{2}},
		{name: "a user named before it is created: as in file order", specs: []string{"a:share", "b:member:u1", "c:user:u1", "d:share"}, parallel: 4,
			wantN: 1, wantErr: []string{"line 2 (org b)", `user "u1" not found`, "--from 2"}, never: []int{2}},
		{name: "a user created twice: the second fails, as in file order", specs: []string{"a:user:u1", "b:user:u1", "c:share"}, parallel: 4,
			wantN: 1, wantErr: []string{"line 2 (org b)", "already exists", "--from 2"}},
		{name: "same org after the failure", specs: []string{"a:share", "a:share", "a:share"}, fail: []int{0}, parallel: 4,
			wantN: 0, wantErr: []string{"line 1 (org a)"}, never: []int{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs := batchesOf(t, tc.specs...)
			r := newOrderRecorder(t, bs, tc.fail...)
			n, _, err := sendImport(bs, tc.parallel, r.send)
			if err == nil {
				t.Fatal("no error")
			}
			if n != tc.wantN {
				t.Errorf("%d changes made before the failure, want %d", n, tc.wantN)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, i := range tc.never {
				if slices.Contains(r.order, i) {
					t.Errorf("batch %d was sent (sent: %v)", i, r.order)
				}
			}
		})
	}
}

// TestSendImportNamesLaterMade: a failure of a batch sent alongside later
// ones that were made lists those later ones.
func TestSendImportNamesLaterMade(t *testing.T) {
	bs := batchesOf(t, "a:share", "b:share", "c:share")
	var started sync.WaitGroup
	started.Add(3)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	n, _, err := sendImport(bs, 3, func(b importBatch) (uint64, error) {
		started.Done()
		<-all
		if b.org == "a" {
			return 0, errors.New("change 0: refused")
		}
		return 2, nil
	})
	if err == nil || n != 0 {
		t.Fatalf("n %d, err %v; want 0 and an error", n, err)
	}
	for _, w := range []string{"line 1 (org a)", "lines 2-2, 3-3, sent alongside, were made too"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}
