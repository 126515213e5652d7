package wav

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// chunk returns a RIFF chunk with id and body, padded to an even size.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff returns a RIFF/WAVE file holding chunks.
func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return chunk("RIFF", body)
}

// fmtBody returns a 16-byte fmt chunk body.
func fmtBody(tag uint16, rate, channels, bits int) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], tag)
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], uint32(rate))
	le.PutUint32(b[8:], uint32(rate*channels*bits/8))
	le.PutUint16(b[12:], uint16(channels*bits/8))
	le.PutUint16(b[14:], uint16(bits))
	return b
}

// extBody returns a 40-byte WAVE_FORMAT_EXTENSIBLE fmt body for sub-format sub.
func extBody(sub uint16, rate, channels, bits int) []byte {
	b := fmtBody(FormatExtensible, rate, channels, bits)
	ext := make([]byte, 24)
	le := binary.LittleEndian
	le.PutUint16(ext[0:], 22)
	le.PutUint16(ext[2:], uint16(bits))
	le.PutUint32(ext[4:], 4) // front centre
	le.PutUint16(ext[8:], sub)
	copy(ext[10:], extensibleSuffix)
	return append(b, ext...)
}

// pcm16 returns samples as little-endian bytes.
func pcm16(s ...int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func TestDecode(t *testing.T) {
	samples := []int16{0, 1, -1, 32767, -32768, 1234}
	tests := []struct {
		name  string
		file  []byte
		want  Audio
		wantS []int16
	}{
		{
			name:  "plain PCM",
			file:  riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", pcm16(samples...))),
			want:  Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Format: FormatPCM, Data: pcm16(samples...)},
			wantS: samples,
		},
		{
			name: "LIST with odd size before data, fact after",
			file: riff(
				chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)),
				chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00kiro\x00")),
				chunk("data", pcm16(samples...)),
				chunk("fact", []byte{6, 0, 0, 0}),
			),
			want:  Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Format: FormatPCM, Data: pcm16(samples...)},
			wantS: samples,
		},
		{
			name:  "data before fmt",
			file:  riff(chunk("data", pcm16(samples...)), chunk("fmt ", fmtBody(FormatPCM, 16000, 2, 16))),
			want:  Audio{SampleRate: 16000, Channels: 2, BitsPerSample: 16, Format: FormatPCM, Data: pcm16(samples...)},
			wantS: samples,
		},
		{
			name:  "WAVE_FORMAT_EXTENSIBLE PCM",
			file:  riff(chunk("fmt ", extBody(FormatPCM, 8000, 1, 16)), chunk("data", pcm16(samples...))),
			want:  Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Format: FormatPCM, Data: pcm16(samples...)},
			wantS: samples,
		},
		{
			name: "odd 8-bit data chunk with padding",
			file: riff(chunk("fmt ", fmtBody(FormatMuLaw, 8000, 1, 8)), chunk("data", []byte{0xff, 0x7f, 0x00})),
			want: Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 8, Format: FormatMuLaw, Data: []byte{0xff, 0x7f, 0x00}},
		},
		{
			name:  "partial frame dropped",
			file:  riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", []byte{1, 0, 2})),
			want:  Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Format: FormatPCM, Data: []byte{1, 0}},
			wantS: []int16{1},
		},
		{
			name: "missing pad byte at end of file",
			file: func() []byte {
				f := riff(chunk("fmt ", fmtBody(FormatALaw, 8000, 1, 8)), chunk("data", []byte{1, 2, 3}))
				return f[:len(f)-1]
			}(),
			want: Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 8, Format: FormatALaw, Data: []byte{1, 2, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.file)
			if err != nil {
				t.Fatalf("Decode: got error %v, want nil", err)
			}
			if got.SampleRate != tt.want.SampleRate || got.Channels != tt.want.Channels ||
				got.BitsPerSample != tt.want.BitsPerSample || got.Format != tt.want.Format {
				t.Errorf("got %d Hz, %d ch, %d bits, format %#x; want %d Hz, %d ch, %d bits, format %#x",
					got.SampleRate, got.Channels, got.BitsPerSample, got.Format,
					tt.want.SampleRate, tt.want.Channels, tt.want.BitsPerSample, tt.want.Format)
			}
			if !slices.Equal(got.Data, tt.want.Data) {
				t.Errorf("got data % x, want % x", got.Data, tt.want.Data)
			}
			if s := got.Samples(); !slices.Equal(s, tt.wantS) {
				t.Errorf("got samples %v, want %v", s, tt.wantS)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", pcm16(1, 2, 3, 4)))
	tests := []struct {
		name      string
		file      []byte
		want      string
		truncated bool
	}{
		{"empty", nil, "wav: truncated: 0 bytes, a RIFF header needs 12", true},
		{"short header", good[:7], "wav: truncated: 7 bytes, a RIFF header needs 12", true},
		{"not RIFF", []byte("ID3\x03\x00\x00\x00\x00\x00\x00\x00\x00"), `wav: not a RIFF file (starts with "ID3\x03")`, false},
		{"text", []byte("hello, this is not audio"), `wav: not a RIFF file (starts with "hell")`, false},
		{"RIFX", append([]byte("RIFX"), good[4:]...), "wav: big-endian RIFX files are not supported", false},
		{"AVI", append(append([]byte{}, good[:8]...), "AVI LIST"...), `wav: RIFF form is "AVI ", not "WAVE"`, false},
		{"cut in chunk header", good[:16], "wav: truncated: chunk header at offset 12 has 4 of 8 bytes", true},
		{"cut in fmt", good[:30], `wav: truncated: "fmt " chunk at offset 12 declares 16 bytes, only 10 present`, true},
		{"cut in data", good[:len(good)-3], `wav: truncated: "data" chunk at offset 36 declares 8 bytes, only 5 present`, true},
		{
			name: "data size is a placeholder",
			file: func() []byte {
				f := append([]byte{}, good...)
				binary.LittleEndian.PutUint32(f[40:], 0xFFFFFFFF)
				return f
			}(),
			want:      `wav: truncated: "data" chunk at offset 36 declares 4294967295 bytes, only 8 present`,
			truncated: true,
		},
		{"no fmt", riff(chunk("data", pcm16(1))), "wav: no fmt chunk", false},
		{"no data", riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16))), "wav: no data chunk", false},
		{"short fmt", riff(chunk("fmt ", make([]byte, 14)), chunk("data", nil)), "wav: fmt chunk has 14 bytes, need at least 16", false},
		{"zero channels", riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 0, 16)), chunk("data", nil)), "wav: fmt chunk declares 0 channels", false},
		{"zero rate", riff(chunk("fmt ", fmtBody(FormatPCM, 0, 1, 16)), chunk("data", nil)), "wav: fmt chunk declares a sample rate of 0 Hz", false},
		{
			name: "short extensible",
			file: riff(chunk("fmt ", fmtBody(FormatExtensible, 8000, 1, 16)), chunk("data", nil)),
			want: "wav: WAVE_FORMAT_EXTENSIBLE fmt chunk has 16 bytes, need 40",
		},
		{
			name: "unknown extensible GUID",
			file: func() []byte {
				b := extBody(FormatPCM, 8000, 1, 16)
				b[30] = 0x42
				return riff(chunk("fmt ", b), chunk("data", nil))
			}(),
			want: "wav: unknown WAVE_FORMAT_EXTENSIBLE sub-format 01 00 00 00 00 00 42 00 80 00 00 aa 00 38 9b 71",
		},
		{
			name: "two data chunks",
			file: riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", pcm16(1)), chunk("data", pcm16(2))),
			want: "wav: second data chunk at offset 46",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.file)
			if err == nil {
				t.Fatalf("Decode: got nil error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
			if got := errors.Is(err, ErrTruncated); got != tt.truncated {
				t.Errorf("got errors.Is(err, ErrTruncated) = %v, want %v", got, tt.truncated)
			}
		})
	}
}

