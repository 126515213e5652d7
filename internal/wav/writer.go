package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// HeaderSize is the size of the header Writer writes before the samples.
const HeaderSize = 44

// placeholder is the size Writer puts in the RIFF and data headers until
// Close knows the real ones; readers that honour it treat it as "unknown".
const placeholder = math.MaxUint32

// maxData is the most data a RIFF file can hold behind a 44-byte header.
const maxData = math.MaxUint32 - (HeaderSize - 8)

// MaxData is the most data a WAV file Writer writes may hold.
const MaxData = maxData

// Header is the canonical 44-byte header Writer's Close leaves in front of
// dataSize bytes of 16-bit PCM (at most MaxData), for audio kept in
// another container and read back as a WAV file.
func Header(sampleRate, channels int, dataSize int64) []byte {
	return header(sampleRate, channels, uint32(dataSize))
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("wav: writer is closed")

// Writer streams 16-bit PCM samples into a WAV file. Until Close, the
// header holds placeholder sizes; a file left so by a crash can be fixed
// with Repair.
type Writer struct {
	f       io.WriteSeeker
	start   int64 // offset of the RIFF header in f
	frame   int   // bytes per frame
	n       int64 // data bytes written
	partial int   // bytes of the last, incomplete frame
	closed  bool
}

// NewWriter writes a 16-bit PCM WAV header with placeholder sizes at f's
// current offset and returns a Writer that appends samples after it.
func NewWriter(f io.WriteSeeker, sampleRate, channels int) (*Writer, error) {
	if sampleRate <= 0 || sampleRate > math.MaxInt32 {
		return nil, fmt.Errorf("wav: sample rate %d is out of range", sampleRate)
	}
	if channels <= 0 || channels > math.MaxUint16/2 {
		return nil, fmt.Errorf("wav: %d channels is out of range", channels)
	}
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("wav: find header offset: %w", err)
	}
	w := &Writer{f: f, start: start, frame: 2 * channels}
	if _, err := f.Write(header(sampleRate, channels, placeholder)); err != nil {
		return nil, fmt.Errorf("wav: write header: %w", err)
	}
	return w, nil
}

// header returns a canonical 44-byte header for 16-bit PCM with the given
// data size; the RIFF size is derived from it (placeholder stays placeholder).
func header(sampleRate, channels int, dataSize uint32) []byte {
	h := make([]byte, HeaderSize)
	le := binary.LittleEndian
	riff := dataSize
	if dataSize != placeholder {
		riff = dataSize + HeaderSize - 8
	}
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], riff)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], FormatPCM)
	le.PutUint16(h[22:], uint16(channels))
	le.PutUint32(h[24:], uint32(sampleRate))
	le.PutUint32(h[28:], uint32(sampleRate*channels*2))
	le.PutUint16(h[32:], uint16(channels*2))
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataSize)
	return h
}

// Write appends little-endian 16-bit samples, interleaved by channel. A
// write may end inside a frame; the next one continues it.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.n+int64(len(p)) > maxData {
		return 0, fmt.Errorf("wav: write of %d bytes would pass the 4 GiB limit of WAV", len(p))
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	w.partial = int(w.n % int64(w.frame))
	if err != nil {
		return n, fmt.Errorf("wav: write samples: %w", err)
	}
	return n, nil
}

// Close completes a trailing partial frame with zero bytes, writes the real
// sizes into the header and leaves f's offset at the end of the data. It
// does not close f. Calling Close again does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.partial > 0 {
		pad := make([]byte, w.frame-w.partial)
		n, err := w.f.Write(pad)
		w.n += int64(n)
		if err != nil {
			// A full disk stopped the samples mid-frame and refuses the
			// padding too: the file keeps its whole frames, with sizes
			// that say so, rather than a placeholder header.
			return errors.Join(fmt.Errorf("wav: pad last frame: %w", err), w.dropPartial())
		}
	}
	if err := fixSizes(w.f, w.start, w.n); err != nil {
		return err
	}
	if _, err := w.f.Seek(w.start+HeaderSize+w.n, io.SeekStart); err != nil {
		return fmt.Errorf("wav: seek to end: %w", err)
	}
	return nil
}

// Written is the number of data bytes written so far (after Close, with
// the padding of a last incomplete frame).
func (w *Writer) Written() int64 { return w.n }

// dropPartial cuts the data back to its last whole frame, truncating f
// when it can be, and writes the sizes of what is left.
func (w *Writer) dropPartial() error {
	w.n -= w.n % int64(w.frame)
	w.partial = 0
	if t, ok := w.f.(interface{ Truncate(int64) error }); ok {
		if err := t.Truncate(w.start + HeaderSize + w.n); err != nil {
			return fmt.Errorf("wav: cut last frame: %w", err)
		}
	}
	if err := fixSizes(w.f, w.start, w.n); err != nil {
		return err
	}
	_, err := w.f.Seek(w.start+HeaderSize+w.n, io.SeekStart)
	return err
}

