package media

import (
	"context"
	"fmt"
	"time"
)

// DTMF is one key press seen on a leg.
type DTMF struct {
	Digit rune
	At    time.Time
	Via   string // "rfc4733", "sip-info" or "inband"
}

// detector turns RFC 4733 packets into key presses. A new event is a new
// RTP timestamp: it is reported on its first packet whatever that packet's
// duration (diago ignores events whose first packet has duration 0, as in
// SIPp's stock pcaps), and its retransmitted end packets are not reported
// again.
type detector struct {
	have   bool
	lastTS uint32
	ssrc   uint32
}

func (d *detector) feed(h rtpHeader, payload []byte) (rune, bool) {
	ev, ok := parseEvent(payload)
	if !ok {
		return 0, false
	}
	if d.have && h.ssrc == d.ssrc && int32(h.ts-d.lastTS) <= 0 {
		// The same event again (updates, end packets), or a straggler of
		// an older one arriving after a newer event started.
		return 0, false
	}
	d.have, d.lastTS, d.ssrc = true, h.ts, h.ssrc
	digit := Digit(ev.code)
	return digit, digit != 0
}

// listener drops the caller's audio during the notice (nothing is recorded
// before consent) and reports key presses.
type listener struct {
	det   detector
	onKey func(DTMF)
	tones *toneListener // nil: in-band keys are not looked for
}

func (l *listener) handleRTP(src *Endpoint, pkt []byte, h rtpHeader) {
	p := src.peer.Load()
	if l.tones != nil && p.Audio.Codec != nil && h.pt == p.Audio.PT {
		l.tones.audio(p.Audio.Codec, pkt[h.payload:h.end], l.onKey)
		return
	}
	if p.DTMF.Name == "" || h.pt != p.DTMF.PT {
		return
	}
	if d, ok := l.det.feed(h, pkt[h.payload:h.end]); ok {
		l.onKey(DTMF{Digit: d, At: time.Now(), Via: "rfc4733"})
	}
}

// ListenKeys reports every key the peer presses by RFC 4733 to onKey (on
// the endpoint's reader goroutine) and discards its audio, until another
// phase (bridge, echo) takes the endpoint over.
func (e *Endpoint) ListenKeys(onKey func(DTMF)) {
	e.setHandler(&listener{onKey: onKey})
}

// PromptRate is the sample rate of notice and tone audio (config checks
// prompts against the same figure).
const PromptRate = 8000

// Play sends pcm (PromptRate mono) to the peer in the negotiated codec,
// paced in real time in 20 ms frames against an absolute schedule so it
// does not drift. It returns nil when the prompt was played in full, or
// ctx's error when it was cut short.
func (e *Endpoint) Play(ctx context.Context, pcm []int16) error {
	p := e.peer.Load()
	if p == nil {
		return nil
	}
	codec := p.Audio.Codec
	if codec == nil {
		return fmt.Errorf("play: no codec negotiated")
	}
	frame := PromptRate * ptime / 1000 // prompt samples a packet
	ticks := uint32(frameTicks(codec))
	enc := codec.NewEncoder()
	rs := newResampler(PromptRate, codec.SampleRate())
	if codec.SampleRate() != PromptRate && rs == nil {
		return fmt.Errorf("play: %s runs at %d Hz, prompts at %d Hz", codec.Name(), codec.SampleRate(), PromptRate)
	}
	if codec.FrameSamples() > maxFrameSamples {
		return fmt.Errorf("play: %s has %d samples a frame", codec.Name(), codec.FrameSamples())
	}
	period := time.Duration(ptime) * time.Millisecond
	var (
		buf  [maxFrameSamples * 2]byte // room for codecs of up to 16 bits a sample
		pad  [PromptRate * ptime / 1000]int16
		wide [maxFrameSamples]int16
	)
	start := time.Now()
	ts := e.nextTS(p, ticks)
	for i, off := 0, 0; off < len(pcm); i, off = i+1, off+frame {
		if err := waitCtx(ctx, start.Add(time.Duration(i)*period)); err != nil {
			return err
		}
		samples := pcm[off:min(off+frame, len(pcm))]
		if len(samples) < frame { // pad the last frame with silence
			n := copy(pad[:], samples)
			clear(pad[n:frame])
			samples = pad[:frame]
		}
		if rs != nil {
			samples = rs.convert(wide[:0], samples)
		}
		payload := enc.Encode(buf[:0], samples)
		if err := e.writeFrame(i == 0, p.Audio.PT, ts, payload); err != nil {
			return err
		}
		ts += ticks
		e.wmu.Lock()
		e.ts = ts - ticks
		e.wmu.Unlock()
	}
	// The last frame is on the wire now; it ends one period later.
	return waitCtx(ctx, start.Add(time.Duration((len(pcm)+frame-1)/frame)*period))
}
