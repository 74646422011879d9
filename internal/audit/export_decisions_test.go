package audit

// QueuedDecisions is how many Records wait for the group-commit writer.
func QueuedDecisions(d *DecisionLog) int { return len(d.queue) }
