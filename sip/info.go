package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/media"
)

var errUnsupportedInfo = errors.New("unsupported INFO content type")

// ParseInfoDTMF reads a key press from a SIP INFO body:
// application/dtmf-relay ("Signal=9\r\nDuration=160") or application/dtmf
// ("9"). Signal may also be the RFC 4733 event number (10 = *, 11 = #).
func ParseInfoDTMF(contentType string, body []byte) (rune, time.Duration, error) {
	dur := 160 * time.Millisecond
	switch contentType {
	case "application/dtmf-relay":
		var sig string
		for ln := range strings.SplitSeq(string(body), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(ln), "=")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				sig = strings.TrimSpace(v)
			case "duration":
				if ms, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && ms > 0 && ms < 10000 {
					dur = time.Duration(ms) * time.Millisecond
				}
			}
		}
		d, err := signal(sig)
		return d, dur, err
	case "application/dtmf":
		d, err := signal(strings.TrimSpace(string(body)))
		return d, dur, err
	}
	return 0, 0, errUnsupportedInfo
}

func signal(s string) (rune, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 10 && n <= 15 {
		return media.Digit(uint8(n)), nil
	}
	if len(s) == 1 {
		if _, ok := media.EventCode(rune(s[0])); ok {
			return rune(strings.ToUpper(s)[0]), nil
		}
	}
	return 0, fmt.Errorf("dtmf signal %q is not a key", s)
}
