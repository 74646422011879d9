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
// the policy text — so it is an org-wide read; owners and admins hold it
// through *:*, and a host platform's service is granted it with a custom
// role (`role replica { level 1; permissions changes:read }`). A reader
// that is not a member gets ErrNotFound (as for an org that does not
// exist), a member without the permission ErrForbidden.
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

// Snapshot is the org's decision state at one revision (Header.Revision):
// the same data the server's engine loads for the org. Needs
// changes:read at org scope.
func (d *Directory) Snapshot(ctx context.Context, actor Actor, org string) (*feed.Snapshot, error) {
	const name = "snapshot"
	if err := d.mayFollow(ctx, name, org, actor); err != nil {
		return nil, err
	}
	snap, err := d.st.LoadOrg(ctx, org)
	if err != nil {
		return nil, mapErr(name, err)
	}
	// No stale allow: the reader held the permission at the engine's
	// revision; check again once the engine has reached the snapshot's.
	if err := d.recheck(ctx, name, org, actor, snap.Revision); err != nil {
		return nil, err
	}
	s := &feed.Snapshot{
		Header: feed.Header{
			Format: feed.SnapshotFormat, Org: org, Revision: snap.Revision, Lifecycle: snap.Org.Lifecycle,
			Namespaces: snap.Namespaces, Principals: len(snap.Principals), Teams: len(snap.Teams),
			Bindings: len(snap.Bindings), Resources: len(snap.Resources),
		},
		Principals: snap.Principals, Teams: snap.Teams, Bindings: snap.Bindings, Resources: snap.Resources,
	}
	if snap.Policy.Version > 0 {
		text := snap.Policy.Text
		s.Policy = &text
	}
	return s, nil
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
