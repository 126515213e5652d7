package kamailiotest

import (
	"net"
	"testing"
)

// TestStart: the shipped configuration passes kamailio -c and Kamailio
// answers OPTIONS on the given address.
func TestStart(t *testing.T) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.LocalAddr().String()
	l.Close()
	Start(t, Options{Listen: addr, Nodes: []string{"127.0.0.1:9"}})
}
