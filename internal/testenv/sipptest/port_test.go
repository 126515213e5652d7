package sipptest

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestFreePort(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			port := FreePort(t, network)
			addr := net.JoinHostPort(loopback, strconv.Itoa(port))
			var err error
			if network == "udp" {
				var c net.PacketConn
				if c, err = net.ListenPacket(network, addr); err == nil {
					_ = c.Close()
				}
			} else {
				var l net.Listener
				if l, err = net.Listen(network, addr); err == nil {
					_ = l.Close()
				}
			}
			if err != nil {
				t.Errorf("bind %s: %v", addr, err)
			}
		})
	}
	t.Run("other", func(t *testing.T) {
		if _, err := freePort("sctp"); err == nil {
			t.Error("got no error for sctp, want one")
		}
	})
}

func TestFreeRTPPort(t *testing.T) {
	t.Parallel()
	port := FreeRTPPort(t)
	if port%2 != 0 {
		t.Errorf("got odd port %d", port)
	}
	for _, p := range []int{port, port + 1} {
		c, err := net.ListenUDP("udp", udpAddr(p))
		if err != nil {
			t.Fatalf("bind %d: %v", p, err)
		}
		_ = c.Close()
	}
}

func TestListenRTP(t *testing.T) {
	t.Parallel()
	conn := ListenRTP(t)
	addr := conn.LocalAddr().(*net.UDPAddr)
	if addr.Port%2 != 0 || !addr.IP.Equal(net.ParseIP(loopback)) {
		t.Errorf("got %v, want an even port of %s", addr, loopback)
	}
	if ok, err := listening("udp", addr.Port); err != nil || !ok {
		t.Errorf("listening: got %v, %v; want true", ok, err)
	}
}

func TestListed(t *testing.T) {
	t.Parallel()
	// Lines of /proc/net/tcp: 0x13C4 = 5060 on 127.0.0.1 listening,
	// 0x13C6 = 5062 connected only, 0x13C8 = 5064 on 10.0.0.1.
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:13C4 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:13C6 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100000A:13C8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
`
	for _, tt := range []struct {
		network string
		port    int
		want    bool
	}{
		{"tcp", 5060, true},
		{"tcp", 5062, false},
		{"udp", 5062, true},
		{"tcp", 5064, false},
		{"tcp", 5066, false},
	} {
		got, err := listed(strings.NewReader(table), tt.network, tt.port)
		if err != nil || got != tt.want {
			t.Errorf("%s %d: got %v, %v; want %v", tt.network, tt.port, got, err, tt.want)
		}
	}
}
