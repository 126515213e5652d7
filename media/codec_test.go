package media

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// Test formats: the two laws under their static numbers.
var (
	pcmu    = Audio{PT: 0, Codec: PCMU}
	pcma    = Audio{PT: 8, Codec: PCMA}
	fmtPCMU = Format{PT: 0, Name: "PCMU", Rate: 8000}
	fmtPCMA = Format{PT: 8, Name: "PCMA", Rate: 8000}
	fmtG722 = Format{PT: 9, Name: "G722", Rate: 8000}
)

func TestCodecRegistry(t *testing.T) {
	if got, want := Codecs(), []string{"PCMU", "PCMA", "G722"}; !slices.Equal(got, want) {
		t.Errorf("Codecs() = %v, want %v", got, want)
	}
	for _, c := range []struct {
		name string
		enc  string
		rate int
		want Codec
	}{
		{"PCMU", "PCMU", 8000, PCMU},
		{"PCMA", "PCMA", 8000, PCMA},
		{"names are case insensitive", "pcma", 8000, PCMA},
		{"G722 on its 8 kHz clock", "G722", 8000, G722},
		{"PCMU at 16 kHz is another codec", "PCMU", 16000, nil},
		{"G.729 not registered", "G729", 8000, nil},
		{"telephone-event is no codec", "telephone-event", 8000, nil},
		{"empty", "", 8000, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := LookupCodec(c.enc, c.rate)
			if got != c.want || ok != (c.want != nil) {
				t.Errorf("LookupCodec(%q, %d) = %v, %v, want %v", c.enc, c.rate, got, ok, c.want)
			}
		})
	}
	for _, c := range []struct {
		pt   uint8
		want Codec
	}{{0, PCMU}, {8, PCMA}, {9, G722}, {18, nil}, {96, nil}} {
		if got, _ := staticCodec(c.pt); got != c.want {
			t.Errorf("staticCodec(%d) = %v, want %v", c.pt, got, c.want)
		}
	}
}

func TestCodecGeometry(t *testing.T) {
	for _, c := range []struct {
		codec        Codec
		name         string
		rate, sample int
		frame, bytes int
	}{
		{PCMU, "PCMU", 8000, 8000, 160, 160},
		{PCMA, "PCMA", 8000, 8000, 160, 160},
		{G722, "G722", 8000, 16000, 320, 160}, // RFC 3551: 16 kHz audio on an 8 kHz clock
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.codec.Name(); got != c.name {
				t.Errorf("Name() = %q, want %q", got, c.name)
			}
			if got := c.codec.ClockRate(); got != c.rate {
				t.Errorf("ClockRate() = %d, want %d", got, c.rate)
			}
			if got := c.codec.SampleRate(); got != c.sample {
				t.Errorf("SampleRate() = %d, want %d", got, c.sample)
			}
			if got := c.codec.FrameSamples(); got != c.frame {
				t.Errorf("FrameSamples() = %d, want %d", got, c.frame)
			}
			pcm := make([]int16, c.frame)
			if got := len(c.codec.NewEncoder().Encode(nil, pcm)); got != c.bytes {
				t.Errorf("one frame encodes to %d bytes, want %d", got, c.bytes)
			}
			if got := len(c.codec.NewDecoder().Decode(nil, make([]byte, c.bytes))); got != c.frame {
				t.Errorf("one frame decodes to %d samples, want %d", got, c.frame)
			}
		})
	}
}

// TestCodecRoundTrip: each codec's Decode and Encode agree with the
// G.711 reference values and append to what dst holds.
func TestCodecRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name  string
		codec Codec
		code  byte  // the code of in
		in    int16 // a sample at a segment's edge, which decodes exactly
	}{
		{"PCMU zero", PCMU, 0xff, 0},
		{"PCMU max", PCMU, 0x80, 32124},
		{"PCMU min", PCMU, 0x00, -32124},
		{"PCMA small", PCMA, 0xd5, 8},
		{"PCMA max", PCMA, 0xaa, 32256},
		{"PCMA min", PCMA, 0x2a, -32256},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc := c.codec.NewEncoder().Encode([]byte{0x42}, []int16{c.in})
			if len(enc) != 2 || enc[0] != 0x42 || enc[1] != c.code {
				t.Fatalf("Encode(%d) = % x, want 42 %02x", c.in, enc, c.code)
			}
			dec := c.codec.NewDecoder().Decode([]int16{7}, enc[1:])
			if len(dec) != 2 || dec[0] != 7 || dec[1] != c.in {
				t.Errorf("Decode(%02x) = %v, want [7 %d]", c.code, dec, c.in)
			}
		})
	}
}

