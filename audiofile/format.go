package audiofile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Format is a way a recording's audio is stored.
type Format string

// The formats a purpose's audio_format may name.
const (
	PCM  Format = "pcm"  // 16-bit PCM stereo WAV, as the spool holds it
	G711 Format = "g711" // the wire's law (μ-law or A-law) in a stereo WAV, 8 bits a sample
	FLAC Format = "flac" // FLAC, lossless against the spool's PCM
	Opus Format = "opus" // Ogg Opus, two mono streams (caller, agent): lossy, a seventh of FLAC's size
)

// Formats lists every format, in the order the README names them.
var Formats = []Format{PCM, G711, FLAC, Opus}

// ErrSource is wrapped by every error about the WAV being encoded (not
// 8 or 16 kHz 16-bit stereo PCM nor 8 kHz stereo G.711, or cut short
// against its header).
var ErrSource = errors.New("not the spool's 8 kHz 16-bit stereo PCM WAV")

// Parse returns the format called s.
func Parse(s string) (Format, error) {
	if f := Format(s); slices.Contains(Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("%q is not an audio format (want pcm, g711, flac or opus)", s)
}

// Ext is the file extension of f's objects and files, with its dot.
func (f Format) Ext() string {
	switch f {
	case FLAC:
		return ".flac"
	case Opus:
		return ".opus"
	}
	return ".wav"
}

// ContentTypeOf returns the content type of an audio file or object
// named name, by its extension (recordings stored before formats were
// chosen per purpose are all .wav).
func ContentTypeOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".flac":
		return "audio/flac"
	case ".opus":
		return "audio/ogg; codecs=opus"
	default:
		return "audio/wav"
	}
}

// Law is a G.711 companding law, named as the codec registry names it.
type Law string

// The laws of G.711.
const (
	ULaw Law = "PCMU"
	ALaw Law = "PCMA"
)

// Options are the parameters of an encoding.
type Options struct {
	// Law is the law g711 stores (the caller leg's codec; μ-law when it
	// is neither).
	Law Law
	// Bitrate is opus's, in bits a second for both channels
	// (DefaultBitrate when 0).
	Bitrate int
	// Rate is the recording's sample rate (8000 when 0; 16000 for a
	// call with a G.722 leg).
	Rate int
}

// Description returns the manifest's description of audio stored as f
// with o, in the form of the spool's ("audio/wav; codec=pcm_s16le; …").
func (f Format) Description(o Options) string {
	r := o.Rate
	if r == 0 {
		r = narrowband
	}
	layout := fmt.Sprintf("rate=%d; channels=2; left=caller; right=agent", r)
	switch f {
	case G711:
		codec := "pcm_mulaw"
		if o.Law == ALaw {
			codec = "pcm_alaw"
		}
		return "audio/wav; codec=" + codec + "; " + layout
	case FLAC:
		return "audio/flac; codec=flac; bits=16; " + layout
	case Opus:
		b := o.Bitrate
		if b == 0 {
			b = DefaultBitrate
		}
		return fmt.Sprintf("audio/ogg; codec=opus; bitrate=%d; streams=2; %s", b, layout)
	default:
		return "audio/wav; codec=pcm_s16le; " + layout
	}
}

// Source geometry: what the recorder writes, at one of two rates.
const (
	narrowband = 8000
	wideband   = 16000
	channels   = 2
	frameLen   = 4 // bytes of one stereo frame
)

// ErrWideband is wrapped by Encode's refusal to store a 16 kHz recording
// in G.711, an 8 kHz code: the caller stores it in a format that keeps
// it (see the uploader: flac).
var ErrWideband = errors.New("g711 holds 8 kHz audio; the recording is 16 kHz")

// source is the data chunk of the spool's WAV, being read.
type source struct {
	rate   uint32 // narrowband or wideband
	r      *bufio.Reader
	frames int64 // stereo frames the data chunk holds
	left   int64 // frames not read yet
	// law, when not nil, decodes the samples of a G.711 WAV (a g711
	// object being transcoded), one byte a sample.
	law *[256]int16
}

