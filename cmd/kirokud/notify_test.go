package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// notifications listens on a unixgram socket in dir, as systemd does for a
// Type=notify unit, and returns its path and the datagrams that arrive.
func notifications(t *testing.T, dir string) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		b := make([]byte, 4096)
		for {
			n, err := conn.Read(b)
			if err != nil {
				return
			}
			ch <- string(b[:n])
		}
	}()
	return path, ch
}

// fields splits an sd_notify datagram into its VAR=value assignments.
func fields(msg string) map[string]string {
	f := map[string]string{}
	for _, l := range strings.Split(msg, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			f[k] = v
		}
	}
	return f
}

// nextState returns the next notification that changes the unit's state
// (READY, RELOADING or STOPPING), passing over STATUS= and the like.
func nextState(t *testing.T, ch <-chan string, what string) map[string]string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case msg, ok := <-ch:
			if !ok {
				t.Fatalf("notify socket closed while waiting for %s", what)
			}
			f := fields(msg)
			if f["READY"] != "" || f["RELOADING"] != "" || f["STOPPING"] != "" {
				return f
			}
		case <-timeout:
			t.Fatalf("kirokud never notified %s", what)
		}
	}
}

func monotonicUsec(t *testing.T) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3
}

// TestSDNotify: with NOTIFY_SOCKET set, as systemd sets it for
// systemd/kirokud.service, kirokud notifies READY=1 once it takes calls;
// on SIGHUP RELOADING=1 stamped with CLOCK_MONOTONIC, then READY=1 again
// whether the new file was taken or refused (else systemd would show the
// unit reloading for ever); on SIGTERM STOPPING=1, and it exits 0.
func TestSDNotify(t *testing.T) {
	d := prepare(t, "2s", "0120000001")
	sock, ch := notifications(t, d.dir)
	d.cmd = exec.Command(binary, "-config", filepath.Join(d.dir, "kiroku.yaml"))
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("kirokud log:\n%s", d.log.String())
		}
	})

	if f := nextState(t, ch, "READY=1 after start"); f["READY"] != "1" {
		t.Fatalf("got %v first, want READY=1", f)
	}
	d.waitLog(t, "kirokud ready")

	reload := func(name, logged string) {
		t.Helper()
		before := monotonicUsec(t)
		d.cmd.Process.Signal(syscall.SIGHUP)
		f := nextState(t, ch, "RELOADING=1 after SIGHUP ("+name+")")
		after := monotonicUsec(t)
		if f["RELOADING"] != "1" {
			t.Fatalf("%s: got %v after SIGHUP, want RELOADING=1", name, f)
		}
		usec, err := strconv.ParseUint(f["MONOTONIC_USEC"], 10, 64)
		if err != nil || usec < before || usec > after {
			t.Errorf("%s: got MONOTONIC_USEC=%q, want CLOCK_MONOTONIC µs within [%d, %d] (after the signal was sent)",
				name, f["MONOTONIC_USEC"], before, after)
		}
		if f := nextState(t, ch, "READY=1 after the reload ("+name+")"); f["READY"] != "1" {
			t.Fatalf("%s: got %v after RELOADING=1, want READY=1", name, f)
		}
		d.waitLog(t, logged)
	}
	reload("good file", "configuration reloaded")
	if err := os.WriteFile(filepath.Join(d.dir, "kiroku.yaml"), []byte("sip: [this is not\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload("broken file", "configuration not reloaded")

	d.cmd.Process.Signal(syscall.SIGTERM)
	if f := nextState(t, ch, "STOPPING=1 after SIGTERM"); f["STOPPING"] != "1" {
		t.Fatalf("got %v after SIGTERM, want STOPPING=1", f)
	}
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Fatalf("kirokud exited with %v, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("kirokud did not exit after SIGTERM")
	}
}
