package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// Ready tells the service manager that start-up, or a reload announced by
// Reloading, has finished: a Type=notify unit counts as started only then.
func Ready() error { return send("READY=1") }

// Reloading tells the service manager that a configuration reload has
// begun, stamped with the CLOCK_MONOTONIC time in microseconds as systemd's
// Type=notify-reload expects. Take it after receiving SIGHUP, and call
// Ready when the reload is over, whether it worked or not: until then
// systemd shows the unit as reloading.
func Reloading() error {
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("sdnotify: reloading: %w", err)
	}
	return send(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", usec))
}

// Stopping tells the service manager that shutdown (the drain) has begun.
func Stopping() error { return send("STOPPING=1") }

// Status sets the one-line status that systemctl status shows. Line
// breaks in s become spaces so that s cannot add other assignments.
func Status(s string) error {
	return send("STATUS=" + strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}

// send writes state, newline-separated VAR=value assignments, as one
// datagram to the socket named by NOTIFY_SOCKET. It returns nil without
// doing anything when NOTIFY_SOCKET is unset or empty.
func send(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	// Go's net package maps a leading '@' to the abstract namespace.
	if name[0] != '/' && name[0] != '@' {
		return fmt.Errorf("sdnotify: NOTIFY_SOCKET %q: %w", name, errUnsupported)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	_, err = conn.Write([]byte(state))
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sdnotify: send %q: %w", firstLine(state), err)
	}
	return nil
}

// errUnsupported marks NOTIFY_SOCKET forms this client does not speak,
// such as systemd 254's "vsock:" addresses.
var errUnsupported = errors.New("neither an absolute path nor an abstract socket name")

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