// openSource reads the RIFF header of r up to its data chunk and checks
// that it is 8 or 16 kHz 16-bit stereo PCM.
func openSource(r io.Reader) (*source, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var h [12]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("%w: RIFF header: %v", ErrSource, err)
	}
	if string(h[0:4]) != "RIFF" || string(h[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrSource)
	}
	le := binary.LittleEndian
	fmtOK := false
	var sr uint32
	var tag uint16
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %v", ErrSource, err)
		}
		id, size := string(ch[0:4]), int64(le.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrSource, size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, fmt.Errorf("%w: fmt chunk: %v", ErrSource, err)
			}
			var ch, bits uint16
			tag, ch, sr, bits = le.Uint16(b[0:]), le.Uint16(b[2:]), le.Uint32(b[4:]), le.Uint16(b[14:])
			pcmOK := tag == 1 && bits == 16 && (sr == narrowband || sr == wideband)
			g711OK := (tag == tagULaw || tag == tagALaw) && bits == 8 && sr == narrowband
			if ch != channels || !pcmOK && !g711OK {
				return nil, fmt.Errorf("%w: format tag %d, %d channels, %d Hz, %d bits", ErrSource, tag, ch, sr, bits)
			}
			fmtOK = true
		case "data":
			if !fmtOK {
				return nil, fmt.Errorf("%w: data before fmt", ErrSource)
			}
			switch tag {
			case tagULaw:
				return &source{rate: sr, r: br, frames: size / channels, left: size / channels, law: &ulaw}, nil
			case tagALaw:
				return &source{rate: sr, r: br, frames: size / channels, left: size / channels, law: &alaw}, nil
			}
			return &source{rate: sr, r: br, frames: size / frameLen, left: size / frameLen}, nil
		default:
			if _, err := br.Discard(int(size + size&1)); err != nil {
				return nil, fmt.Errorf("%w: %q chunk: %v", ErrSource, id, err)
			}
		}
	}
}

// read fills buf with up to len(buf)/2 stereo frames of interleaved
// samples and returns how many frames it read; 0 at the end of the data.
// A file that ends before its header's data size is an error: the spool
// holds a repaired size once the recording is finished.
func (s *source) read(buf []int16, raw []byte) (int, error) {
	n := min(int64(len(buf)/channels), s.left)
	if n == 0 {
		return 0, nil
	}
	if s.law != nil {
		b := raw[:n*channels]
		if _, err := io.ReadFull(s.r, b); err != nil {
			return 0, fmt.Errorf("%w: data ends %d frames before its header says: %v", ErrSource, s.left, err)
		}
		// Widened in place, from the end, so that raw holds the PCM's
		// bytes as it does for a PCM source (FLAC's MD5, pcm's data).
		for i := len(b) - 1; i >= 0; i-- {
			v := s.law[b[i]]
			buf[i] = v
			binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
		}
		s.left -= n
		return int(n), nil
	}
	b := raw[:n*frameLen]
	if _, err := io.ReadFull(s.r, b); err != nil {
		return 0, fmt.Errorf("%w: data ends %d frames before its header says: %v", ErrSource, s.left, err)
	}
	for i := range int(n) * channels {
		buf[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	s.left -= n
	return int(n), nil
}

// Encode reads the spool's WAV from src and writes it to dst as f. src
// may also be a stereo G.711 WAV as G711 writes it (a recording stored
// as g711 first, converted later by the transcoder): its samples are
// decoded as the recorder decodes the wire's. The
// output depends on the input and o alone, so that every upload attempt
// of a recording writes the same bytes. FLAC's STREAMINFO carries the
// MD5 of the samples when dst is an io.WriteSeeker (a file), and leaves
// it zero ("unknown") otherwise.
func Encode(dst io.Writer, src io.Reader, f Format, o Options) error {
	s, err := openSource(src)
	if err != nil {
		return err
	}
	switch f {
	case PCM:
		return encodePCM(dst, s)
	case G711:
		if s.rate != narrowband {
			return ErrWideband
		}
		return encodeG711(dst, s, o.Law)
	case FLAC:
		return encodeFLAC(dst, s)
	case Opus:
		return encodeOpus(dst, s, o.Bitrate)
	}
	return fmt.Errorf("audio format %q cannot be encoded", f)
}

// encodePCM writes a canonical 16-bit PCM WAV of s.
func encodePCM(dst io.Writer, s *source) error {
	if _, err := dst.Write(wavHeader(1, 16, s.frames, 16, s.rate)); err != nil {
		return err
	}
	buf, raw := make([]int16, 4096*channels), make([]byte, 4096*frameLen)
	for {
		n, err := s.read(buf, raw)
		if err != nil || n == 0 {
			return err
		}
		if _, err := dst.Write(raw[:n*frameLen]); err != nil {
			return err
		}
	}
}

// wavHeader returns the header of a stereo WAV at rate of frames frames in
// the format tag with bits a sample. fmtSize 18 writes cbSize and a fact
// chunk, as non-PCM formats carry.
func wavHeader(tag, bits uint16, frames int64, fmtSize, rate uint32) []byte {
	le := binary.LittleEndian
	align := uint16(channels) * bits / 8
	data := uint32(frames) * uint32(align)
	var h []byte
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, 0) // set below
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, fmtSize)
	h = le.AppendUint16(h, tag)
	h = le.AppendUint16(h, channels)
	h = le.AppendUint32(h, rate)
	h = le.AppendUint32(h, rate*uint32(align))
	h = le.AppendUint16(h, align)
	h = le.AppendUint16(h, bits)
	if fmtSize == 18 {
		h = le.AppendUint16(h, 0)
		h = append(h, "fact"...)
		h = le.AppendUint32(h, 4)
		h = le.AppendUint32(h, uint32(frames))
	}
	h = append(h, "data"...)
	h = le.AppendUint32(h, data)
	le.PutUint32(h[4:], uint32(len(h))-8+data+data&1)
	return h
}
