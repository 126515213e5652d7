package media

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// sdp joins lines with CRLF, as SIP bodies carry them.
func sdp(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

var (
	telEv96  = Format{PT: 96, Name: "telephone-event", Rate: 8000}
	telEv101 = Format{PT: 101, Name: "telephone-event", Rate: 8000}
)

func TestParseSDP(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want Description
	}{
		{
			name: "SIPp uac_pcap offer",
			body: sdp(
				"v=0",
				"o=user1 53655765 2353687637 IN IP4 127.0.0.1",
				"s=-",
				"c=IN IP4 127.0.0.1",
				"t=0 0",
				"m=audio 6000 RTP/AVP 8 101",
				"a=rtpmap:8 PCMA/8000",
				"a=rtpmap:101 telephone-event/8000",
				"a=fmtp:101 0-11,16",
			),
			want: Description{Addr: netip.MustParseAddr("127.0.0.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMA}, DTMF: telEv101},
		},
		{
			name: "LF line endings",
			body: "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
			want: Description{Addr: netip.MustParseAddr("10.0.0.1"), Port: 4000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "lines out of RFC order",
			body: sdp(
				"s=-",
				"t=0 0",
				"v=0",
				"a=recvonly",
				"c=IN IP4 192.0.2.1",
				"o=pbx 1 2 IN IP4 192.0.2.1",
				"m=audio 30000 RTP/AVP 0 8 101",
				"a=ptime:30",
				"a=rtpmap:101 telephone-event/8000",
				"a=sendrecv",
				"a=rtpmap:8 PCMA/8000",
				"c=IN IP4 192.0.2.7",
				"a=rtpmap:0 PCMU/8000",
			),
			want: Description{Addr: netip.MustParseAddr("192.0.2.7"), Port: 30000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU, fmtPCMA}, DTMF: telEv101, Ptime: 30},
		},
		{
			name: "session-level c= only",
			body: sdp("v=0", "c=IN IP4 198.51.100.4", "t=0 0", "m=audio 5004 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddr("198.51.100.4"), Port: 5004, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "media-level c= overrides session-level",
			body: sdp("v=0", "c=IN IP4 198.51.100.4", "t=0 0", "m=audio 5004 RTP/AVP 0", "c=IN IP4 198.51.100.5"),
			want: Description{Addr: netip.MustParseAddr("198.51.100.5"), Port: 5004, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "multicast TTL suffix and port count",
			body: sdp("v=0", "c=IN IP4 233.252.0.1/127", "m=audio 5004/2 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddr("233.252.0.1"), Port: 5004, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "IPv6",
			body: sdp("v=0", "c=IN IP6 2001:db8::1", "m=audio 5004 RTP/AVP 8"),
			want: Description{Addr: netip.MustParseAddr("2001:db8::1"), Port: 5004, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMA}},
		},
		{
			name: "IPv4-mapped address unmapped",
			body: sdp("v=0", "c=IN IP6 ::ffff:192.0.2.9", "m=audio 5004 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.9"), Port: 5004, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "c=0.0.0.0 hold",
			body: sdp("v=0", "c=IN IP4 0.0.0.0", "m=audio 6000 RTP/AVP 0", "a=sendonly"),
			want: Description{Addr: netip.MustParseAddr("0.0.0.0"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendOnly, Formats: []Format{fmtPCMU}},
		},
		{
			name: "port 0 disables the stream",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 0 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 0, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "session-level sendonly",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "a=sendonly", "m=audio 6000 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendOnly, Formats: []Format{fmtPCMU}},
		},
		{
			name: "session-level inactive",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "a=inactive", "m=audio 6000 RTP/AVP 0"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: Inactive, Formats: []Format{fmtPCMU}},
		},
		{
			name: "media-level inactive",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0", "a=inactive"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: Inactive, Formats: []Format{fmtPCMU}},
		},
		{
			name: "media-level recvonly beats session-level sendonly",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "a=sendonly", "m=audio 6000 RTP/AVP 0", "a=recvonly"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: RecvOnly, Formats: []Format{fmtPCMU}},
		},
		{
			name: "static payload types without rtpmap",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 8 0 18"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMA, fmtPCMU}},
		},
		{
			name: "dynamic telephone-event 96",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0 96",
				"a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-15"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}, DTMF: telEv96},
		},
		{
			name: "telephone-event name is case-insensitive",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0 97",
				"a=rtpmap:97 TELEPHONE-EVENT/8000"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}, DTMF: Format{PT: 97, Name: "telephone-event", Rate: 8000}},
		},
		{
			name: "dynamic codec mapped, unmapped dynamic dropped",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 111 100 0",
				"a=rtpmap:111 opus/48000/2"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{{PT: 111, Name: "opus", Rate: 48000}, fmtPCMU}},
		},
		{
			name: "second non-audio m= ignored",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0", "a=sendrecv",
				"m=video 6002 RTP/AVP 96", "c=IN IP4 192.0.2.99", "a=rtpmap:96 H264/90000", "a=inactive", "a=ptime:40"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "second audio m= ignored",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0",
				"m=audio 7000 RTP/AVP 8", "a=rtpmap:8 PCMA/8000", "a=sendonly"),
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
		{
			name: "trailing blank lines",
			body: sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0") + "\r\n\r\n",
			want: Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000, Proto: "RTP/AVP",
				Direction: SendRecv, Formats: []Format{fmtPCMU}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseSDP([]byte(c.body))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(*got, c.want) {
				t.Errorf("got %+v\nwant %+v", *got, c.want)
			}
		})
	}
}

