package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz/feed"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// Change feed routes (issue 19; docs/replicas.md): an org's decision
// state at a revision (snapshot, JSON Lines) and its changes after a
// revision (JSON long poll, or server-sent events). Both need
// changes:read at org scope (directory/changefeed.go says why and what
// the feed carries: decision state only, nothing secret).

// maxFeedWait bounds a long poll (and each wait of an event stream
// between keep-alives).
const maxFeedWait = 30 * time.Second

// MediaTypeEventStream is the media type of server-sent events.
const MediaTypeEventStream = "text/event-stream"

func (s *Server) changeRoutes() []*Route {
	after := Param{"after", "integer", "the revision to follow from (the previous answer's revision, or a snapshot's); 0: from the start of the retained history"}
	wait := Param{"wait", "string", "long poll: how long to wait for a change when there is none yet, in seconds (\"30\") or as a duration (\"30s\"), at most 30s"}
	changes := route("GET", "/v1/orgs/{org}/changes", "changes", "The org's decision-state changes after a revision, in order, one event per revision; the answer's revision is where to resume (after=revision), even when it has no events. Long poll with wait; with Accept: text/event-stream, server-sent events (id: the revision, so Last-Event-ID resumes). Needs changes:read at org scope. A revision older than the retention (or ahead of the server) is 410: start again from the snapshot.",
		s.changes).perm(directory.PermChangesRead).query(after, wait).selfBounded()
	changes.Streams = MediaTypeEventStream
	snapshot := route("GET", "/v1/orgs/{org}/snapshot", "changes", "The org's decision state at one revision, as JSON Lines: a header (revision, policy text, namespaces, counts), one put per principal, team, binding and resource, and a trailer. Start a replica with it, then follow /changes?after=<revision>. Needs changes:read at org scope.",
		s.snapshot).perm(directory.PermChangesRead).selfBounded()
	snapshot.ContentType = feed.MediaTypeSnapshot
	return []*Route{changes, snapshot}
}

// feedProblem turns a *directory.ChangesGoneError into a 410 that says
// what to do; other errors go through toProblem.
func feedProblem(err error) error {
	var ge *directory.ChangesGoneError
	if errors.As(err, &ge) {
		return problem(ProblemGone, "%s", ge.Error())
	}
	return err
}

// wantsEvents reports whether the client asked for server-sent events.
func wantsEvents(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), MediaTypeEventStream) {
				return true
			}
		}
	}
	return false
}

func (s *Server) changes(c *call, _ *noBody) (feed.Page, error) {
	after, err := c.queryUint("after")
	if err != nil {
		return feed.Page{}, err
	}
	if id := c.r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(id), 10, 64)
		if err != nil {
			return feed.Page{}, invalidField("Last-Event-ID", "Last-Event-ID must be a revision (a non-negative integer); got %q", id)
		}
		after = n
	}
	wait, err := parseWait(c.r.URL.Query().Get("wait"), maxFeedWait)
	if err != nil {
		return feed.Page{}, err
	}
	if wantsEvents(c.r) {
		return feed.Page{}, s.streamChanges(c, after)
	}
	ctx, done, err := s.followBudget(c, wait)
	if err != nil {
		return feed.Page{}, err
	}
	defer done()
	var deadline time.Time
	if wait > 0 {
		deadline = time.Now().Add(wait)
	}
	p, err := s.dir.Changes(ctx, c.actor(), c.org(), after, deadline)
	return p, feedProblem(err)
}

