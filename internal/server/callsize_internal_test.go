package server

import (
	"testing"
	"unsafe"
)

// TestCheckCallSize: a /check call and its request and answer are one
// allocation (checkCall) of at most 768 bytes, the size class it is in
// today; the next class is 896, 128 bytes more of garbage per /check. A
// field added to call, CheckRequest or CheckResponse that crosses it
// fails here: weigh it, then move the bound.
func TestCheckCallSize(t *testing.T) {
	if got := unsafe.Sizeof(checkCall{}); got > 768 {
		t.Errorf("checkCall is %d bytes, over the 768-byte size class", got)
	}
}
