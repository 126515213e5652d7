package audiofile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/kiroku-voice/kiroku/media"
)

// ErrNoPeaks is returned by Peaks for audio in none of the stored
// formats.
var ErrNoPeaks = errors.New("no waveform for this audio format")

// Waveform is a recording's loudness over time, per channel: for each of
// Buckets equal slices of the audio, the largest absolute sample, from 0
// (silence) to 1 (full scale).
type Waveform struct {
	Seconds  float64     `json:"seconds"`
	Rate     int         `json:"rate"`
	Channels [][]float64 `json:"channels"` // [0] caller (left), [1] agent (right)
}

// Peaks reads stored audio — a pcm (16-bit) or g711 (μ-law or A-law)
// WAV, a FLAC or an Ogg Opus stream — and returns its waveform in
// buckets slices (at most one a sample frame for a WAV, one a hundredth
// of a second for flac and opus, whose blocks are folded when the stream
// ends). It reads the audio once, as it streams.
func Peaks(r io.Reader, buckets int) (*Waveform, error) {
	if buckets < 1 {
		return nil, fmt.Errorf("peaks: %d buckets", buckets)
	}
	br := bufio.NewReader(r)
	var riff [12]byte
	if _, err := io.ReadFull(br, riff[:4]); err == nil {
		switch string(riff[:4]) {
		case "fLaC":
			return flacPeaks(br, buckets)
		case "OggS":
			return opusPeaks(br, buckets)
		}
	}
	if _, err := io.ReadFull(br, riff[4:]); err != nil || string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("peaks: %w (not a RIFF WAVE file)", ErrNoPeaks)
	}
	var tag, chans, bits uint16
	var rate uint32
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, fmt.Errorf("peaks: no data chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		switch string(hdr[0:4]) {
		case "fmt ":
			if size < 16 || size > 64 {
				return nil, fmt.Errorf("peaks: fmt chunk of %d bytes", size)
			}
			f := make([]byte, size+size%2)
			if _, err := io.ReadFull(br, f); err != nil {
				return nil, fmt.Errorf("peaks: fmt chunk: %w", err)
			}
			tag, chans = binary.LittleEndian.Uint16(f[0:]), binary.LittleEndian.Uint16(f[2:])
			rate, bits = binary.LittleEndian.Uint32(f[4:]), binary.LittleEndian.Uint16(f[14:])
		case "data":
			return dataPeaks(br, size, tag, chans, bits, rate, buckets)
		default:
			if _, err := io.CopyN(io.Discard, br, int64(size)+int64(size%2)); err != nil {
				return nil, fmt.Errorf("peaks: chunk %q: %w", hdr[0:4], err)
			}
		}
	}
}

func dataPeaks(r io.Reader, size uint32, tag, chans, bits uint16, rate uint32, buckets int) (*Waveform, error) {
	var decode func([]byte) int16
	width := 1
	switch {
	case tag == 1 && bits == 16:
		width, decode = 2, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) }
	case tag == tagULaw && bits == 8:
		decode = func(b []byte) int16 { return media.DecodeULaw(b[0]) }
	case tag == tagALaw && bits == 8:
		decode = func(b []byte) int16 { return media.DecodeALaw(b[0]) }
	default:
		return nil, fmt.Errorf("peaks: %w (WAV format %d, %d bits)", ErrNoPeaks, tag, bits)
	}
	if chans < 1 || chans > 2 || rate == 0 {
		return nil, fmt.Errorf("peaks: %d channels at %d Hz", chans, rate)
	}
	frame := width * int(chans)
	frames := int(size) / frame
	buckets = max(1, min(buckets, frames))
	w := &Waveform{Seconds: float64(frames) / float64(rate), Rate: int(rate), Channels: make([][]float64, chans)}
	for c := range w.Channels {
		w.Channels[c] = make([]float64, buckets)
	}
	buf := make([]byte, 4096*frame)
	n := 0
	for n < frames {
		k, err := io.ReadFull(r, buf[:min(len(buf), (frames-n)*frame)])
		for i := 0; i+frame <= k; i += frame {
			b := n * buckets / max(frames, 1)
			for c := range int(chans) {
				v := math.Abs(float64(decode(buf[i+c*width:]))) / 32768
				if v > w.Channels[c][b] {
					w.Channels[c][b] = v
				}
			}
			n++
		}
		if err != nil {
			// A file cut short against its header: the waveform of what
			// there is.
			break
		}
	}
	for _, ch := range w.Channels {
		for i, v := range ch {
			ch[i] = math.Round(v*1000) / 1000
		}
	}
	return w, nil
}
