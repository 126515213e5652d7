package sipptest

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

func TestRTPPacket(t *testing.T) {
	t.Parallel()
	payload := []byte{1, 2, 3}
	b := RTPPacket(101, 0xfffe, 0xdeadbeef, 0x01020304, true, payload)
	want := []byte{0x80, 0x80 | 101, 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 1, 2, 3}
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x, want % x", b, want)
	}
	h, p, err := ParseRTP(b)
	if err != nil {
		t.Fatal(err)
	}
	if wantH := (RTPHeader{Marker: true, PayloadType: 101, Seq: 0xfffe, Timestamp: 0xdeadbeef, SSRC: 0x01020304}); h != wantH {
		t.Errorf("got header %+v, want %+v", h, wantH)
	}
	if !bytes.Equal(p, payload) {
		t.Errorf("got payload % x, want % x", p, payload)
	}
}

func TestParseRTP(t *testing.T) {
	t.Parallel()
	base := RTPPacket(0, 1, 2, 3, false, []byte{9, 9})
	csrc := slices.Concat([]byte{0x81}, base[1:12], []byte{0, 0, 0, 7}, []byte{9, 9})
	ext := slices.Concat([]byte{0x90}, base[1:12], []byte{0xbe, 0xde, 0, 1, 1, 2, 3, 4}, []byte{9, 9})
	padded := slices.Concat([]byte{0xa0}, base[1:12], []byte{9, 9, 0, 0, 3})
	for _, tt := range []struct {
		name    string
		in      []byte
		payload []byte
		wantErr bool
	}{
		{"plain", base, []byte{9, 9}, false},
		{"csrc", csrc, []byte{9, 9}, false},
		{"extension", ext, []byte{9, 9}, false},
		{"padding", padded, []byte{9, 9}, false},
		{"short", base[:11], nil, true},
		{"version 1", slices.Concat([]byte{0x40}, base[1:]), nil, true},
		{"truncated extension", ext[:14], nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, p, err := ParseRTP(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !bytes.Equal(p, tt.payload) {
				t.Errorf("got payload % x, want % x", p, tt.payload)
			}
		})
	}
}

func TestRTPStream(t *testing.T) {
	t.Parallel()
	pkts := RTPStream(8, 65535, 100, 7, ToneALaw(440, 60*time.Millisecond))
	if len(pkts) != 3 {
		t.Fatalf("got %d packets, want 3", len(pkts))
	}
	for i, want := range []RTPHeader{
		{Marker: true, PayloadType: 8, Seq: 65535, Timestamp: 100, SSRC: 7},
		{PayloadType: 8, Seq: 0, Timestamp: 260, SSRC: 7},
		{PayloadType: 8, Seq: 1, Timestamp: 420, SSRC: 7},
	} {
		h, p, err := ParseRTP(pkts[i])
		if err != nil {
			t.Fatal(err)
		}
		if h != want || len(p) != 160 {
			t.Errorf("packet %d: got %+v with %d bytes, want %+v with 160", i, h, len(p), want)
		}
	}
}

// event is one decoded RFC 4733 packet.
type event struct {
	marker bool
	seq    uint16
	code   byte
	end    bool
	volume byte
	dur    uint16
}

func decodeEvents(t *testing.T, pkts [][]byte) []event {
	t.Helper()
	var out []event
	for _, b := range pkts {
		h, p, err := ParseRTP(b)
		if err != nil {
			t.Fatal(err)
		}
		if h.PayloadType != 101 || h.Timestamp != 4000 || h.SSRC != 9 || len(p) != 4 {
			t.Fatalf("got %+v with %d bytes, want payload type 101, timestamp 4000, SSRC 9, 4 bytes", h, len(p))
		}
		out = append(out, event{h.Marker, h.Seq, p[0], p[1]&0x80 != 0, p[1] & 0x3f, binary.BigEndian.Uint16(p[2:])})
	}
	return out
}

func TestDTMFEvent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		digit rune
		opts  DTMFOptions
		want  []event
	}{
		{
			name: "9, first duration 0", digit: '9',
			opts: DTMFOptions{Seq: 10, Timestamp: 4000, SSRC: 9, Duration: 60 * time.Millisecond, Volume: 10, ZeroFirst: true},
			want: []event{
				{true, 10, 9, false, 10, 0},
				{false, 11, 9, false, 10, 160},
				{false, 12, 9, false, 10, 320},
				{false, 13, 9, true, 10, 480},
				{false, 14, 9, true, 10, 480},
				{false, 15, 9, true, 10, 480},
			},
		},
		{
			name: "#, default length", digit: '#',
			opts: DTMFOptions{Seq: 65534, Timestamp: 4000, SSRC: 9},
			want: []event{
				{true, 65534, 11, false, 0, 160},
				{false, 65535, 11, false, 0, 320},
				{false, 0, 11, false, 0, 480},
				{false, 1, 11, false, 0, 640},
				{false, 2, 11, true, 0, 800},
				{false, 3, 11, true, 0, 800},
				{false, 4, 11, true, 0, 800},
			},
		},
		{
			name: "d, one step", digit: 'd',
			opts: DTMFOptions{Timestamp: 4000, SSRC: 9, Duration: 20 * time.Millisecond},
			want: []event{
				{true, 0, 15, true, 0, 160},
				{false, 1, 15, true, 0, 160},
				{false, 2, 15, true, 0, 160},
			},
		},
		{
			name: "*, rounds up", digit: '*',
			opts: DTMFOptions{Timestamp: 4000, SSRC: 9, Duration: 30 * time.Millisecond},
			want: []event{
				{true, 0, 10, false, 0, 160},
				{false, 1, 10, true, 0, 320},
				{false, 2, 10, true, 0, 320},
				{false, 3, 10, true, 0, 320},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pkts, err := DTMFEvent(tt.digit, 101, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeEvents(t, pkts); !slices.Equal(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDTMFEventErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		digit rune
		opts  DTMFOptions
	}{
		{"not a digit", 'x', DTMFOptions{}},
		{"volume", '1', DTMFOptions{Volume: 64}},
		{"too long", '1', DTMFOptions{Duration: 9 * time.Second}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DTMFEvent(tt.digit, 101, tt.opts); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}