func TestCodecNoAllocs(t *testing.T) {
	payload := make([]byte, 160)
	pcm := make([]int16, 0, 320)
	out := make([]byte, 0, 160)
	for _, c := range []Codec{PCMU, PCMA, G722} {
		dec, enc := c.NewDecoder(), c.NewEncoder()
		if n := testing.AllocsPerRun(100, func() {
			pcm = dec.Decode(pcm[:0], payload)
			out = enc.Encode(out[:0], pcm)
		}); n != 0 {
			t.Errorf("%s: %v allocations a frame, want 0", c.Name(), n)
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to Codec
		in       int16
	}{
		{"PCMU to PCMA", PCMU, PCMA, 1000},
		{"PCMA to PCMU", PCMA, PCMU, -1000},
		{"same law", PCMU, PCMU, 300},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := c.from.NewEncoder().Encode(nil, []int16{c.in})
			var xc transcoder
			out, inPlace := xc.translate(c.from, c.to, p)
			if !Translatable(c.from, c.to) || !inPlace {
				t.Fatalf("translate(%s, %s) not done in place", c.from.Name(), c.to.Name())
			}
			got := c.to.NewDecoder().Decode(nil, out)[0]
			if d := math.Abs(float64(got) - float64(c.in)); d > math.Abs(float64(c.in))/16+16 {
				t.Errorf("got %d after translation, want about %d", got, c.in)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		name    string
		offer   []Format
		want    Audio
		wantErr bool
	}{
		{"PCMU only", []Format{fmtPCMU}, pcmu, false},
		{"offerer prefers PCMA", []Format{{PT: 18, Name: "G729", Rate: 8000}, fmtPCMA, fmtPCMU}, pcma, false},
		{"offerer prefers PCMU", []Format{fmtPCMU, fmtPCMA}, pcmu, false},
		{"dynamic PT and lower-case name kept", []Format{{PT: 110, Name: "pcmu", Rate: 8000}}, Audio{PT: 110, Codec: PCMU}, false},
		{"wideband PCMU skipped", []Format{{PT: 112, Name: "PCMU", Rate: 16000}, fmtPCMA}, pcma, false},
		{"no G.711", []Format{{PT: 18, Name: "G729", Rate: 8000}, {PT: 111, Name: "opus", Rate: 48000}}, Audio{}, true},
		{"unknown codec is an error, never µ-law", []Format{{PT: 0, Name: "iLBC", Rate: 8000}}, Audio{}, true},
		{"G.722 on its static payload type", []Format{fmtG722, fmtPCMU}, Audio{PT: 9, Codec: G722}, false},
		{"G.722 at 16000 is no G.722 (RFC 3551 names 8000)", []Format{{PT: 9, Name: "G722", Rate: 16000}, fmtPCMA}, pcma, false},
		{"no codecs", nil, Audio{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Negotiate(&Description{Formats: c.offer})
			if c.wantErr {
				if !errors.Is(err, ErrSDP) {
					t.Fatalf("got %+v, %v, want an error wrapping ErrSDP", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %+v", err, c.want)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestOffer(t *testing.T) {
	for _, c := range []struct {
		name  string
		first Codec
		want  []Format
	}{
		{"caller on PCMU", PCMU, []Format{fmtPCMU, fmtPCMA, fmtG722}},
		{"caller on PCMA comes first", PCMA, []Format{fmtPCMA, fmtPCMU, fmtG722}},
		{"caller on G.722 comes first", G722, []Format{fmtG722, fmtPCMU, fmtPCMA}},
		{"no caller codec: everything", nil, []Format{fmtPCMU, fmtPCMA, fmtG722}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Offer(c.first); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// BenchmarkTranslate measures the relay's per-packet codec work: picking
// the translation from the legs' codecs and rewriting one 20 ms payload
// (PCMU to PCMA by table; G.722 to and from PCMU through linear audio and
// the resampler), or finding there is none to do (PCMU to PCMU).
func BenchmarkTranslate(b *testing.B) {
	g722 := Audio{PT: 9, Codec: G722}
	for _, c := range []struct {
		name     string
		from, to Audio
	}{{"PCMU-to-PCMA", pcmu, pcma}, {"PCMU-to-PCMU", pcmu, pcmu}, {"G722-to-PCMU", g722, pcmu}, {"PCMU-to-G722", pcmu, g722}} {
		b.Run(c.name, func(b *testing.B) {
			payload := make([]byte, 160)
			p, dp := &Peer{Audio: c.from}, &Peer{Audio: c.to}
			var xc transcoder
			b.ReportAllocs()
			for b.Loop() {
				if p.Audio.Codec != dp.Audio.Codec {
					if out, _ := xc.translate(p.Audio.Codec, dp.Audio.Codec, payload); len(out) != 160 {
						b.Fatalf("%d bytes out", len(out))
					}
				}
			}
		})
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		name           string
		offer          []Format
		current, other Codec
		want           Audio
		wantErr        bool
	}{
		{"current kept when still offered", []Format{fmtPCMA, fmtPCMU}, PCMU, PCMU, pcmu, false},
		{"change to the only one offered", []Format{fmtPCMA}, PCMU, PCMU, pcma, false},
		{"offer's order when current is gone", []Format{{PT: 18, Name: "G729", Rate: 8000}, fmtPCMA}, PCMU, PCMA, pcma, false},
		{"dynamic PT of the re-offer kept", []Format{{PT: 96, Name: "PCMA", Rate: 8000}}, PCMU, PCMU, Audio{PT: 96, Codec: PCMA}, false},
		{"no other leg", []Format{fmtPCMA}, PCMU, nil, pcma, false},
		{"nothing usable", []Format{{PT: 18, Name: "G729", Rate: 8000}}, PCMU, PCMU, Audio{}, true},
		{"nothing", nil, PCMU, nil, Audio{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Choose(&Description{Formats: c.offer}, c.current, c.other)
			if c.wantErr {
				if !errors.Is(err, ErrSDP) {
					t.Fatalf("got %+v, %v, want an error wrapping ErrSDP", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %+v, %v, want %+v", got, err, c.want)
			}
		})
	}
}