// fixSizes writes the RIFF and data sizes for n data bytes into the
// canonical header at start.
func fixSizes(f io.WriteSeeker, start, n int64) error {
	var b [4]byte
	for _, s := range []struct {
		off  int64
		size int64
	}{{4, n + HeaderSize - 8}, {40, n}} {
		if _, err := f.Seek(start+s.off, io.SeekStart); err != nil {
			return fmt.Errorf("wav: seek to header: %w", err)
		}
		binary.LittleEndian.PutUint32(b[:], uint32(s.size))
		if _, err := f.Write(b[:]); err != nil {
			return fmt.Errorf("wav: write header sizes: %w", err)
		}
	}
	return nil
}

// Repair fixes the header sizes of a WAV file that a Writer left unclosed,
// such as a recording cut short by a crash: it drops a trailing partial
// frame, writes the RIFF and data sizes that match the remaining data and
// syncs the file. It returns the number of data bytes. A file whose header
// is already right is left untouched. Repair refuses files not laid out as
// Writer lays them out, and files whose data chunk is followed by more bytes
// than it declares, rather than turning unknown bytes into audio.
func Repair(path string) (dataBytes int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("wav: repair: %w", cerr))
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("wav: repair: %w", err)
	}
	h := make([]byte, HeaderSize)
	if n, err := io.ReadFull(f, h); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("wav: repair %s: %w: %d bytes, the header needs %d", path, ErrTruncated, n, HeaderSize)
		}
		return 0, fmt.Errorf("wav: repair %s: %w", path, err)
	}
	frame, err := checkHeader(h)
	if err != nil {
		return 0, fmt.Errorf("wav: repair %s: %w", path, err)
	}
	avail := st.Size() - HeaderSize
	n := min(avail-avail%int64(frame), maxData-maxData%int64(frame))
	le := binary.LittleEndian
	declared := int64(le.Uint32(h[40:]))
	if declared != 0 && declared != placeholder && declared < n {
		return 0, fmt.Errorf("wav: repair %s: data chunk declares %d bytes but %d follow; not a file cut short", path, declared, avail)
	}
	if declared == n && int64(le.Uint32(h[4:])) == n+HeaderSize-8 && avail == n {
		return n, nil
	}
	if avail != n {
		if err := f.Truncate(HeaderSize + n); err != nil {
			return 0, fmt.Errorf("wav: repair %s: drop partial frame: %w", path, err)
		}
	}
	if err := fixSizes(f, 0, n); err != nil {
		return 0, fmt.Errorf("wav: repair %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("wav: repair %s: %w", path, err)
	}
	return n, nil
}

// checkHeader checks that h is a canonical 44-byte PCM header, as Writer
// writes, and returns its frame size.
func checkHeader(h []byte) (int, error) {
	le := binary.LittleEndian
	switch {
	case string(h[0:4]) != "RIFF":
		return 0, fmt.Errorf("not a RIFF file (starts with %q)", h[0:4])
	case string(h[8:12]) != "WAVE":
		return 0, fmt.Errorf("RIFF form is %q, not \"WAVE\"", h[8:12])
	case string(h[12:16]) != "fmt " || le.Uint32(h[16:]) != 16:
		return 0, errors.New("no 16-byte fmt chunk at offset 12; not written by wav.Writer")
	case le.Uint16(h[20:]) != FormatPCM:
		return 0, fmt.Errorf("format is %s, not PCM", FormatName(le.Uint16(h[20:])))
	case string(h[36:40]) != "data":
		return 0, fmt.Errorf("chunk at offset 36 is %q, not \"data\"", h[36:40])
	}
	channels, bits := int(le.Uint16(h[22:])), int(le.Uint16(h[34:]))
	if channels == 0 || bits == 0 || bits%8 != 0 {
		return 0, fmt.Errorf("bad fmt chunk: %d channels of %d bits", channels, bits)
	}
	return channels * bits / 8, nil
}

// ByteRate reads the bytes per second a file written by Writer declares
// (its rate times its frame size), for the duration of a repaired file.
func ByteRate(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("wav: %w", err)
	}
	defer f.Close()
	h := make([]byte, HeaderSize)
	if _, err := io.ReadFull(f, h); err != nil {
		return 0, fmt.Errorf("wav: header of %s: %w", path, err)
	}
	if _, err := checkHeader(h); err != nil {
		return 0, fmt.Errorf("wav: header of %s: %w", path, err)
	}
	r := int64(binary.LittleEndian.Uint32(h[28:]))
	if r == 0 {
		return 0, fmt.Errorf("wav: header of %s declares no byte rate", path)
	}
	return r, nil
}
