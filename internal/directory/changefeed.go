package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
	"github.com/gatehouse-dev/gatehouse/internal/errs"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The change feed (issue 19): an org's decision state (Snapshot) and the
// changes to it after a revision (Changes), for replicas that decide in a
// host's process (package client/replica; docs/replicas.md).
//
// Permission: changes:read at org scope, held unconditionally. The feed is
// the whole of the org's decision state — every binding, member (with the
// attributes conditions read), team, resource's labels and attributes and
// the policy text — so it is an org-wide read; a template's top role holds
// it through *:* (the default template's owner, not its admin; mentiko
// grants it to admin: docs/replicas.md), and a host platform's service is
// granted it with a custom role (`role replica { level 1; permissions
// changes:read }`). A reader that is not a member gets ErrNotFound (as
// for an org that does not exist), a member without the permission
// ErrForbidden.
//
// Redaction: the feed carries decision state only (package feed): no
// secrets, no resource specs (where secret names are referenced), no API
// keys or hashes, no invitations or emails, no deployment-wide users, and
// nothing of another org. What a change carries is what the server's own
// engine applies for it, translated by the same code (follower.translate).
//
// No stale allow: a page is answered only after the engine has reached the
// page's last revision and the reader still holds changes:read there, so a
// reader whose permission is revoked at revision R gets nothing after R.
//
// Retention: the changelog after a revision is served while its first
// entry is younger than Options.ChangeRetention; an older revision (or
// one the server does not have: ahead of its head) is *ChangesGoneError
// (410), and the reader must start again from a snapshot.

// PermChangesRead is the permission the change feed and snapshot need.
const PermChangesRead = "changes:read"

// DefaultChangeRetention is Options.ChangeRetention's default.
const DefaultChangeRetention = 24 * time.Hour

// feedScan bounds the changelog entries one Changes call reads when none
// is of the org: it then answers an empty page that moves the reader's
// revision on.
const feedScan = 20 * changesPage

// ChangesGoneError says why a revision cannot be followed from. It wraps
// errs.Gone (410).
type ChangesGoneError struct {
	After uint64 // the revision asked for
	Head  uint64 // the server's newest revision
	// Ahead: After is beyond the server's history (a restored database).
	Ahead bool
	// Age: how old the first change after After is (Ahead false).
	Age, Retention time.Duration
}

func (e *ChangesGoneError) Error() string {
	if e.Ahead {
		return fmt.Sprintf("revision %d is ahead of this server's newest revision %d: its history does not contain it; start again from a snapshot", e.After, e.Head)
	}
	return fmt.Sprintf("the changes after revision %d are older than the feed's retention (%s): start again from a snapshot (GET /v1/orgs/{org}/snapshot)", e.After, e.Retention)
}

// Unwrap returns errs.Gone.
func (e *ChangesGoneError) Unwrap() error { return errs.Gone }

func (d *Directory) retention() time.Duration {
	if d.opts.ChangeRetention > 0 {
		return d.opts.ChangeRetention
	}
	return DefaultChangeRetention
}

// mayFollow checks that actor is a member of org holding changes:read at
// org scope, at the engine's current revision.
func (d *Directory) mayFollow(ctx context.Context, name, org string, actor Actor) error {
	return d.read(ctx, name, org, actor, func(o *op) error {
		return o.need(PermChangesRead, authz.Scope{})
	})
}

// MayFollow checks, without reading anything else, that actor may read
// org's snapshot and changes (a member holding changes:read at org scope):
// for a caller that must refuse cheaply before queueing for a snapshot.
func (d *Directory) MayFollow(ctx context.Context, actor Actor, org string) error {
	return d.mayFollow(ctx, "snapshot", org, actor)
}

// snapshotAttempts bounds how often Snapshot starts its read again to
// wait for the engine outside the read transaction (see Snapshot).
const snapshotAttempts = 3

// errEngineBehind: the engine has not reached the snapshot's revision;
// Snapshot waits for it with the read transaction closed and reads again.
var errEngineBehind = errors.New("engine behind the snapshot")

