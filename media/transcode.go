package media

// transcoder rewrites one direction of the relay from one codec to
// another: G.711 law to law by table, in place; anything else through
// linear audio (decode, resample when the rates differ, encode), keeping
// each stream's coding state from packet to packet. It belongs to the
// goroutine that relays that direction.
type transcoder struct {
	from, to Codec
	dec      Decoder
	enc      Encoder
	rs       *resampler
	pcm, mid []int16
	out      []byte
}

// reset makes t translate from → to, keeping its buffers; a leg that
// changes codec (a re-INVITE) starts its streams' coding state afresh.
func (t *transcoder) reset(from, to Codec) {
	t.from, t.to = from, to
	t.dec, t.enc, t.rs = from.NewDecoder(), to.NewEncoder(), newResampler(from.SampleRate(), to.SampleRate())
}

// translate returns payload in to. Between the laws of G.711 it rewrites
// payload in place, returns it and reports inPlace; otherwise the result
// is in a buffer of t's, valid until the next call. Every registered codec
// runs on an 8 kHz RTP clock, so the packet's timestamp stays as it is.
func (t *transcoder) translate(from, to Codec, payload []byte) (out []byte, inPlace bool) {
	if from == to {
		return payload, true
	}
	if f, ok := from.(*g711); ok {
		if g, ok := to.(*g711); ok && transcode(f, g, payload) {
			return payload, true
		}
	}
	if t.from != from || t.to != to {
		t.reset(from, to)
	}
	t.pcm = t.dec.Decode(t.pcm[:0], payload)
	pcm := t.pcm
	if t.rs != nil {
		t.mid = t.rs.convert(t.mid[:0], pcm)
		pcm = t.mid
	}
	t.out = t.enc.Encode(t.out[:0], pcm)
	return t.out, false
}
