package gctune

import (
	"io/fs"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	const gib = 1 << 30
	mem24 := "MemTotal:       25165824 kB\nMemFree:        1 kB\n" // 24 GiB
	tests := []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"nothing readable", nil, 0},
		{"host only", map[string]string{meminfo: mem24}, 24 * gib},
		{"cgroup v2 without a limit", map[string]string{cgroup2Max: "max\n", meminfo: mem24}, 24 * gib},
		{"cgroup v2 limit", map[string]string{cgroup2Max: "536870912\n", meminfo: mem24}, 512 << 20},
		{"cgroup v1 limit", map[string]string{cgroup1Max: "1073741824\n", meminfo: mem24}, gib},
		{"cgroup v1 without a limit", map[string]string{cgroup1Max: "9223372036854771712\n", meminfo: mem24}, 24 * gib},
		{"limit above the host", map[string]string{cgroup2Max: "103079215104", meminfo: mem24}, 24 * gib},
		{"limit, no meminfo", map[string]string{cgroup2Max: "268435456"}, 256 << 20},
		{"malformed", map[string]string{cgroup2Max: "lots", meminfo: "MemTotal: many kB\n"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func(p string) ([]byte, error) {
				if s, ok := tt.files[p]; ok {
					return []byte(s), nil
				}
				return nil, fs.ErrNotExist
			}
			if got := MemoryLimit(read); got != tt.want {
				t.Errorf("MemoryLimit = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDefaultHeadroom(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		limit, want uint64
	}{
		{0, 1024 * mib},        // unknown: the default
		{24 << 30, 1024 * mib}, // a large host
		{4 << 30, 1024 * mib},  // exactly four times the default
		{2 << 30, 512 * mib},   // a 2 GiB container: a quarter
		{512 * mib, 128 * mib}, // a 512 MiB container
	}
	for _, tt := range tests {
		if got := DefaultHeadroom(tt.limit); got != tt.want {
			t.Errorf("DefaultHeadroom(%d MiB) = %d MiB, want %d MiB", tt.limit/mib, got/mib, tt.want/mib)
		}
	}
}