// Snapshot streams the org's decision state at one revision — the same
// data the server's engine loads for the org — as it is read from the
// store (one read transaction): header once, with the revision and how
// many puts follow, then put for each principal, team, binding and
// resource in that order. Needs changes:read at org scope, checked before
// anything is read and again at the snapshot's revision before header is
// called (no stale allow), so nothing of the org is handed over to a
// reader who lost the permission at or before that revision.
//
// The *feed.Change (and what it points to) is valid only until put
// returns. An error before header is called is the directory's (mapped
// as everywhere: ErrNotFound, ErrForbidden, …); an error after it (the
// store failed mid-read, ctx ended, or header or put failed — that error
// is returned unchanged) means the snapshot was cut short: the caller must
// not end it as complete (package feed's trailer).
func (d *Directory) Snapshot(ctx context.Context, actor Actor, org string, header func(feed.Header) error, put func(*feed.Change) error) error {
	const name = "snapshot"
	if err := d.mayFollow(ctx, name, org, actor); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		// Waiting for the engine while holding the read transaction could
		// hold the connection the follower needs (a small pool): on all
		// but the last attempt, wait outside it and read again.
		rev, err := d.streamSnapshot(ctx, actor, org, attempt == snapshotAttempts, header, put)
		if !errors.Is(err, errEngineBehind) {
			return err
		}
		if err := d.WaitFor(ctx, rev); err != nil {
			return err
		}
	}
}

// streamSnapshot is one attempt of Snapshot. Unless wait, it returns
// errEngineBehind and the snapshot's revision, having handed nothing over,
// when the engine has not reached that revision.
func (d *Directory) streamSnapshot(ctx context.Context, actor Actor, org string, wait bool, header func(feed.Header) error, put func(*feed.Change) error) (uint64, error) {
	const name = "snapshot"
	started := false
	var c feed.Change
	for r, err := range d.st.StreamOrg(ctx, org) {
		if err != nil {
			return 0, mapErr(name, err)
		}
		c = feed.Change{}
		switch {
		case r.Header != nil:
			h := r.Header
			if !wait && d.eng.Revision() < h.Revision {
				return h.Revision, errEngineBehind
			}
			// No stale allow: the reader held the permission at the
			// engine's revision before; check again at the snapshot's.
			if err := d.recheck(ctx, name, org, actor, h.Revision); err != nil {
				return 0, err
			}
			fh := feed.Header{
				Format: feed.SnapshotFormat, Org: org, Revision: h.Revision, Lifecycle: h.Org.Lifecycle,
				Namespaces: h.Namespaces, Principals: h.Principals, Teams: h.Teams, Bindings: h.Bindings, Resources: h.Resources,
			}
			if h.Policy.Version > 0 {
				text := h.Policy.Text
				fh.Policy = &text
			}
			started = true
			if err := header(fh); err != nil {
				return 0, err
			}
			continue
		case r.Principal != nil:
			c.Op, c.Principal = feed.OpPutPrincipal, r.Principal
		case r.Team != nil:
			c.Op, c.Team = feed.OpPutTeam, r.Team
		case r.Binding != nil:
			c.Op, c.Binding = feed.OpPutBinding, r.Binding
		case r.Resource != nil:
			c.Op, c.Resource = feed.OpPutResource, r.Resource
		default:
			continue
		}
		if !started {
			return 0, mapErr(name, fmt.Errorf("the store's org stream began with a %s, not its header", c.Op))
		}
		if err := put(&c); err != nil {
			return 0, err
		}
	}
	if !started {
		return 0, mapErr(name, errors.New("the store's org stream ended without a header"))
	}
	return 0, nil
}

// recheck waits (bounded) for the engine to reach rev and checks the
// permission again there.
func (d *Directory) recheck(ctx context.Context, name, org string, actor Actor, rev uint64) error {
	if err := d.WaitFor(ctx, rev); err != nil {
		return err
	}
	return d.mayFollow(ctx, name, org, actor)
}

// Changes answers the org's events after revision after, in order. When
// there are none yet it waits for them until deadline (long poll; a zero
// deadline does not wait), then answers an empty page whose Revision
// says where to resume. Needs changes:read at org scope. A revision older
// than the retention, or ahead of the server, is *ChangesGoneError. When
// the org is deleted the page ends with its org.delete event.
func (d *Directory) Changes(ctx context.Context, actor Actor, org string, after uint64, deadline time.Time) (feed.Page, error) {
	const name = "changes"
	if err := d.mayFollow(ctx, name, org, actor); err != nil {
		return feed.Page{}, err
	}
	head, err := d.st.CurrentRevision(ctx)
	if err != nil {
		return feed.Page{}, mapErr(name, err)
	}
	if after > head {
		return feed.Page{}, &ChangesGoneError{After: after, Head: head, Ahead: true}
	}
	page := feed.Page{Org: org, After: after, Revision: after}
	cursor, scanned, first := after, 0, true
	for {
		cs, err := d.st.ChangesSince(ctx, cursor, changesPage)
		if err != nil {
			return feed.Page{}, mapErr(name, err)
		}
		if first && len(cs) > 0 {
			first = false
			if age := time.Since(cs[0].CreatedAt); age > d.retention() {
				return feed.Page{}, &ChangesGoneError{After: after, Head: head, Age: age, Retention: d.retention()}
			}
		}
		if len(cs) == 0 {
			if scanned == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
				// Wake when the engine moves past cursor (it follows the
				// store; poke makes it look now, for other processes'
				// commits on SQLite).
				d.fol.poke()
				wctx, cancel := context.WithDeadline(ctx, deadline)
				err := d.eng.WaitFor(wctx, cursor+1)
				cancel()
				if err == nil || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					if err == nil {
						continue
					}
					// The wait ended: one last read, then answer.
					deadline = time.Time{}
					continue
				}
				return feed.Page{}, ctx.Err()
			}
			break
		}
		cursor = cs[len(cs)-1].Revision
		page.Revision = cursor
		scanned += len(cs)
		evs, gone, err := d.feedEvents(org, cs)
		if err != nil {
			return feed.Page{}, mapErr(name, err)
		}
		page.Events = append(page.Events, evs...)
		if gone {
			page.Revision = page.Events[len(page.Events)-1].Revision
			break
		}
		if len(page.Events) > 0 || scanned >= feedScan {
			break
		}
	}
	if page.Revision > after {
		if err := d.recheck(ctx, name, org, actor, page.Revision); err != nil {
			return feed.Page{}, err
		}
	}
	if page.Events == nil {
		page.Events = []feed.Event{}
	}
	return page, nil
}

