//go:build race

package server_test

// raceEnabled: the race detector slows the credential property test down
// ~10x, so it runs fewer operations (and says so).
const raceEnabled = true
