package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// conn is a minimal HTTP/1.1 keep-alive client on one TCP connection: it
// writes prebuilt requests and reads answers with a Content-Length (the
// only kind the Gatehouse server sends for JSON). It exists so that the
// load generator spends as little of the shared CPU as possible; every
// answer's status and body are still checked.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	body []byte
	dl   time.Time // the deadline last set
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &conn{addr: addr, c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}, nil
}

func (c *conn) close() { _ = c.c.Close() }

var errBadAnswer = errors.New("malformed HTTP answer")

// do sends req and returns the status and body (valid until the next call).
func (c *conn) do(req []byte, deadline time.Time) (int, []byte, error) {
	// Moving the deadline costs timer work in the runtime: do it when it
	// has moved by a second, not on every request.
	if deadline.Sub(c.dl) > time.Second {
		_ = c.c.SetDeadline(deadline)
		c.dl = deadline
	}
	if _, err := c.w.Write(req); err != nil {
		return 0, nil, err
	}
	if err := c.w.Flush(); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, errBadAnswer
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, errBadAnswer
	}
	n := -1
	closing := false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok {
			v = bytes.TrimSpace(v)
			switch {
			case asciiEqualFold(k, "Content-Length"):
				if n, err = strconv.Atoi(string(v)); err != nil || n < 0 {
					return 0, nil, errBadAnswer
				}
			case asciiEqualFold(k, "Connection"):
				closing = asciiEqualFold(v, "close")
			case asciiEqualFold(k, "Transfer-Encoding"):
				return 0, nil, fmt.Errorf("%w: chunked answer", errBadAnswer)
			}
		}
	}
	if n < 0 {
		return 0, nil, fmt.Errorf("%w: no Content-Length", errBadAnswer)
	}
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, nil, err
	}
	if closing {
		return status, c.body, errClosing
	}
	return status, c.body, nil
}

// errClosing: the answer was read but the server closes the connection.
var errClosing = errors.New("server closed the connection")

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
