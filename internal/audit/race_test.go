//go:build race

package audit_test

// raceEnabled: the race detector slows the exhaustive sweeps down ~10x, so
// they sample (and say so).
const raceEnabled = true
