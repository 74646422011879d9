package audit

import (
	"context"
	"strings"
)

// Only passes to Sink the entries whose action starts with one of
// prefixes ("approval." routes every approval's request and state change
// to chat through a Webhook: the approval webhook, with the exporter's
// HMAC signature, retry and cursor). The other entries are acknowledged
// without delivery, so the exporter's cursor moves past them. A batch
// with nothing to deliver is not sent.
func Only(s Sink, prefixes ...string) Sink { return only{s, prefixes} }

type only struct {
	Sink
	prefixes []string
}

func (o only) Deliver(ctx context.Context, entries []Entry) error {
	var keep []Entry
	for _, e := range entries {
		for _, p := range o.prefixes {
			if strings.HasPrefix(e.Action, p) {
				keep = append(keep, e)
				break
			}
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return o.Sink.Deliver(ctx, keep)
}
