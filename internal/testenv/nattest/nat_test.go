package nattest

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act, run in the caller's namespace, as
// the caller's side of TestMasquerade.
func TestMain(m *testing.M) {
	switch mode := os.Getenv("NATTEST_HELPER"); {
	case strings.HasPrefix(mode, "send "):
		os.Exit(helperSend(strings.TrimPrefix(mode, "send ")))
	case strings.HasPrefix(mode, "listen "):
		os.Exit(helperListen(strings.TrimPrefix(mode, "listen ")))
	}
	os.Exit(m.Run())
}

// helperSend sends one datagram to addr.
func helperSend(addr string) int {
	c, err := net.Dial("udp", addr)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	if _, err := c.Write([]byte("from the caller")); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// helperListen binds addr, says "ready", and says "got" or "none" after
// a datagram or two seconds.
func helperListen(addr string) int {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer c.Close()
	fmt.Println("ready")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 100)
	if _, _, err := c.ReadFrom(buf); err != nil {
		fmt.Println("none")
		return 0
	}
	fmt.Println("got")
	return 0
}

// TestMasquerade: the caller's datagrams reach the host from the
// router's public address, and the host's datagram to the caller's
// private address, which is no answer to anything the caller sent, is
// dropped by the router as a NAT drops it.
func TestMasquerade(t *testing.T) {
	n := New(t)
	host, err := net.ListenUDP("udp", &net.UDPAddr{IP: n.Host.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	send := n.Command(self)
	send.Env = append(os.Environ(), "NATTEST_HELPER=send "+host.LocalAddr().String())
	if out, err := send.CombinedOutput(); err != nil {
		t.Fatalf("send from the caller: %v\n%s", err, out)
	}
	host.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	_, from, err := host.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("the caller's datagram never reached the host: %v", err)
	}
	if got := from.Addr(); got != n.Public {
		t.Errorf("got the caller's datagram from %v, want the router's %v", got, n.Public)
	}

	listen := n.Command(self)
	listen.Env = append(os.Environ(), "NATTEST_HELPER=listen "+netip.AddrPortFrom(n.Private, 40000).String())
	out, err := listen.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("the caller's listener: got %q, want ready", lines.Text())
	}
	if _, err := host.WriteToUDPAddrPort([]byte("unsolicited"), netip.AddrPortFrom(n.Private, 40000)); err != nil {
		t.Fatal(err)
	}
	lines.Scan()
	listen.Wait()
	if got := lines.Text(); got != "none" {
		t.Errorf("the caller's listener: got %q, want none (the router drops what it did not ask for)", got)
	}
}
