package loadgen

import (
	"net/netip"
	"testing"
)

func TestSDPAddr(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       string
	}{
		{"ours", string(sdpBody(7, 40000)), "127.0.0.1:40000"},
		{"media c= wins", "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 20000 RTP/AVP 0\r\nc=IN IP4 127.0.0.2\r\n", "127.0.0.2:20000"},
		{"first audio stream", "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 30000 RTP/AVP 96\r\nm=audio 20002 RTP/AVP 0\r\nm=audio 20004 RTP/AVP 0\r\n", "127.0.0.1:20002"},
		{"no audio", "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 30000 RTP/AVP 96\r\n", ""},
		{"no address", "v=0\r\nm=audio 20000 RTP/AVP 0\r\n", ""},
		{"bad port", "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio x RTP/AVP 0\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sdpAddr([]byte(tc.body))
			if tc.want == "" {
				if err == nil {
					t.Errorf("got %v, want an error", got)
				}
				return
			}
			if err != nil || got != netip.MustParseAddrPort(tc.want) {
				t.Errorf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestCallIndex(t *testing.T) {
	for _, i := range []int{0, 7, 499, 123456} {
		c := newCall(i)
		if got, ok := callIndex(c.user); !ok || got != i {
			t.Errorf("callIndex(%q) = %d, %v; want %d", c.user, got, ok, i)
		}
	}
	for _, u := range []string{"", "0399", "0312345678", "0399x1"} {
		if i, ok := callIndex(u); ok {
			t.Errorf("callIndex(%q) = %d, true; want false", u, i)
		}
	}
}

func TestToneFrames(t *testing.T) {
	c, a := toneFrame(callerHz), toneFrame(agentHz)
	if c == a {
		t.Fatal("caller and agent tones are the same frame")
	}
	// A frame holds whole periods, so frame after frame is the same bytes.
	for _, tc := range []struct {
		hz     int
		period int
	}{{callerHz, 8000 / callerHz}, {agentHz, 8000 / agentHz}} {
		f := toneFrame(tc.hz)
		if frameSamples%tc.period != 0 {
			t.Errorf("%d Hz: period %d does not divide a frame", tc.hz, tc.period)
		}
		for i := tc.period; i < frameSamples; i++ {
			if f[i] != f[i-tc.period] {
				t.Fatalf("%d Hz: sample %d differs from one period earlier", tc.hz, i)
			}
		}
	}
	if ulaw(0) != 0xff || ulaw(-1) != 0x7f {
		t.Errorf("got µ-law of 0 and -1 as %#x %#x, want 0xff 0x7f", ulaw(0), ulaw(-1))
	}
}
