package sipptest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// record is one packet read back from a capture.
type record struct {
	at      time.Duration
	frame   []byte
	payload []byte
}

type pcapHeader struct {
	magic        uint32
	major, minor uint16
	snapLen      uint32
	linkType     uint32
}

// readPcap parses a little-endian classic capture of Ethernet, IPv4 and
// UDP, checking the IP and UDP checksums.
func readPcap(t *testing.T, path string) (pcapHeader, []record) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	h := pcapHeader{le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), le.Uint32(b[16:]), le.Uint32(b[20:])}
	var recs []record
	var first time.Time
	for off := 24; off < len(b); {
		ts := time.Unix(int64(le.Uint32(b[off:])), int64(le.Uint32(b[off+4:]))*1000)
		incl, orig := int(le.Uint32(b[off+8:])), int(le.Uint32(b[off+12:]))
		if incl != orig {
			t.Fatalf("record at %d: %d of %d bytes: truncated", off, incl, orig)
		}
		frame := b[off+16 : off+16+incl]
		off += 16 + incl
		if len(recs) == 0 {
			first = ts
		}
		ip := frame[14:]
		if got := binary.BigEndian.Uint16(frame[12:]); got != 0x0800 {
			t.Fatalf("ether type %#04x, want IPv4", got)
		}
		if fold(sum16(ip[:20])) != 0xffff {
			t.Errorf("packet %d: bad IP checksum", len(recs))
		}
		udp := ip[20:]
		udpLen := int(binary.BigEndian.Uint16(udp[4:]))
		if s := sum16(ip[12:20]) + 17 + uint32(udpLen) + sum16(udp[:udpLen]); fold(s) != 0xffff {
			t.Errorf("packet %d: bad UDP checksum", len(recs))
		}
		recs = append(recs, record{ts.Sub(first), frame, udp[8:udpLen]})
	}
	return h, recs
}

func TestWritePcap(t *testing.T) {
	t.Parallel()
	pkts := RTPStream(0, 1, 0, 5, ToneULaw(400, 60*time.Millisecond))
	odd := RTPPacket(0, 9, 9, 5, false, []byte{1, 2, 3}) // odd length: checksum padding
	in := append(Paced(0, 20*time.Millisecond, pkts), PcapPacket{At: 65 * time.Millisecond, Payload: odd})
	path := filepath.Join(t.TempDir(), "out.pcap")
	if err := WritePcap(path, in); err != nil {
		t.Fatal(err)
	}
	h, recs := readPcap(t, path)
	if want := (pcapHeader{0xa1b2c3d4, 2, 4, 65535, 1}); h != want {
		t.Errorf("got header %+v, want %+v", h, want)
	}
	if len(recs) != len(in) {
		t.Fatalf("got %d packets, want %d", len(recs), len(in))
	}
	for i, r := range recs {
		if r.at != in[i].At || !bytes.Equal(r.payload, in[i].Payload) {
			t.Errorf("packet %d: got %v % x, want %v % x", i, r.at, head(r.payload), in[i].At, head(in[i].Payload))
		}
		ip := r.frame[14:]
		if !bytes.Equal(ip[12:20], []byte{127, 0, 0, 1, 127, 0, 0, 1}) {
			t.Errorf("packet %d: addresses % x, want 127.0.0.1 to 127.0.0.1", i, ip[12:20])
		}
	}
}

// TestWritePcapLikeSIPp compares the layout with a capture SIPp ships.
func TestWritePcapLikeSIPp(t *testing.T) {
	t.Parallel()
	const stock = "/usr/share/sip-tester/dtmf_2833_9.pcap"
	if _, err := os.Stat(stock); err != nil {
		t.Skipf("no %s: %v", stock, err)
	}
	sh, srecs := readPcap(t, stock)
	pkts, err := DTMFEvent('9', 101, DTMFOptions{ZeroFirst: true, Volume: 10, Duration: 140 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dtmf.pcap")
	if err := WritePcap(path, Paced(0, 20*time.Millisecond, pkts)); err != nil {
		t.Fatal(err)
	}
	h, recs := readPcap(t, path)
	if h != sh {
		t.Errorf("got header %+v, SIPp's is %+v", h, sh)
	}
	if len(recs) != len(srecs) {
		t.Fatalf("got %d packets, SIPp's has %d", len(recs), len(srecs))
	}
	for i := range recs {
		if got, want := len(recs[i].frame), len(srecs[i].frame); got != want {
			t.Errorf("packet %d: frame of %d bytes, SIPp's is %d", i, got, want)
		}
		// The events match but for the durations: SIPp's capture counts
		// 320 a step (0, 320, 640 ... 2240) where RFC 4733 counts the
		// 160 samples of 20 ms.
		got, want := recs[i].payload[12:14], srecs[i].payload[12:14]
		if !slices.Equal(got, want) {
			t.Errorf("packet %d: event % x, SIPp's is % x", i, got, want)
		}
	}
}

func TestWritePcapErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		path string
		pkts []PcapPacket
	}{
		{"no directory", filepath.Join(dir, "none", "x.pcap"), nil},
		{"negative time", filepath.Join(dir, "neg.pcap"), []PcapPacket{{At: -time.Millisecond}}},
		{"too big", filepath.Join(dir, "big.pcap"), []PcapPacket{{Payload: make([]byte, 70000)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := WritePcap(tt.path, tt.pkts); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}