// feedEvents translates the org's changelog entries of cs into events, one
// per revision. gone: the org was deleted (the last event ends with
// org.delete; nothing after it is included).
func (d *Directory) feedEvents(org string, cs []store.Change) (evs []feed.Event, gone bool, err error) {
	known := func(string) bool { return true }
	for _, c := range cs {
		if c.Org != org {
			continue
		}
		fc, err := d.feedChanges(c, known)
		if err != nil {
			return nil, false, err
		}
		if len(fc) == 0 {
			continue
		}
		if n := len(evs); n == 0 || evs[n-1].Revision != c.Revision {
			evs = append(evs, feed.Event{Revision: c.Revision})
		}
		ev := &evs[len(evs)-1]
		ev.Changes = append(ev.Changes, fc...)
		if c.Kind == store.KindOrgDelete {
			return evs, true, nil
		}
	}
	return evs, false, nil
}

// feedChanges translates one changelog entry of the org with the
// follower's own translation (what the server's engine applies), the
// policy as its text.
func (d *Directory) feedChanges(c store.Change, known func(string) bool) ([]feed.Change, error) {
	if c.Kind == store.KindPolicyPut {
		v, err := c.Decode()
		if err != nil {
			return nil, err
		}
		text := v.(store.Policy).Text
		return []feed.Change{{Op: feed.OpSetPolicy, Policy: &text}}, nil
	}
	chs, err := d.fol.translate(c, known, map[string]bool{})
	if err != nil {
		return nil, err
	}
	out := make([]feed.Change, 0, len(chs))
	for i := range chs {
		ch := &chs[i]
		fc := feed.Change{ID: ch.ID}
		switch ch.Op {
		case authz.OpPutBinding:
			b := ch.Binding
			fc.Op, fc.Binding = feed.OpPutBinding, &b
		case authz.OpDeleteBinding:
			fc.Op = feed.OpDeleteBinding
		case authz.OpPutPrincipal:
			p := ch.Principal
			fc.Op, fc.Principal = feed.OpPutPrincipal, &p
		case authz.OpDeletePrincipal:
			fc.Op = feed.OpDeletePrincipal
		case authz.OpPutTeam:
			t := ch.Team
			fc.Op, fc.Team = feed.OpPutTeam, &t
		case authz.OpDeleteTeam:
			fc.Op = feed.OpDeleteTeam
		case authz.OpPutResource:
			r := ch.Resource
			fc.Op, fc.Resource = feed.OpPutResource, &r
		case authz.OpDeleteResource:
			r := authz.Resource{Namespace: ch.Resource.Namespace, Type: ch.Resource.Type, ID: ch.Resource.ID}
			fc.Op, fc.Resource = feed.OpDeleteResource, &r
		case authz.OpPutNamespace:
			fc.Op = feed.OpPutNamespace
		case authz.OpDeleteNamespace:
			fc.Op = feed.OpDeleteNamespace
		case authz.OpSetLifecycle:
			fc.Op, fc.Lifecycle = feed.OpSetLifecycle, ch.Lifecycle
		case authz.OpDeleteOrg:
			fc.Op = feed.OpDeleteOrg
		default:
			// A whole-org put (translate gives one only for an org it
			// does not know, and every org is known here) or an op the
			// feed does not carry: refuse rather than drop silently.
			return nil, fmt.Errorf("changelog entry %d/%d: %s has no feed form", c.Revision, c.Seq, ch.Op)
		}
		out = append(out, fc)
	}
	return out, nil
}
