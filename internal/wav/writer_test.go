package wav

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// record writes the given pieces through a Writer into a new file under
// t.TempDir and returns its path. It closes the Writer only if closeW.
func record(t *testing.T, rate, channels int, closeW bool, pieces ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewWriter(f, rate, channels)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for _, p := range pieces {
		if _, err := w.Write(p); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if closeW {
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	return path
}

func decodeFile(t *testing.T, path string) *Audio {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: got error %v, want nil", err)
	}
	return a
}

func TestWriterRoundTrip(t *testing.T) {
	all := pcm16(0, 100, -100, 32767, -32768, 7, 8, 9)
	tests := []struct {
		name     string
		rate, ch int
		pieces   [][]byte
		want     []int16
	}{
		{"one write", 8000, 1, [][]byte{all}, []int16{0, 100, -100, 32767, -32768, 7, 8, 9}},
		{"writes split inside samples", 8000, 1, [][]byte{all[:3], all[3:7], all[7:]}, []int16{0, 100, -100, 32767, -32768, 7, 8, 9}},
		{"stereo", 16000, 2, [][]byte{all}, []int16{0, 100, -100, 32767, -32768, 7, 8, 9}},
		{"partial frame padded", 8000, 2, [][]byte{all[:6]}, []int16{0, 100, -100, 0}},
		{"empty", 8000, 1, nil, []int16{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := decodeFile(t, record(t, tt.rate, tt.ch, true, tt.pieces...))
			if a.SampleRate != tt.rate || a.Channels != tt.ch || a.BitsPerSample != 16 || a.Format != FormatPCM {
				t.Errorf("got %s, want %d Hz %d channels 16-bit PCM", a, tt.rate, tt.ch)
			}
			if got := a.Samples(); !slices.Equal(got, tt.want) {
				t.Errorf("got samples %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriterAtOffsetAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("prefix")); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, 8000, 1)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	if _, err := w.Write(pcm16(1, 2)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if _, err := w.Write(pcm16(3)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: got %v, want ErrClosed", err)
	}
	if off, _ := f.Seek(0, 1); off != 6+HeaderSize+4 {
		t.Errorf("got offset %d after Close, want %d", off, 6+HeaderSize+4)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Decode(b[6:])
	if err != nil {
		t.Fatalf("Decode: got error %v, want nil", err)
	}
	if got, want := a.Samples(), []int16{1, 2}; !slices.Equal(got, want) {
		t.Errorf("got samples %v, want %v", got, want)
	}
}

func TestNewWriterErrors(t *testing.T) {
	tests := []struct {
		name     string
		rate, ch int
		want     string
	}{
		{"zero rate", 0, 1, "wav: sample rate 0 is out of range"},
		{"zero channels", 8000, 0, "wav: 0 channels is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "x.wav"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = NewWriter(f, tt.rate, tt.ch)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRepair(t *testing.T) {
	tests := []struct {
		name     string
		ch       int
		pieces   [][]byte
		closeW   bool
		mangle   func(b []byte) []byte
		want     int64
		wantSize int64
		wantS    []int16
	}{
		{"unclosed", 1, [][]byte{pcm16(1, 2, 3)}, false, nil, 6, HeaderSize + 6, []int16{1, 2, 3}},
		{"unclosed with partial sample", 1, [][]byte{pcm16(1, 2, 3), {0x04}}, false, nil, 6, HeaderSize + 6, []int16{1, 2, 3}},
		{"unclosed stereo with partial frame", 2, [][]byte{pcm16(1, 2, 3)}, false, nil, 4, HeaderSize + 4, []int16{1, 2}},
		{"unclosed and empty", 1, nil, false, nil, 0, HeaderSize, []int16{}},
		{"closed is left alone", 1, [][]byte{pcm16(1, 2)}, true, nil, 4, HeaderSize + 4, []int16{1, 2}},
		{
			name: "zero placeholders", ch: 1, pieces: [][]byte{pcm16(5)}, closeW: false,
			mangle: func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[4:], 0)
				binary.LittleEndian.PutUint32(b[40:], 0)
				return b
			},
			want: 2, wantSize: HeaderSize + 2, wantS: []int16{5},
		},
		{
			name: "closed then cut short", ch: 1, pieces: [][]byte{pcm16(1, 2, 3, 4)}, closeW: true,
			mangle: func(b []byte) []byte { return b[:len(b)-3] },
			want:   4, wantSize: HeaderSize + 4, wantS: []int16{1, 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := record(t, 8000, tt.ch, tt.closeW, tt.pieces...)
			if tt.mangle != nil {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tt.mangle(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n, err := Repair(path)
			if err != nil {
				t.Fatalf("Repair: got error %v, want nil", err)
			}
			if n != tt.want {
				t.Errorf("got %d data bytes, want %d", n, tt.want)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != tt.wantSize {
				t.Errorf("got file size %d, want %d", st.Size(), tt.wantSize)
			}
			if got := decodeFile(t, path).Samples(); !slices.Equal(got, tt.wantS) {
				t.Errorf("got samples %v, want %v", got, tt.wantS)
			}
		})
	}
}

func TestRepairErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withList := riff(chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", pcm16(1)), chunk("LIST", []byte("INFO")))
	ulaw := riff(chunk("fmt ", fmtBody(FormatMuLaw, 8000, 1, 8)), chunk("data", []byte{1, 2}))
	listFirst := riff(chunk("LIST", []byte("INFO")), chunk("fmt ", fmtBody(FormatPCM, 8000, 1, 16)), chunk("data", nil))
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "nope.wav"), "wav: repair: open " + filepath.Join(dir, "nope.wav") + ": no such file or directory"},
		{"short", write("short.wav", []byte("RIFF\x00\x00")), "wav: repair " + filepath.Join(dir, "short.wav") + ": truncated: 6 bytes, the header needs 44"},
		{"text", write("text.wav", make([]byte, 50)), "wav: repair " + filepath.Join(dir, "text.wav") + `: not a RIFF file (starts with "\x00\x00\x00\x00")`},
		{"mu-law", write("ulaw.wav", append(ulaw, make([]byte, 10)...)), "wav: repair " + filepath.Join(dir, "ulaw.wav") + ": format is μ-law, not PCM"},
		{"LIST before fmt", write("list.wav", append(listFirst, make([]byte, 40)...)), "wav: repair " + filepath.Join(dir, "list.wav") + ": no 16-byte fmt chunk at offset 12; not written by wav.Writer"},
		{"trailing chunk", write("trail.wav", withList), "wav: repair " + filepath.Join(dir, "trail.wav") + ": data chunk declares 2 bytes but 14 follow; not a file cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Repair(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
}

// fullFile is a file that grows to size bytes at most, as on a full
// disk; bytes within it can be overwritten.
type fullFile struct {
	*os.File
	size int64
}

func (f *fullFile) Write(p []byte) (int, error) {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if room := f.size - off; int64(len(p)) > room {
		n, _ := f.File.Write(p[:max(room, 0)])
		return n, errors.New("no space left on device")
	}
	return f.File.Write(p)
}

// TestWriterCloseOnFullDisk: samples cut mid-frame by a full disk, whose
// padding is refused too, leave a file of whole frames with the sizes of
// what is in it (Repair would find nothing to fix), not a placeholder.
func TestWriterCloseOnFullDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	full := &fullFile{File: f, size: HeaderSize + 4*10 + 3}
	w, err := NewWriter(full, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 4*20)); err == nil {
		t.Fatal("got no error writing past the room")
	}
	if err := w.Close(); err == nil {
		t.Fatal("got no error from Close, want the refused padding")
	}
	if got := w.Written(); got != 40 {
		t.Errorf("got %d data bytes, want the 40 of whole frames", got)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != HeaderSize+40 {
		t.Errorf("got a %d-byte file, want %d", len(b), HeaderSize+40)
	}
	if got := binary.LittleEndian.Uint32(b[40:]); got != 40 {
		t.Errorf("got data size %d in the header, want 40", got)
	}
	if n, err := Repair(path); err != nil || n != 40 {
		t.Errorf("Repair: got %d, %v; want 40 and nothing to fix", n, err)
	}
}
