package sipptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
)

// loopback is the only address the package binds or dials.
const loopback = "127.0.0.1"

// FreePort returns a port of 127.0.0.1 that was free a moment ago for
// network "udp" or "tcp": it binds port 0 and closes. Another process
// may take the port before the caller binds it; ListenRTP avoids that
// window for the test's own sockets.
func FreePort(t testing.TB, network string) int {
	t.Helper()
	port, err := freePort(network)
	if err != nil {
		t.Fatalf("sipptest: free %s port: %v", network, err)
	}
	return port
}

// FreeRTPPort returns an even UDP port of 127.0.0.1 that was free a
// moment ago, with the next one (for RTCP) free too.
func FreeRTPPort(t testing.TB) int {
	t.Helper()
	port, err := freeUDPBlock(2)
	if err != nil {
		t.Fatalf("sipptest: free RTP port: %v", err)
	}
	return port
}

// ListenRTP opens a UDP socket on an even port of 127.0.0.1 whose next
// port (RTCP) was free too, for a test to stand in as a media endpoint
// whose port goes in the SDP (the rtp_port key). It is closed when the
// test ends.
func ListenRTP(t testing.TB) *net.UDPConn {
	t.Helper()
	for range 100 {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(loopback)})
		if err != nil {
			t.Fatalf("sipptest: listen RTP: %v", err)
		}
		port := conn.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 && port < 65535 {
			if rtcp, err := net.ListenUDP("udp", udpAddr(port+1)); err == nil {
				_ = rtcp.Close()
				t.Cleanup(func() { _ = conn.Close() })
				return conn
			}
		}
		_ = conn.Close()
	}
	t.Fatal("sipptest: listen RTP: no even port with a free successor")
	return nil
}

func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", loopback+":0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	case "tcp":
		l, err := net.Listen("tcp", loopback+":0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	default:
		return 0, fmt.Errorf("network %q: want udp or tcp", network)
	}
}

// freeUDPBlock returns an even port p such that p to p+n-1 were all
// free: SIPp binds its media port (-mp) and the port two above it.
func freeUDPBlock(n int) (int, error) {
	for range 100 {
		base, err := freePort("udp")
		if err != nil {
			return 0, err
		}
		base &^= 1
		if base < 1024 || base+n-1 > 65535 {
			continue
		}
		var held []*net.UDPConn
		ok := true
		for p := base; p < base+n; p++ {
			c, err := net.ListenUDP("udp", udpAddr(p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			_ = c.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no block of free ports found")
}

func udpAddr(port int) *net.UDPAddr {
	return &net.UDPAddr{IP: net.ParseIP(loopback), Port: port}
}

// listening reports whether some socket is bound to port of 127.0.0.1
// (or of every address) for network, and for "tcp" listens on it. It
// reads /proc rather than probing with a bind, which would race the
// process that is about to take the port.
func listening(network string, port int) (bool, error) {
	f, err := os.Open("/proc/net/" + network)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return listed(f, network, port)
}

// listed reads a /proc/net/{udp,tcp}[6] table.
func listed(r io.Reader, network string, port int) (bool, error) {
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(r)
	sc.Scan() // the header line
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		local, state := fields[1], fields[3]
		if !strings.HasSuffix(local, want) {
			continue
		}
		ip := strings.TrimSuffix(local, want)
		switch ip {
		case "0100007F", "00000000", // 127.0.0.1, 0.0.0.0
			"00000000000000000000000001000000", "00000000000000000000000000000000": // ::1, ::
		default:
			continue
		}
		// 0A is TCP_LISTEN; a bound UDP socket shows 07 (TCP_CLOSE).
		if strings.HasPrefix(network, "tcp") && state != "0A" {
			continue
		}
		return true, nil
	}
	return false, sc.Err()
}
