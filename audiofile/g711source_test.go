package audiofile_test

import (
	"bytes"
	"math"
	"os"
	"testing"

	"github.com/kiroku-voice/kiroku/audiofile"
)

// TestFromG711: a recording stored as g711 and encoded again (the
// transcoder's input) gives the bytes the spool's PCM gives, for each
// format and law: the law's decoded samples are the recorder's, so a
// g711 object converted later is stored as if it had been encoded from
// the spool (FLAC's MD5 included).
func TestFromG711(t *testing.T) {
	for _, law := range []audiofile.Law{audiofile.ULaw, audiofile.ALaw} {
		pcm := make([]int16, 2*12000)
		for i := range len(pcm) / 2 {
			pcm[2*i] = int16(9000 * math.Sin(2*math.Pi*440*float64(i)/8000))
			pcm[2*i+1] = int16(7000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
		}
		src := spoolWAV(t, wire(pcm, law))
		g := encodeFile(t, src, audiofile.G711, audiofile.Options{Law: law})
		for _, f := range audiofile.Formats {
			t.Run(string(law)+"/"+string(f), func(t *testing.T) {
				want, _ := os.ReadFile(encodeFile(t, src, f, audiofile.Options{Law: law}))
				got, _ := os.ReadFile(encodeFile(t, g, f, audiofile.Options{Law: law}))
				if !bytes.Equal(got, want) || len(got) == 0 {
					t.Errorf("from g711: %d bytes, from the spool's PCM: %d bytes; want the same bytes", len(got), len(want))
				}
			})
		}
	}
}
