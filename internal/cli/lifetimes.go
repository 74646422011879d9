package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehouse-dev/gatehouse/client"
)

// lifetimeFlags are --for and --until, how long a binding or share lasts.
type lifetimeFlags struct {
	dur   time.Duration
	until string
}

func (l *lifetimeFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&l.dur, "for", 0, "the grant ends this long after it is made (30m, 2h)")
	fs.StringVar(&l.until, "until", "", "the grant ends at this RFC 3339 time (2026-12-31T18:00:00Z)")
}

// lifetime reads the flags (neither: the grant never ends).
func (l *lifetimeFlags) lifetime() (client.Lifetime, error) {
	var out client.Lifetime
	switch {
	case l.dur != 0 && l.until != "":
		return out, badInput("give --for or --until, not both")
	case l.dur < 0:
		return out, badInput("--for must be a positive duration (30m, 2h)")
	case l.dur > 0:
		out.ExpiresIn = l.dur.String()
	case l.until != "":
		t, err := time.Parse(time.RFC3339, l.until)
		if err != nil {
			return out, badInput("--until %q is not an RFC 3339 time (2026-12-31T18:00:00Z)", l.until)
		}
		out.ExpiresAt = t
	}
	return out, nil
}

// untilText says when a grant ends ("" when never).
func untilText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " until " + admTime(t)
}
