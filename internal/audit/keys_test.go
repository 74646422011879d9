package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

// TestMACReuse: the MACs of a key whose HMAC states are reused (a derived
// key) are those of a fresh HMAC per message, from any goroutine, and the
// same as a key without a pool (a zero-value MACKey's path).
func TestMACReuse(t *testing.T) {
	s, err := GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	k := s.MACKey()
	if k.macs == nil {
		t.Fatal("a derived key has no HMAC pool")
	}
	plain := MACKey{key: k.key, ID: k.ID}
	fresh := func(msg ...[]byte) []byte {
		m := hmac.New(sha256.New, k.key[:])
		for _, b := range msg {
			m.Write(b)
		}
		return m.Sum(nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				var h Hash
				copy(h[:], fmt.Sprintf("entry %d of %d......................", i, g))
				org, seq := fmt.Sprintf("org%d", g), uint64(i)
				var e encoder
				e.buf = append(e.buf, headMACLabel...)
				e.str(org)
				e.u64(seq)
				e.buf = append(e.buf, h[:]...)
				want := [][]byte{fresh([]byte(entryMACLabel), h[:]), fresh(e.buf)}
				for _, key := range []MACKey{k, plain} {
					if got := key.EntryMAC(h); !hmac.Equal(got, want[0]) {
						errs <- fmt.Errorf("EntryMAC %d/%d = %x, want %x", g, i, got, want[0])
						return
					}
					if got := key.HeadMAC(org, seq, h); !hmac.Equal(got, want[1]) {
						errs <- fmt.Errorf("HeadMAC %d/%d = %x, want %x", g, i, got, want[1])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkEntryMAC: the two MACs of an audit entry.
func BenchmarkEntryMAC(b *testing.B) {
	s, err := GenerateSigner()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		k    MACKey
	}{{"reused", s.MACKey()}, {"fresh", MACKey{key: s.MACKey().key, ID: s.MACKey().ID}}} {
		b.Run(bc.name, func(b *testing.B) {
			var h Hash
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				h[0] = byte(i)
				_ = bc.k.EntryMAC(h)
				_ = bc.k.HeadMAC("acme", uint64(i), h)
			}
		})
	}
}
