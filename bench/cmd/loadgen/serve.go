package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// cmdServe is the profiling twin of `gatehouse serve --data DIR --no-demo`:
// the same store, directory, authentication and server packages with the
// same defaults, plus a CPU profile written on SIGINT/SIGTERM. The
// throughput figures are taken from the real binary; this writes a whole
// run's profile at exit (gatehouse serve --debug-addr serves pprof live).
// Loopback only.
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	data := fs.String("data", "", "data directory written by `loadgen load`")
	addr := fs.String("addr", "127.0.0.1:18080", "listen address (loopback only)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("serve: -data is required")
	}
	if _, _, err := loopbackAddr("http://" + *addr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t0 := time.Now()
	srv, closeTwin, err := openTwin(ctx, *data, "loadgen-twin")
	if err != nil {
		return err
	}
	defer closeTwin()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logf("serving %s on http://%s (loaded in %v)", *data, ln.Addr(), time.Since(t0).Round(time.Millisecond))
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			logf("CPU profile written to %s", *cpuprofile)
		}()
	}
	err = srv.Serve(ctx, ln, server.ServeOptions{ShutdownTimeout: 5 * time.Second})
	fmt.Fprintln(os.Stderr, "loadgen: serve stopped")
	return err
}

// openTwin opens a `loadgen load` data directory the way gatehouse serve
// does (the same store, directory, authentication and server packages,
// with their defaults, logging discarded) for serve and inproc; release
// closes them in reverse order.
func openTwin(ctx context.Context, data, version string) (srv *server.Server, release func(), err error) {
	var closers []func()
	release = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlite.Open(ctx, filepath.Join(data, "gatehouse.db"), sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { st.Close() })
	keys, err := auth.LoadKeyFile(filepath.Join(data, "session-keys.json"))
	if err != nil {
		return nil, nil, err
	}
	dir, err := directory.Open(ctx, st, authz.New(), directory.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { dir.Close() })
	as := auth.New(st, dir, keys, auth.Options{Logger: log})
	closers = append(closers, func() { as.Close() })
	srv, err = server.New(server.Config{Directory: dir, Store: st, Auth: as, Logger: log, Version: version})
	if err != nil {
		return nil, nil, err
	}
	return srv, release, nil
}
