package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Format tags of the fmt chunk that this package names.
const (
	FormatPCM        uint16 = 0x0001 // integer PCM
	FormatIEEEFloat  uint16 = 0x0003 // IEEE floating point
	FormatALaw       uint16 = 0x0006 // G.711 A-law
	FormatMuLaw      uint16 = 0x0007 // G.711 μ-law
	FormatExtensible uint16 = 0xFFFE // WAVE_FORMAT_EXTENSIBLE; resolved to its sub-format by Decode
)

// ErrTruncated is wrapped by every error about a file that ends before
// what its headers declare.
var ErrTruncated = errors.New("truncated")

// extensibleSuffix is the tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs
// whose first two bytes are a plain format tag.
var extensibleSuffix = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// Audio is the decoded content of a WAV file.
type Audio struct {
	SampleRate    int    // frames per second
	Channels      int    // interleaved channels per frame
	BitsPerSample int    // container bits of one sample
	Format        uint16 // format tag; for WAVE_FORMAT_EXTENSIBLE the sub-format's tag
	Data          []byte // content of the data chunk, whole frames only
}

// Read decodes the WAV file read from r until EOF. See Decode.
func Read(r io.Reader) (*Audio, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("wav: read: %w", err)
	}
	return Decode(data)
}

// Decode decodes a complete RIFF/WAVE file held in b. It accepts chunks in
// any order, skips chunks other than fmt and data (LIST, fact, …) and their
// odd-size padding, and drops a trailing partial frame from the data. It
// does not reject non-PCM formats: callers check Format and the shape.
// Errors about missing bytes wrap ErrTruncated.
func Decode(b []byte) (*Audio, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("wav: %w: %d bytes, a RIFF header needs 12", ErrTruncated, len(b))
	}
	switch id := string(b[0:4]); id {
	case "RIFF":
	case "RIFX":
		return nil, errors.New("wav: big-endian RIFX files are not supported")
	case "RF64":
		return nil, errors.New("wav: RF64 files are not supported")
	default:
		return nil, fmt.Errorf("wav: not a RIFF file (starts with %q)", id)
	}
	if form := string(b[8:12]); form != "WAVE" {
		return nil, fmt.Errorf("wav: RIFF form is %q, not \"WAVE\"", form)
	}
	var (
		a             Audio
		haveFmt, data bool
	)
	for off := 12; off < len(b); {
		if len(b)-off < 8 {
			if haveFmt && data {
				break // stray bytes after the last chunk, as some writers leave
			}
			return nil, fmt.Errorf("wav: %w: chunk header at offset %d has %d of 8 bytes", ErrTruncated, off, len(b)-off)
		}
		id := string(b[off : off+4])
		size := int64(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		body := off + 8
		if have := int64(len(b) - body); size > have {
			return nil, fmt.Errorf("wav: %w: %q chunk at offset %d declares %d bytes, only %d present", ErrTruncated, id, off, size, have)
		}
		chunk := b[body : body+int(size)]
		switch id {
		case "fmt ":
			if haveFmt {
				return nil, fmt.Errorf("wav: second fmt chunk at offset %d", off)
			}
			if err := a.parseFmt(chunk); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if data {
				return nil, fmt.Errorf("wav: second data chunk at offset %d", off)
			}
			a.Data = chunk
			data = true
		}
		off = body + int(size) + int(size&1)
	}
	if !haveFmt {
		return nil, errors.New("wav: no fmt chunk")
	}
	if !data {
		return nil, errors.New("wav: no data chunk")
	}
	if fs := a.frameSize(); len(a.Data)%fs != 0 {
		a.Data = a.Data[:len(a.Data)-len(a.Data)%fs]
	}
	return &a, nil
}

// parseFmt fills a's shape from the body of a fmt chunk.
func (a *Audio) parseFmt(c []byte) error {
	if len(c) < 16 {
		return fmt.Errorf("wav: fmt chunk has %d bytes, need at least 16", len(c))
	}
	le := binary.LittleEndian
	a.Format = le.Uint16(c[0:2])
	a.Channels = int(le.Uint16(c[2:4]))
	a.SampleRate = int(le.Uint32(c[4:8]))
	a.BitsPerSample = int(le.Uint16(c[14:16]))
	if a.Format == FormatExtensible {
		if len(c) < 40 {
			return fmt.Errorf("wav: WAVE_FORMAT_EXTENSIBLE fmt chunk has %d bytes, need 40", len(c))
		}
		guid := c[24:40]
		if !bytes.Equal(guid[2:], extensibleSuffix) {
			return fmt.Errorf("wav: unknown WAVE_FORMAT_EXTENSIBLE sub-format % x", guid)
		}
		a.Format = le.Uint16(guid[0:2])
	}
	switch {
	case a.Channels == 0:
		return errors.New("wav: fmt chunk declares 0 channels")
	case a.SampleRate == 0:
		return errors.New("wav: fmt chunk declares a sample rate of 0 Hz")
	case a.BitsPerSample == 0:
		return errors.New("wav: fmt chunk declares 0 bits per sample")
	}
	return nil
}

// frameSize is the number of bytes of one frame: one sample per channel.
func (a *Audio) frameSize() int {
	return a.Channels * ((a.BitsPerSample + 7) / 8)
}

// Frames returns the number of frames in a.Data.
func (a *Audio) Frames() int {
	fs := a.frameSize()
	if fs == 0 {
		return 0
	}
	return len(a.Data) / fs
}

// Duration returns how long a plays.
func (a *Audio) Duration() time.Duration {
	if a.SampleRate <= 0 {
		return 0
	}
	return time.Duration(a.Frames()) * time.Second / time.Duration(a.SampleRate)
}

// Samples returns the samples of 16-bit PCM audio, interleaved when there is
// more than one channel, or nil for any other format.
func (a *Audio) Samples() []int16 {
	if a.Format != FormatPCM || a.BitsPerSample != 16 {
		return nil
	}
	s := make([]int16, len(a.Data)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(a.Data[2*i:]))
	}
	return s
}

// String describes the shape of a, such as "44100 Hz stereo 16-bit". PCM
// is implied; other formats are named, as in "8000 Hz mono 8-bit μ-law".
func (a *Audio) String() string {
	var ch string
	switch a.Channels {
	case 1:
		ch = "mono"
	case 2:
		ch = "stereo"
	default:
		ch = fmt.Sprintf("%d-channel", a.Channels)
	}
	s := fmt.Sprintf("%d Hz %s %d-bit", a.SampleRate, ch, a.BitsPerSample)
	if a.Format != FormatPCM {
		s += " " + FormatName(a.Format)
	}
	return s
}

// FormatName returns a readable name for a format tag, such as "PCM" or
// "μ-law", or "format 0x0055" for tags this package does not name.
func FormatName(tag uint16) string {
	switch tag {
	case FormatPCM:
		return "PCM"
	case FormatIEEEFloat:
		return "IEEE float"
	case FormatALaw:
		return "A-law"
	case FormatMuLaw:
		return "μ-law"
	case FormatExtensible:
		return "WAVE_FORMAT_EXTENSIBLE"
	}
	return fmt.Sprintf("format 0x%04x", tag)
}