func TestRead(t *testing.T) {
	file := riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", pcm16(5, 6)))
	a, err := Read(strings.NewReader(string(file)))
	if err != nil {
		t.Fatalf("Read: got error %v, want nil", err)
	}
	if got, want := a.Samples(), []int16{5, 6}; !slices.Equal(got, want) {
		t.Errorf("got samples %v, want %v", got, want)
	}
}

func TestAudioDescribe(t *testing.T) {
	tests := []struct {
		name    string
		a       Audio
		want    string
		wantDur time.Duration
	}{
		{"8k mono", Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 16, Format: FormatPCM, Data: make([]byte, 1600)}, "8000 Hz mono 16-bit", 100 * time.Millisecond},
		{"CD", Audio{SampleRate: 44100, Channels: 2, BitsPerSample: 16, Format: FormatPCM, Data: make([]byte, 4*44100)}, "44100 Hz stereo 16-bit", time.Second},
		{"mu-law", Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 8, Format: FormatMuLaw, Data: make([]byte, 4000)}, "8000 Hz mono 8-bit μ-law", 500 * time.Millisecond},
		{"float 5.1", Audio{SampleRate: 48000, Channels: 6, BitsPerSample: 32, Format: FormatIEEEFloat}, "48000 Hz 6-channel 32-bit IEEE float", 0},
		{"unknown tag", Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 4, Format: 0x11}, "8000 Hz mono 4-bit format 0x0011", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := tt.a.Duration(); got != tt.wantDur {
				t.Errorf("got duration %v, want %v", got, tt.wantDur)
			}
		})
	}
}

func TestSamplesNonPCM16(t *testing.T) {
	a := Audio{SampleRate: 8000, Channels: 1, BitsPerSample: 8, Format: FormatPCM, Data: []byte{1, 2}}
	if got := a.Samples(); got != nil {
		t.Errorf("got %v for 8-bit PCM, want nil", got)
	}
}
