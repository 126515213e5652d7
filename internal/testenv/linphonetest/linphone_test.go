package linphonetest

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"
)

// TestStart: linphonec's SIP socket is bound on 127.0.0.1 at the port
// it says, before Start returns.
func TestStart(t *testing.T) {
	u := Start(t, Options{User: "0312345678"})
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: u.SIPPort()})
	if err == nil {
		c.Close()
		t.Fatalf("port %d of 127.0.0.1 was free, want linphonec's SIP socket there", u.SIPPort())
	}
	if err := u.Quit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.Output(), "Terminating") {
		t.Errorf("got output %q, want linphonec's quit", u.Output())
	}
}

func TestFixWAV(t *testing.T) {
	pcm := []byte{1, 0, 2, 0, 3, 0}
	hdr := func(riff, data uint32) []byte {
		b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00")
		binary.LittleEndian.PutUint32(b[4:], riff)
		binary.LittleEndian.PutUint32(b[40:], data)
		return append(b, pcm...)
	}
	for _, tc := range []struct {
		name    string
		in, out []byte
	}{
		{"linphone's sizes", hdr(50, 50), hdr(42, 6)},
		{"already right", hdr(42, 6), hdr(42, 6)},
		{"not a WAV", []byte("hello"), []byte("hello")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FixWAV(tc.in); !bytes.Equal(got, tc.out) {
				t.Errorf("got % x, want % x", got, tc.out)
			}
		})
	}
}