// streamChanges answers with server-sent events until the client goes
// away: one "change" event per revision (data: a feed.Event, id: its
// revision), a "change" event without changes when the deployment moved
// on and the org did not (so Last-Event-ID stays current), and a comment
// line every maxFeedWait without news. Every page is authorized anew —
// the credential authenticated again, membership and changes:read checked
// at the page's revision — so a revoked key or permission ends the
// stream with an "error" event (data: a problem document). An error before
// the first event is an ordinary problem answer.
//
// The stream holds one of the caller's long-poll slots (longpoll.go) from
// before its first page until it ends.
func (s *Server) streamChanges(c *call, after uint64) error {
	release, err := s.longPolls.hold(c.id.Principal)
	if err != nil {
		return err
	}
	defer release()
	rc := http.NewResponseController(c.w)
	started := false
	cursor := after
	for {
		if started {
			id, err := s.authenticate(c)
			if err == nil && (id.Principal != c.id.Principal || !id.AllowsOrg(c.org())) {
				err = problem(ProblemNotFound, "org %q: not found", c.org())
			}
			if err != nil {
				return s.streamError(c, rc, err)
			}
		}
		ctx, cancel := context.WithTimeout(c.r.Context(), s.requestTimeout+maxFeedWait)
		_ = rc.SetWriteDeadline(time.Now().Add(s.requestTimeout + maxFeedWait + writeMargin))
		// The first page does not wait: its errors (403, 404, 410) are
		// answered as problems, and a client sees the stream open at once.
		var deadline time.Time
		if started {
			deadline = time.Now().Add(maxFeedWait)
		}
		p, err := s.dir.Changes(ctx, c.actor(), c.org(), cursor, deadline)
		cancel()
		if err != nil {
			if c.r.Context().Err() != nil {
				c.streamed = true
				return nil // the client went away
			}
			if !started {
				return feedProblem(err)
			}
			return s.streamError(c, rc, feedProblem(err))
		}
		if !started {
			started = true
			c.streamed = true
			h := c.w.Header()
			h.Set("Content-Type", MediaTypeEventStream)
			h.Set("Cache-Control", "no-store")
			h.Set("X-Accel-Buffering", "no")
			c.w.WriteHeader(http.StatusOK)
		}
		var buf []byte
		for _, ev := range p.Events {
			buf = appendEvent(buf, "change", ev.Revision, ev)
		}
		if n := len(p.Events); p.Revision > cursor && (n == 0 || p.Events[n-1].Revision < p.Revision) {
			buf = appendEvent(buf, "change", p.Revision, feed.Event{Revision: p.Revision})
		}
		if len(buf) == 0 {
			buf = append(buf, ": keep-alive\n\n"...)
		}
		if _, err := c.w.Write(buf); err != nil {
			return nil
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		cursor = p.Revision
		if n := len(p.Events); n > 0 && isOrgDelete(p.Events[n-1]) {
			return nil // the org is gone: nothing follows
		}
	}
}

func isOrgDelete(ev feed.Event) bool {
	n := len(ev.Changes)
	return n > 0 && ev.Changes[n-1].Op == feed.OpDeleteOrg
}

// appendEvent appends one server-sent event whose data is v's JSON (one
// line: JSON has no raw newlines).
func appendEvent(buf []byte, name string, id uint64, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{}`)
	}
	buf = append(buf, "id: "...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, "\nevent: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, b...)
	return append(buf, "\n\n"...)
}

// streamError ends an event stream with an "error" event carrying the
// problem document (internal details withheld as in every answer).
func (s *Server) streamError(c *call, rc *http.ResponseController, err error) error {
	p := *toProblem(err)
	p.RequestID = c.reqID
	if p.Status == http.StatusInternalServerError {
		s.log.Error("change feed failed", "request_id", c.reqID, "err", err)
		p.Detail = "internal error (request " + c.reqID + ")"
	}
	b, _ := json.Marshal(p)
	buf := append([]byte("event: error\ndata: "), b...)
	buf = append(buf, "\n\n"...)
	_, _ = c.w.Write(buf)
	_ = rc.Flush()
	return nil
}

// maxSnapshots bounds the snapshots a server reads and sends at once:
// each holds a read transaction (and a pooled connection) open while it
// is sent, so replicas starting together queue rather than hold the
// store's connections.
const maxSnapshots = 2

// snapshot streams the org's snapshot as the store reads it (the
// directory checks changes:read before reading and again at the
// snapshot's revision before the header is sent). An error after the
// header cannot change the status: the stream ends without its trailer,
// which every reader refuses (cut short).
func (s *Server) snapshot(c *call, _ *noBody) (feed.Header, error) {
	ctx, cancel := context.WithTimeout(c.ctx, s.requestTimeout)
	defer cancel()
	// Refuse the unauthorized before they queue.
	if err := s.dir.MayFollow(ctx, c.actor(), c.org()); err != nil {
		return feed.Header{}, err
	}
	// A free slot is taken whatever the deadline (a select between a free
	// slot and an expired context picks either); only a full server waits.
	select {
	case s.snapshots <- struct{}{}:
	default:
		select {
		case s.snapshots <- struct{}{}:
		case <-ctx.Done():
			p := problem(ProblemUnavailable, "too many snapshots are being sent at once; retry")
			p.RetryAfter = 1
			return feed.Header{}, p
		}
	}
	defer func() { <-s.snapshots }()
	rc := http.NewResponseController(c.w)
	var sw *feed.SnapshotWriter
	n := 0
	header := func(h feed.Header) error {
		c.streamed = true
		// A large org takes a while to send: the write deadline follows
		// the rows, not the request timeout.
		_ = rc.SetWriteDeadline(time.Now().Add(s.requestTimeout + writeMargin))
		wh := c.w.Header()
		wh.Set("Content-Type", feed.MediaTypeSnapshot)
		wh.Set("Cache-Control", "no-store")
		wh.Set("X-Gatehouse-Revision", strconv.FormatUint(h.Revision, 10))
		c.w.WriteHeader(http.StatusOK)
		sw = feed.NewSnapshotWriter(c.w)
		return sw.WriteHeader(h)
	}
	put := func(ch *feed.Change) error {
		n++
		if n%65536 == 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(s.requestTimeout + writeMargin))
		}
		return sw.Put(*ch)
	}
	err := s.dir.Snapshot(ctx, c.actor(), c.org(), header, put)
	if !c.streamed {
		return feed.Header{}, err
	}
	if err != nil {
		// Cut short: no trailer. The client going away is not news.
		if c.r.Context().Err() == nil {
			s.log.Error("snapshot cut short", "request_id", c.reqID, "org", c.org(), "err", err)
		}
		return feed.Header{}, nil
	}
	_ = sw.Close()
	return feed.Header{}, nil
}
