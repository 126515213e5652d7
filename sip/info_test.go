package sip

import (
	"errors"
	"testing"
	"time"
)

func TestParseInfoDTMF(t *testing.T) {
	const relay, plain = "application/dtmf-relay", "application/dtmf"
	const dflt = 160 * time.Millisecond
	for _, c := range []struct {
		name    string
		ct      string
		body    string
		want    rune
		wantDur time.Duration
	}{
		{"dtmf-relay 9 for 250 ms", relay, "Signal=9\r\nDuration=250\r\n", '9', 250 * time.Millisecond},
		{"dtmf-relay star", relay, "Signal=*\r\nDuration=160\r\n", '*', dflt},
		{"dtmf-relay hash", relay, "Signal=#\r\nDuration=100\r\n", '#', 100 * time.Millisecond},
		{"event number 10 is star", relay, "Signal=10\r\nDuration=160\r\n", '*', dflt},
		{"event number 11 is hash", relay, "Signal=11\r\nDuration=160\r\n", '#', dflt},
		{"event number 12 is A", relay, "Signal=12\r\n", 'A', dflt},
		{"event number 15 is D", relay, "Signal=15\r\n", 'D', dflt},
		{"signal A", relay, "Signal=A\r\nDuration=160\r\n", 'A', dflt},
		{"lower-case d upper-cased", relay, "Signal=d\r\n", 'D', dflt},
		{"zero", relay, "Signal=0\r\n", '0', dflt},
		{"lower-case keys", relay, "signal=5\r\nduration=300\r\n", '5', 300 * time.Millisecond},
		{"mixed-case keys and spaces", relay, "SIGNAL = 7 \r\n Duration= 40\r\n", '7', 40 * time.Millisecond},
		{"LF line ends", relay, "Signal=3\nDuration=200\n", '3', 200 * time.Millisecond},
		{"no trailing line end", relay, "Signal=4\r\nDuration=200", '4', 200 * time.Millisecond},
		{"duration first", relay, "Duration=120\r\nSignal=1\r\n", '1', 120 * time.Millisecond},
		{"no duration", relay, "Signal=2\r\n", '2', dflt},
		{"unrelated lines ignored", relay, "Foo=bar\r\nnonsense\r\nSignal=6\r\n", '6', dflt},
		{"duration 0 ignored", relay, "Signal=8\r\nDuration=0\r\n", '8', dflt},
		{"negative duration ignored", relay, "Signal=8\r\nDuration=-250\r\n", '8', dflt},
		{"duration 1 ms kept", relay, "Signal=8\r\nDuration=1\r\n", '8', time.Millisecond},
		{"duration 9999 ms kept", relay, "Signal=8\r\nDuration=9999\r\n", '8', 9999 * time.Millisecond},
		{"duration 10000 ms ignored", relay, "Signal=8\r\nDuration=10000\r\n", '8', dflt},
		{"huge duration ignored", relay, "Signal=8\r\nDuration=99999999999999999999\r\n", '8', dflt},
		{"duration not a number ignored", relay, "Signal=8\r\nDuration=long\r\n", '8', dflt},
		{"application/dtmf digit", plain, "9", '9', dflt},
		{"application/dtmf with line end", plain, "5\r\n", '5', dflt},
		{"application/dtmf hash", plain, "#", '#', dflt},
		{"application/dtmf event number", plain, "11", '#', dflt},
		{"application/dtmf lower-case b", plain, "b", 'B', dflt},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, dur, err := ParseInfoDTMF(c.ct, []byte(c.body))
			if err != nil {
				t.Fatalf("got error %v, want %q", err, c.want)
			}
			if got != c.want || dur != c.wantDur {
				t.Errorf("got %q for %v, want %q for %v", got, dur, c.want, c.wantDur)
			}
		})
	}
}

func TestParseInfoDTMFErrors(t *testing.T) {
	const relay, plain = "application/dtmf-relay", "application/dtmf"
	for _, c := range []struct {
		name        string
		ct          string
		body        string
		unsupported bool
	}{
		{"signal E", relay, "Signal=E\r\n", false},
		{"signal 16 (flash)", relay, "Signal=16\r\n", false},
		{"signal 99", relay, "Signal=99\r\n", false},
		{"two keys", relay, "Signal=12a\r\n", false},
		{"empty signal", relay, "Signal=\r\nDuration=160\r\n", false},
		{"no signal line", relay, "Duration=160\r\n", false},
		{"empty dtmf-relay body", relay, "", false},
		{"application/dtmf word", plain, "nine", false},
		{"application/dtmf blank", plain, " \r\n", false},
		{"application/dtmf non-ASCII", plain, "９", false},
		{"SDP", "application/sdp", "v=0\r\n", true},
		{"text", "text/plain", "9", true},
		{"no content type", "", "Signal=9\r\n", true},
		{"media feature tag body", "application/media_control+xml", "<media_control/>", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, dur, err := ParseInfoDTMF(c.ct, []byte(c.body))
			if err == nil {
				t.Fatalf("got %q for %v, want an error", d, dur)
			}
			if got := errors.Is(err, errUnsupportedInfo); got != c.unsupported {
				t.Errorf("got %v (unsupported content type: %v), want unsupported %v", err, got, c.unsupported)
			}
		})
	}
}
