package audiofile

import (
	"io"

	"github.com/kiroku-voice/kiroku/media"
)

// WAV format tags of G.711.
const (
	tagALaw = 6
	tagULaw = 7
)

// ulaw and alaw decode each law's bytes, for a G.711 source.
var ulaw, alaw [256]int16

func init() {
	for b := range 256 {
		ulaw[b], alaw[b] = media.DecodeULaw(byte(b)), media.DecodeALaw(byte(b))
	}
}

// encodeG711 writes s as a stereo G.711 WAV in law (μ-law unless ALaw).
//
// The recorder decodes each leg's G.711 to PCM; encoding those samples
// again with the same law gives back the wire's samples exactly (each
// law's decoded values are fixed points of its encoder). It is not
// exact where the PCM did not come from that law: a leg whose codec was
// the other law (each law re-encoded into the other loses up to a step),
// and the silence the recorder writes for lost packets, gaps and pauses
// under A-law, which has no zero: linear 0 is stored as ±8.
func encodeG711(dst io.Writer, s *source, law Law) error {
	tag, enc := uint16(tagULaw), media.EncodeULaw
	if law == ALaw {
		tag, enc = tagALaw, media.EncodeALaw
	}
	if _, err := dst.Write(wavHeader(tag, 8, s.frames, 18, s.rate)); err != nil {
		return err
	}
	buf, raw := make([]int16, 4096*channels), make([]byte, 4096*frameLen)
	out := make([]byte, 4096*channels)
	for {
		n, err := s.read(buf, raw)
		if err != nil || n == 0 {
			return err
		}
		for i, v := range buf[:n*channels] {
			out[i] = enc(v)
		}
		if _, err := dst.Write(out[:n*channels]); err != nil {
			return err
		}
	}
}
