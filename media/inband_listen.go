package media

import (
	"sync/atomic"
	"time"
)

// ViaInband is the DTMF.Via of keys found as tones in the audio.
const ViaInband = "inband"

// toneListener runs a ToneDetector on the peer's decoded audio while a
// listener is in place, until it is switched off (consent decided),
// after which a packet costs one atomic load.
type toneListener struct {
	off atomic.Bool
	det ToneDetector
	pcm []int16 // decoded packet, reused: it grows once to a packet's size
	low []int16 // pcm at 8 kHz, for a wideband codec
	// codec is the one being decoded, with its decoder and (wideband) its
	// resampler to the detector's rate.
	codec Codec
	dec   Decoder
	rs    *resampler
}

// audio decodes one audio packet and reports the keys in it.
func (t *toneListener) audio(c Codec, payload []byte, onKey func(DTMF)) {
	if t.off.Load() {
		return
	}
	if t.codec != c {
		t.codec, t.dec, t.rs = c, c.NewDecoder(), newResampler(c.SampleRate(), PromptRate)
	}
	if c.SampleRate() != PromptRate && t.rs == nil {
		return // the detector's filters are for 8 kHz audio
	}
	t.pcm = t.dec.Decode(t.pcm[:0], payload)
	pcm := t.pcm
	if t.rs != nil {
		t.low = t.rs.convert(t.low[:0], pcm)
		pcm = t.low
	}
	for frame := PromptRate * ptime / 1000; len(pcm) > 0; {
		n := min(len(pcm), frame)
		if d, ok := t.det.Feed(pcm[:n]); ok {
			onKey(DTMF{Digit: d, At: time.Now(), Via: ViaInband})
		}
		pcm = pcm[n:]
	}
}

// ListenKeysInband is ListenKeys that also finds keys sent in band, as
// tones in the peer's audio (Via ViaInband), until StopInband. The
// audio is still discarded.
func (e *Endpoint) ListenKeysInband(onKey func(DTMF)) {
	e.setHandler(&listener{onKey: onKey, tones: &toneListener{}})
}

// StopInband ends in-band detection on the endpoint's key listener
// (RFC 4733 keys are still reported); it does nothing when another
// phase has taken the endpoint over. It may be called from any
// goroutine.
func (e *Endpoint) StopInband() {
	if b := e.handler.Load(); b != nil {
		if l, ok := b.h.(*listener); ok && l.tones != nil {
			l.tones.off.Store(true)
		}
	}
}
