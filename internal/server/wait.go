package server

import (
	"strconv"
	"time"
)

// parseWait reads a long poll's ?wait= (the change feed, the audit log,
// an approval): whole seconds ("30") or a Go duration ("30s", "1m"), from
// 0 to max; empty is 0 (answer at once). Anything else is a 400 naming
// "wait".
func parseWait(v string, max time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.ParseUint(v, 10, 32)
		if nerr != nil {
			return 0, invalidField("wait", "wait must be seconds (\"30\") or a duration (\"30s\"), from 0 to %s; got %q", max, v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > max {
		return 0, invalidField("wait", "wait must be from 0 to %s; got %q", max, v)
	}
	return d, nil
}
