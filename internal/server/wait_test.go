package server

import (
	"errors"
	"testing"
	"time"
)

func TestParseWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		max  time.Duration
		want time.Duration
		bad  bool
	}{
		{"", 30 * time.Second, 0, false},
		{"0", 30 * time.Second, 0, false},
		{"30", 30 * time.Second, 30 * time.Second, false},
		{"30s", 30 * time.Second, 30 * time.Second, false},
		{"1500ms", 30 * time.Second, 1500 * time.Millisecond, false},
		{"1m", 60 * time.Second, time.Minute, false},
		{"31", 30 * time.Second, 0, true},
		{"1m", 30 * time.Second, 0, true},
		{"-1s", 30 * time.Second, 0, true},
		{"-1", 30 * time.Second, 0, true},
		{"soon", 30 * time.Second, 0, true},
		{"99999999999", 30 * time.Second, 0, true},
	} {
		got, err := parseWait(tc.in, tc.max)
		if tc.bad {
			var p *Problem
			if !errors.As(err, &p) || p.Field != "wait" {
				t.Errorf("parseWait(%q, %s) = %v, %v; want a problem naming wait", tc.in, tc.max, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseWait(%q, %s) = %v, %v; want %v", tc.in, tc.max, got, err, tc.want)
		}
	}
}
