//go:build !unix

package authz

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
