package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
)

// The change feed (docs/replicas.md): an org's decision-state changes
// after a revision. Package client/replica follows it to keep an
// in-process engine; this is the plain read (changes:read at org scope).

type (
	ChangesPage = api.ChangesPage
	ChangeEvent = api.ChangeEvent
	StateChange = api.StateChange
)

// Changes reads the org's events after revision after, waiting up to wait
// (at most 30s; 0 answers at once) when there are none yet. Resume with
// the page's Revision. A revision older than the server's retention, or
// ahead of it, is 410 (IsGone): start again from a snapshot.
func (c *Client) Changes(ctx context.Context, org string, after uint64, wait time.Duration) (ChangesPage, error) {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}}
	if wait > 0 {
		q.Set("wait", strconv.Itoa(int(min(wait, 30*time.Second)/time.Second)))
	}
	return get[ChangesPage](ctx, c, orgPath(org)+"/changes", q)
}
