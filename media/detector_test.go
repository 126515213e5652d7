package media

import "testing"

// evPkt is one telephone-event packet as the detector sees it.
type evPkt struct {
	ssrc, ts uint32
	code     uint8
	end      bool
	duration uint16
	short    bool // a truncated payload
}

func (p evPkt) feed(d *detector) (rune, bool) {
	pl := []byte{p.code, 10, byte(p.duration >> 8), byte(p.duration)}
	if p.end {
		pl[1] |= 0x80
	}
	if p.short {
		pl = pl[:3]
	}
	return d.feed(rtpHeader{pt: 101, ts: p.ts, ssrc: p.ssrc, payload: 12, end: 12 + len(pl)}, pl)
}

// press is one key press as a sender following RFC 4733 §2.5.1 emits it:
// a start packet, updates, and the end packet sent three times.
func press(ssrc, ts uint32, code uint8, firstDur uint16) []evPkt {
	return []evPkt{
		{ssrc: ssrc, ts: ts, code: code, duration: firstDur},
		{ssrc: ssrc, ts: ts, code: code, duration: 400},
		{ssrc: ssrc, ts: ts, code: code, duration: 800},
		{ssrc: ssrc, ts: ts, code: code, duration: 1200, end: true},
		{ssrc: ssrc, ts: ts, code: code, duration: 1200, end: true},
		{ssrc: ssrc, ts: ts, code: code, duration: 1200, end: true},
	}
}

func cat(ps ...[]evPkt) []evPkt {
	var out []evPkt
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func TestDetector(t *testing.T) {
	for _, c := range []struct {
		name string
		pkts []evPkt
		want string
		// at is the index of the packet each key must be reported on.
		at []int
	}{
		{
			name: "first packet with duration 0 reported (diago bug 4)",
			pkts: []evPkt{{ssrc: 1, ts: 1000, code: 5, duration: 0}},
			want: "5", at: []int{0},
		},
		{
			name: "full press with duration-0 start reported once, on its first packet",
			pkts: press(1, 1000, 5, 0),
			want: "5", at: []int{0},
		},
		{
			name: "full press with non-zero start reported once",
			pkts: press(1, 1000, 11, 160),
			want: "#", at: []int{0},
		},
		{
			name: "only the three end packets (start lost) reported once",
			pkts: press(1, 1000, 10, 0)[3:],
			want: "*", at: []int{0},
		},
		{
			name: "two presses of the same digit",
			pkts: cat(press(1, 1000, 7, 0), press(1, 3000, 7, 0)),
			want: "77", at: []int{0, 6},
		},
		{
			name: "different digits",
			pkts: cat(press(1, 1000, 1, 0), press(1, 2600, 12, 0), press(1, 4200, 0, 160)),
			want: "1A0", at: []int{0, 6, 12},
		},
		{
			name: "SSRC change with the same timestamp is a new event",
			pkts: cat(press(1, 1000, 3, 0), press(2, 1000, 3, 0)),
			want: "33", at: []int{0, 6},
		},
		{
			name: "timestamp wrap is a new event",
			pkts: cat(press(1, 0xffffff00, 9, 0), press(1, 0x00000100, 9, 0)),
			want: "99", at: []int{0, 6},
		},
		{
			name: "non-DTMF event (flash) not reported",
			pkts: press(1, 1000, 16, 0),
			want: "",
		},
		{
			name: "key after a flash reported",
			pkts: cat(press(1, 1000, 16, 0), press(1, 2600, 4, 0)),
			want: "4", at: []int{6},
		},
		{
			name: "truncated payload ignored and does not hide the event",
			pkts: []evPkt{{ssrc: 1, ts: 1000, code: 6, short: true}, {ssrc: 1, ts: 1000, code: 6, duration: 400}},
			want: "6", at: []int{1},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var (
				d   detector
				got []rune
				at  []int
			)
			for i, p := range c.pkts {
				if k, ok := p.feed(&d); ok {
					got = append(got, k)
					at = append(at, i)
				}
			}
			if string(got) != c.want {
				t.Errorf("got keys %q, want %q", string(got), c.want)
			}
			if len(at) != len(c.at) {
				return
			}
			for i := range at {
				if at[i] != c.at[i] {
					t.Errorf("got key %d reported on packet %d, want packet %d", i, at[i], c.at[i])
				}
			}
		})
	}
}
