package audit

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// QueuedDecisions is how many Records wait for the group-commit writer.
func QueuedDecisions(d *DecisionLog) int { return len(d.queue) }

// NewDecisionLogClock is NewDecisionLog on a clock the test drives: now
// stamps every Record's arrival and the writer's decisions, and the
// writer's commit windows end when the channel after returned delivers.
func NewDecisionLogClock(st store.Store, rec Recorder, opts DecisionLogOptions, now func() time.Time, after func(time.Duration) <-chan time.Time) *DecisionLog {
	return newDecisionLog(st, rec, opts, now, after)
}
