package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// closeRecorder is a request body that records whether it was closed.
type closeRecorder struct {
	io.Reader
	closed bool
}

func (b *closeRecorder) Close() error {
	b.closed = true
	return nil
}

// errAfter reads r, then fails with err instead of io.EOF.
type errAfter struct {
	r   io.Reader
	err error
}

func (e errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, e.err
	}
	return n, err
}

// TestReadBodyClosesAtEOF: readBody closes a body it has read to its end,
// so that net/http does not drain it again after the handler
// (chunkWriter.writeHeader's io.CopyN into io.Discard on every /check);
// a body it stops reading — over the limit, or failing — is left open for
// net/http to drain or to close the connection on, as before.
func TestReadBodyClosesAtEOF(t *testing.T) {
	type result struct {
		Body   string
		Err    bool
		Closed bool
	}
	tests := []struct {
		name  string
		body  io.Reader
		limit int64
		want  result
	}{
		{"read to its end", strings.NewReader(`{"action":"chains:run"}`), 1 << 10, result{Body: `{"action":"chains:run"}`, Closed: true}},
		{"empty", strings.NewReader(""), 1 << 10, result{Closed: true}},
		{"exactly the limit", strings.NewReader("12345678"), 8, result{Body: "12345678", Closed: true}},
		{"over the limit", strings.NewReader("123456789"), 8, result{Err: true}},
		{"a read error", errAfter{strings.NewReader("1234"), io.ErrUnexpectedEOF}, 8, result{Err: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := &closeRecorder{Reader: tt.body}
			req, err := http.NewRequest(http.MethodPost, "/v1/orgs/acme/check", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Body = rb
			c := &call{r: req}
			buf, err := c.readBody(tt.limit)
			got := result{Err: err != nil, Closed: rb.closed}
			if buf != nil {
				got.Body = buf.String()
				putBody(buf)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readBody (-want +got):\n%s", diff)
			}
		})
	}
}
