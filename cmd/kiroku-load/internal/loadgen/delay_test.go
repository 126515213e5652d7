package loadgen

import (
	"encoding/binary"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	var h histogram
	for _, d := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 90 * time.Millisecond, 2 * time.Second} {
		h.add(d)
	}
	want := [len(delayBounds) + 1]uint64{2, 1, 0, 0, 1, 0, 1}
	if h.n != want || h.max != 2*time.Second {
		t.Errorf("got buckets %v max %s, want %v max 2s", h.n, h.max, want)
	}
	if got := h.over(80 * time.Millisecond); got != 2 {
		t.Errorf("got %d over 80ms, want 2", got)
	}
	var m histogram
	m.merge(&h)
	m.merge(&h)
	if m.n[0] != 4 || m.max != 2*time.Second {
		t.Errorf("got merged %v max %s, want twice the buckets", m.n, m.max)
	}
	if s := h.String(); !strings.Contains(s, "≤1ms 40.000%") || !strings.Contains(s, ">500ms 20.000%") || strings.Contains(s, "≤20ms") {
		t.Errorf("got %q, want the non-empty buckets only", s)
	}
	var empty histogram
	if empty.String() != "no samples" {
		t.Errorf("got %q for an empty histogram, want \"no samples\"", empty.String())
	}
}

func TestKernelStamp(t *testing.T) {
	want := time.Date(2026, 11, 27, 3, 0, 0, 123456789, time.UTC).UnixNano()
	msg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, syscall.SizeofCmsghdr+((len(data)+7)&^7))
		binary.NativeEndian.PutUint64(b, uint64(syscall.SizeofCmsghdr+len(data)))
		binary.NativeEndian.PutUint32(b[8:], uint32(level))
		binary.NativeEndian.PutUint32(b[12:], uint32(typ))
		copy(b[syscall.SizeofCmsghdr:], data)
		return b
	}
	ts := make([]byte, 16)
	binary.NativeEndian.PutUint64(ts, uint64(want/1e9))
	binary.NativeEndian.PutUint64(ts[8:], uint64(want%1e9))
	other := msg(syscall.IPPROTO_IP, syscall.IP_TTL, []byte{64, 0, 0, 0})
	stamp := msg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, ts)
	for _, tc := range []struct {
		name string
		oob  []byte
		want int64
	}{
		{"alone", stamp, want},
		{"after another message", append(append([]byte(nil), other...), stamp...), want},
		{"none", other, 0},
		{"empty", nil, 0},
		{"truncated", stamp[:20], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kernelStamp(tc.oob); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
