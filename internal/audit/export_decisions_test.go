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

// SetCheckpointHooks sets the test hooks of d's background checkpointer
// (checkpointer.go): authenticated runs between its authentication of
// the entries and its write transaction, finished after each checkpoint
// it was handed. False if d has none (its recorder is not a *Log with a
// Signer). Call it before d records anything.
func SetCheckpointHooks(d *DecisionLog, authenticated func(org string, seq uint64), finished func(org string, wrote bool, err error)) bool {
	if d.ckpt == nil {
		return false
	}
	d.ckpt.authenticated, d.ckpt.finished = authenticated, finished
	return true
}
