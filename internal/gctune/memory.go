package gctune

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// DefaultHeadroomMiB is serve's headroom when the operator sets none, on
// a host with at least 4 × as much memory (DefaultHeadroom).
const DefaultHeadroomMiB = 1024

// DefaultHeadroom is the headroom, in bytes, for a process that may use
// limit bytes of memory (MemoryLimit; 0: unknown): DefaultHeadroomMiB,
// but at most a quarter of the limit, so that a small container does not
// let its heap grow into its memory limit between collections. At least
// 128 MiB or the limit's quarter, whichever is smaller.
func DefaultHeadroom(limit uint64) uint64 {
	h := uint64(DefaultHeadroomMiB) << 20
	if limit > 0 && limit/4 < h {
		h = limit / 4
	}
	return h
}

// Paths MemoryLimit reads.
const (
	cgroup2Max = "/sys/fs/cgroup/memory.max"
	cgroup1Max = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	meminfo    = "/proc/meminfo"
)

// MemoryLimit is the memory the process may use, in bytes: the smallest
// of its cgroup's limit (v2 memory.max or v1 memory.limit_in_bytes) and
// the host's MemTotal, or 0 when none can be read. readFile is
// os.ReadFile (a parameter for tests).
func MemoryLimit(readFile func(string) ([]byte, error)) uint64 {
	var limit uint64
	take := func(v uint64) {
		if v > 0 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	for _, p := range []string{cgroup2Max, cgroup1Max} {
		if b, err := readFile(p); err == nil {
			// "max" (v2) or a huge number (v1's "no limit") parse as no
			// limit or are above MemTotal.
			if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
				take(v)
			}
		}
	}
	if b, err := readFile(meminfo); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			// MemTotal:       24573012 kB
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
				if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					take(v << 10)
				}
				break
			}
		}
	}
	return limit
}