// TestParseSDPMediaBeforeAudio pins that the c= and direction of a
// non-audio stream listed before the audio one stay with that stream.
func TestParseSDPMediaBeforeAudio(t *testing.T) {
	body := sdp("v=0", "c=IN IP4 192.0.2.1", "t=0 0",
		"m=video 6002 RTP/AVP 96", "c=IN IP4 192.0.2.99", "a=inactive",
		"m=audio 6000 RTP/AVP 0")
	got, err := ParseSDP([]byte(body))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if want := netip.MustParseAddr("192.0.2.1"); got.Addr != want {
		t.Errorf("got addr %v, want %v", got.Addr, want)
	}
	if got.Direction != SendRecv {
		t.Errorf("got direction %q, want %q", got.Direction, SendRecv)
	}
}

func TestRemoteAddr(t *testing.T) {
	for _, c := range []struct {
		name string
		d    Description
		want netip.AddrPort
	}{
		{"active", Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 6000}, netip.MustParseAddrPort("192.0.2.1:6000")},
		{"hold by c=0.0.0.0", Description{Addr: netip.MustParseAddr("0.0.0.0"), Port: 6000}, netip.AddrPort{}},
		{"hold by c=::", Description{Addr: netip.MustParseAddr("::"), Port: 6000}, netip.AddrPort{}},
		{"port 0", Description{Addr: netip.MustParseAddr("192.0.2.1"), Port: 0}, netip.AddrPort{}},
		{"no address", Description{Port: 6000}, netip.AddrPort{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.d.RemoteAddr()
			if got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if got.IsValid() != c.want.IsValid() {
				t.Errorf("got valid %v, want %v", got.IsValid(), c.want.IsValid())
			}
		})
	}
}

func TestParseSDPErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want string // part of the error text
	}{
		{"empty body", "", "empty body"},
		{"blank body", " \r\n\r\n\t", "empty body"},
		{"no v=", sdp("o=- 1 1 IN IP4 192.0.2.1", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0"), "no v="},
		{"no audio", sdp("v=0", "c=IN IP4 192.0.2.1", "m=video 6000 RTP/AVP 96"), "no audio"},
		{"no m= at all", sdp("v=0", "c=IN IP4 192.0.2.1"), "no audio"},
		{"bad port text", sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio x RTP/AVP 0"), "bad port"},
		{"port above 65535", sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 65536 RTP/AVP 0"), "bad port"},
		{"negative port", sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio -1 RTP/AVP 0"), "bad port"},
		{"bad payload type text", sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0 pcmu"), "bad payload type"},
		{"payload type above 127", sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0 128"), "bad payload type"},
		{"host name address", sdp("v=0", "c=IN IP4 pbx.example.com", "m=audio 6000 RTP/AVP 0"), "not an IP address"},
		{"empty address", sdp("v=0", "c=IN IP4 /127", "m=audio 6000 RTP/AVP 0"), "no connection address"},
		{"no c=", sdp("v=0", "m=audio 6000 RTP/AVP 0"), "no connection address"},
		{"malformed c=", sdp("v=0", "c=IN IP4", "m=audio 6000 RTP/AVP 0"), "malformed c="},
		{"c= not IN", sdp("v=0", "c=XX IP4 192.0.2.1", "m=audio 6000 RTP/AVP 0"), "malformed c="},
		{"malformed m=", sdp("v=0", "c=IN IP4 192.0.2.1", "m=audio 6000 RTP/AVP"), "malformed m="},
		{"malformed line", sdp("v=0", "hello", "m=audio 6000 RTP/AVP 0"), "malformed line"},
		{"HTML", "<html><body>oops</body></html>", "malformed line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseSDP([]byte(c.body))
			if err == nil {
				t.Fatalf("got %+v, want an error", d)
			}
			if !errors.Is(err, ErrSDP) {
				t.Errorf("got error %v, want it to wrap ErrSDP", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %q, want it to say %q", err, c.want)
			}
		})
	}
}

func TestParseSDPErrorTruncatesInput(t *testing.T) {
	long := strings.Repeat("x", 4000)
	_, err := ParseSDP([]byte(sdp("v=0", "c=IN IP4 "+long, "m=audio 6000 RTP/AVP 0")))
	if err == nil {
		t.Fatal("got no error, want one")
	}
	if len(err.Error()) > 200 {
		t.Errorf("got a %d-byte error, want the input truncated", len(err.Error()))
	}
}

func TestMarshalParsesBack(t *testing.T) {
	for _, c := range []struct {
		name string
		l    Local
	}{
		{"PCMU with events", Local{Addr: netip.MustParseAddr("192.0.2.10"), Port: 40000,
			Formats: []Format{fmtPCMU}, DTMF: TelephoneEvent, Direction: SendRecv, SessionID: 42, Version: 1}},
		{"PCMA, events on 96, sendonly", Local{Addr: netip.MustParseAddr("192.0.2.10"), Port: 40002,
			Formats: []Format{fmtPCMA}, DTMF: telEv96, Direction: SendOnly, SessionID: 1<<63 + 5, Version: 9}},
		{"no events, recvonly", Local{Addr: netip.MustParseAddr("10.1.2.3"), Port: 20000,
			Formats: []Format{fmtPCMU, fmtPCMA}, Direction: RecvOnly}},
		{"inactive", Local{Addr: netip.MustParseAddr("10.1.2.3"), Port: 20000,
			Formats: []Format{fmtPCMU}, DTMF: TelephoneEvent, Direction: Inactive}},
		{"IPv6", Local{Addr: netip.MustParseAddr("2001:db8::7"), Port: 20002,
			Formats: []Format{fmtPCMU}, DTMF: TelephoneEvent, Direction: SendRecv}},
		{"empty direction is sendrecv", Local{Addr: netip.MustParseAddr("10.1.2.3"), Port: 20004,
			Formats: []Format{fmtPCMU}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.l.Marshal()
			if !strings.HasPrefix(string(body), "v=0\r\n") || !strings.HasSuffix(string(body), "\r\n") {
				t.Errorf("got body %q, want it to start with v=0 and end in CRLF", body)
			}
			if strings.Contains(strings.ReplaceAll(string(body), "\r\n", ""), "\n") {
				t.Errorf("got body %q, want CRLF line ends only", body)
			}
			got, err := ParseSDP(body)
			if err != nil {
				t.Fatalf("got error %v parsing\n%s", err, body)
			}
			dir := c.l.Direction
			if dir == "" {
				dir = SendRecv
			}
			want := Description{Addr: c.l.Addr, Port: c.l.Port, Proto: "RTP/AVP", Direction: dir,
				Formats: c.l.Formats, DTMF: c.l.DTMF, Ptime: 20}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got %+v\nwant %+v\nfrom\n%s", *got, want, body)
			}
		})
	}
}

func TestAnswerDirection(t *testing.T) {
	for _, c := range []struct {
		offered, want string
	}{
		{SendRecv, SendRecv},
		{SendOnly, RecvOnly},
		{RecvOnly, SendOnly},
		{Inactive, Inactive},
		{"", SendRecv},
		{"SENDONLY", SendRecv}, // ParseSDP only yields the lower-case names
		{"bogus", SendRecv},
	} {
		t.Run(c.offered, func(t *testing.T) {
			if got := AnswerDirection(c.offered); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func FuzzParseSDP(f *testing.F) {
	for _, s := range []string{
		sdp("v=0", "o=user1 53655765 2353687637 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
			"m=audio 6000 RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-11,16"),
		sdp("v=0", "c=IN IP6 2001:db8::1", "m=audio 5004/2 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000", "a=sendonly"),
		sdp("v=0", "c=IN IP4 0.0.0.0", "a=inactive", "m=audio 0 RTP/AVP 0", "c=IN IP4 233.252.0.1/127", "a=ptime:20"),
		sdp("v=0", "m=video 1 RTP/AVP 96", "c=IN IP4 1.2.3.4", "m=audio 2 RTP/AVP 111", "a=rtpmap:111 opus/48000/2"),
		"v=0\nc=IN IP4 1.1.1.1\nm=audio 65535 RTP/AVP 127\n",
		"",
		"x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseSDP(body)
		if err != nil {
			if !errors.Is(err, ErrSDP) {
				t.Fatalf("got error %v, want it to wrap ErrSDP", err)
			}
			return
		}
		if d.Port < 0 || d.Port > 65535 {
			t.Fatalf("got port %d, want 0..65535", d.Port)
		}
		if !d.Addr.IsValid() {
			t.Fatalf("got invalid address from %q", body)
		}
		switch d.Direction {
		case SendRecv, SendOnly, RecvOnly, Inactive:
		default:
			t.Fatalf("got direction %q", d.Direction)
		}
		for _, c := range append(d.Formats, d.DTMF) {
			if c.PT > 127 {
				t.Fatalf("got payload type %d", c.PT)
			}
		}
		if a := d.RemoteAddr(); a.IsValid() && int(a.Port()) != d.Port {
			t.Fatalf("got remote %v for port %d", a, d.Port)
		}
		if c, err := Negotiate(d); err == nil {
			if r, ok := LookupCodec(c.Codec.Name(), c.Codec.ClockRate()); !ok || r != c.Codec {
				t.Fatalf("negotiated %+v, not a registered codec", c)
			}
		}
	})
}
