package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// listen opens a unixgram socket named name, points NOTIFY_SOCKET at it
// and returns a function reading the next datagram.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listen %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return func() string {
		t.Helper()
		// Only a guard against a hang: the datagram is already queued when
		// the call under test returns.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		b := make([]byte, 4096)
		n, err := conn.Read(b)
		if err != nil {
			t.Fatalf("read notification: %v", err)
		}
		return string(b[:n])
	}
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"stopping", Stopping, "STOPPING=1"},
		{"status", func() error { return Status("draining: 3 calls") }, "STATUS=draining: 3 calls"},
		{"status with line breaks", func() error { return Status("a\nREADY=1\r\nb") }, "STATUS=a READY=1 b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := listen(t, filepath.Join(t.TempDir(), "notify.sock"))
			if err := tc.call(); err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := next(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReloading(t *testing.T) {
	next := listen(t, filepath.Join(t.TempDir(), "notify.sock"))
	before, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if err := Reloading(); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	after, _ := monotonicUsec()
	got := next()
	m := regexp.MustCompile(`^RELOADING=1\nMONOTONIC_USEC=([0-9]+)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("got %q, want RELOADING=1 and MONOTONIC_USEC", got)
	}
	usec, _ := strconv.ParseUint(m[1], 10, 64)
	if usec < before || usec > after {
		t.Errorf("got MONOTONIC_USEC=%d, want within [%d, %d] (CLOCK_MONOTONIC around the call)", usec, before, after)
	}
}

func TestAbstractSocket(t *testing.T) {
	next := listen(t, fmt.Sprintf("@kiroku-sdnotify-test-%d", time.Now().UnixNano()))
	if err := Ready(); err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if got := next(); got != "READY=1" {
		t.Errorf("got %q, want %q", got, "READY=1")
	}
}

func TestUnsetIsNoop(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	for name, call := range map[string]func() error{
		"ready": Ready, "reloading": Reloading, "stopping": Stopping,
		"status": func() error { return Status("x") },
	} {
		if err := call(); err != nil {
			t.Errorf("%s: got error %v, want nil without NOTIFY_SOCKET", name, err)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, socket string
		unsupported  bool
	}{
		{"relative path", "notify.sock", true},
		{"vsock", "vsock:2:1234", true},
		{"nobody listening", filepath.Join(t.TempDir(), "missing.sock"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", tc.socket)
			err := Ready()
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			if got := errors.Is(err, errUnsupported); got != tc.unsupported {
				t.Errorf("got errors.Is(%v, errUnsupported) = %v, want %v", err, got, tc.unsupported)
			}
		})
	}
}
