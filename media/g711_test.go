package media

import (
	"math"
	"testing"
)

func TestG711RoundTrip(t *testing.T) {
	for _, c := range []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
	}{
		{"ulaw", EncodeULaw, DecodeULaw},
		{"alaw", EncodeALaw, DecodeALaw},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Every code decodes to a value that encodes back to itself
			// (the two μ-law zeros excepted).
			for i := range 256 {
				b := byte(i)
				got := c.enc(c.dec(b))
				if got != b && c.dec(got) != c.dec(b) {
					t.Fatalf("code %#x: decode %d encodes to %#x", b, c.dec(b), got)
				}
			}
			// Quantisation error stays within G.711's ~3 % of magnitude.
			for s := -32768; s <= 32767; s += 7 {
				got := int(c.dec(c.enc(int16(s))))
				if d := math.Abs(float64(got - s)); d > math.Max(40, 0.07*math.Abs(float64(s))) {
					t.Fatalf("sample %d: got %d back", s, got)
				}
			}
		})
	}
}
