package media

import (
	"context"
	"sync"
	"time"
)

// Tap receives a copy of the audio each leg sends, for the recorder. It is
// called on the leg's reader goroutine after the packet has been relayed,
// so a slow tap delays nothing that the other leg hears; it must not block.
type Tap interface {
	// Audio gets one leg's payload in that leg's codec, with its RTP
	// sequence number and timestamp. side is 0 for leg A, 1 for leg B.
	Audio(side int, codec Codec, seq uint16, ts uint32, ssrc uint32, payload []byte)
}

// BridgeOptions configure a bridge.
type BridgeOptions struct {
	// OnKey is told of each key pressed on a leg (side 0 = A, 1 = B). The
	// event itself still crosses to the other leg as RFC 4733.
	OnKey func(side int, d DTMF)
	// Swallow, when it returns true for a key, keeps that key's events from
	// crossing (e.g. an agent's pause sequence that the caller must not hear).
	Swallow func(side int, d rune) bool
	Tap     Tap
}

// Bridge relays RTP between two legs. Each leg's reader goroutine writes
// straight to the other leg's socket: no extra goroutine, channel or
// allocation per packet. Telephone events go to the other leg as RFC 4733
// with its own payload type, never as audio and never back to the leg that
// pressed them (diago's Bridge.DTMFpass does both).
type Bridge struct {
	a, b *Endpoint
	opts BridgeOptions
	once sync.Once
}

// NewBridge connects a and b until Stop.
func NewBridge(a, b *Endpoint, opts BridgeOptions) *Bridge {
	br := &Bridge{a: a, b: b, opts: opts}
	a.setHandler(&bridgeSide{br: br, side: 0, dst: b})
	b.setHandler(&bridgeSide{br: br, side: 1, dst: a})
	return br
}

// Stop detaches the bridge from both legs; it is idempotent.
func (br *Bridge) Stop() {
	br.once.Do(func() {
		br.a.setHandler(nil)
		br.b.setHandler(nil)
	})
}

type bridgeSide struct {
	br      *Bridge
	side    int
	dst     *Endpoint
	det     detector
	swallow uint32 // RTP timestamp of an event being swallowed
	swOn    bool
	xc      transcoder
	out     []byte // a packet rewritten into a payload of another size
}

func (s *bridgeSide) handleRTP(src *Endpoint, pkt []byte, h rtpHeader) {
	p := src.peer.Load()
	dp := s.dst.peer.Load()
	if dp == nil {
		return
	}
	switch {
	case p.DTMF.Name != "" && h.pt == p.DTMF.PT:
		if d, ok := s.det.feed(h, pkt[h.payload:h.end]); ok {
			if s.br.opts.OnKey != nil {
				s.br.opts.OnKey(s.side, DTMF{Digit: d, At: time.Now(), Via: "rfc4733"})
			}
			s.swOn = s.br.opts.Swallow != nil && s.br.opts.Swallow(s.side, d)
			s.swallow = h.ts
		}
		if s.swOn && h.ts == s.swallow {
			return
		}
		if dp.DTMF.Name == "" {
			return // the other leg takes no events: drop rather than play as audio
		}
		s.dst.relay(src, pkt, h, dp.DTMF.PT)
	case h.pt == p.Audio.PT:
		codec := p.Audio.Codec
		body := pkt[h.payload:h.end]
		if codec == dp.Audio.Codec {
			// Relay first, record second: the recorder never delays the
			// other leg. relay rewrites only the header; h keeps the
			// original values.
			s.dst.relay(src, pkt, h, dp.Audio.PT)
			if t := s.br.opts.Tap; t != nil {
				t.Audio(s.side, codec, h.seq, h.ts, h.ssrc, body)
			}
			return
		}
		// The legs chose different codecs: the other leg hears its own.
		out, inPlace := s.xc.translate(codec, dp.Audio.Codec, body)
		if inPlace {
			// Rewritten in place (one G.711 law to the other): what the
			// leg sent is gone, so the recording takes the translation,
			// which is the same audio.
			s.dst.relay(src, pkt, h, dp.Audio.PT)
			if t := s.br.opts.Tap; t != nil {
				t.Audio(s.side, dp.Audio.Codec, h.seq, h.ts, h.ssrc, body)
			}
			return
		}
		// Through linear audio: the packet the other leg gets is built
		// apart, and the recording takes what this leg sent, in its own
		// codec and rate (a G.722 caller stays wideband in the file).
		s.out = append(append(s.out[:0], pkt[:h.payload]...), out...)
		oh := h
		oh.end = len(s.out)
		s.dst.relay(src, s.out, oh, dp.Audio.PT)
		if t := s.br.opts.Tap; t != nil {
			t.Audio(s.side, codec, h.seq, h.ts, h.ssrc, body)
		}
		return
	}
	// Anything else (comfort noise, unknown formats) is not relayed.
}

// echo sends a leg's audio and events back to it: the built-in agent of
// the embedded defaults. Its tap hears the caller on the left and the
// echo on the right, as a recording of a real agent would.
type echo struct{ tap Tap }

func (x echo) handleRTP(src *Endpoint, pkt []byte, h rtpHeader) {
	p := src.peer.Load()
	if h.pt != p.Audio.PT && (p.DTMF.Name == "" || h.pt != p.DTMF.PT) {
		return
	}
	src.relay(src, pkt, h, h.pt)
	if x.tap != nil && h.pt == p.Audio.PT {
		x.tap.Audio(0, p.Audio.Codec, h.seq, h.ts, h.ssrc, pkt[h.payload:h.end])
		x.tap.Audio(1, p.Audio.Codec, h.seq, h.ts, h.ssrc, pkt[h.payload:h.end])
	}
}

// Echo makes the endpoint return everything its peer sends, recording it
// to tap when tap is not nil. Echo(nil) after a taped echo detaches the
// tap; the echo goes on until the endpoint gets another phase.
func (e *Endpoint) Echo(tap Tap) { e.setHandler(echo{tap: tap}) }

// SendKey sends a key press to the peer as RFC 4733 events (a start
// packet, updates every 50 ms and three end packets), for keys that arrive
// by SIP INFO on the other leg. It blocks for the event's duration, or
// until ctx ends (then it returns ctx's error without the end packets).
func (e *Endpoint) SendKey(ctx context.Context, d rune, dur time.Duration) error {
	p := e.peer.Load()
	code, ok := EventCode(d)
	if p == nil || p.DTMF.Name == "" || !ok {
		return nil
	}
	rate := time.Duration(p.DTMF.Rate)
	if rate == 0 {
		rate = time.Duration(TelephoneEvent.Rate)
	}
	ts := e.nextTS(p, p.frameTicks())
	total := uint16(min(dur, 8*time.Second) / (time.Second / rate))
	var pl [4]byte
	pl[0], pl[1] = code, 10
	step := uint16(rate / 20) // 50 ms
	first := true
	for el := step; ; el += step {
		if el > total {
			el = total
		}
		end := el == total
		pl[1] = 10
		if end {
			pl[1] |= 0x80
		}
		pl[2], pl[3] = byte(el>>8), byte(el)
		reps := 1
		if end {
			reps = 3
		}
		for range reps {
			if err := e.writeFrame(first, p.DTMF.PT, ts, pl[:]); err != nil {
				return err
			}
			first = false
		}
		if end {
			return nil
		}
		if err := waitCtx(ctx, time.Now().Add(50*time.Millisecond)); err != nil {
			return err
		}
	}
}
