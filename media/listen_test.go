package media

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// drain reads l until its channel is closed.
func drain(l *Listener) []byte {
	var b []byte
	for c := range l.C {
		b = append(b, c...)
	}
	return b
}

// TestListenHearsWhatIsWritten: a listener gets exactly the bytes the
// file gets — the tone while recording, silence while paused — and its
// channel is closed when the recording ends.
func TestListenHearsWhatIsWritten(t *testing.T) {
	for _, c := range []struct {
		name   string
		paused bool
	}{
		{"recording", false},
		{"paused", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.wav")
			start := time.Now().Add(-500 * time.Millisecond)
			r, err := NewRecorder(path, start, NarrowbandRate)
			if err != nil {
				t.Fatal(err)
			}
			l, err := r.Listen()
			if err != nil {
				t.Fatal(err)
			}
			from := r.posAt(time.Now()) + 1 // from here on the pause holds
			if c.paused {
				r.Pause("api")
			}
			heard := make(chan []byte, 1)
			go func() { heard <- drain(l) }()
			for i := range 5 {
				r.Audio(0, PCMU, uint16(i), uint32(160*i), 1, bytes.Repeat([]byte{0x80}, 160))
				r.Audio(1, PCMA, uint16(i), uint32(160*i), 2, bytes.Repeat([]byte{0xaa}, 160))
			}
			if c.paused {
				// A pause of some frames: one ended within a frame of its
				// start holds no frame to check.
				time.Sleep(10 * time.Millisecond)
			}
			res, err := r.Close(time.Now().Add(100 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			to := res.Frames
			if c.paused {
				// Audio placed ahead of the wall clock lands after Close's
				// resume: the pause is what must be silent.
				p := res.Pauses[0]
				from, to = int64(p.StartOffset*NarrowbandRate)+1, int64(p.EndOffset*NarrowbandRate)
			}
			got := <-heard
			f, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data := f[wav.HeaderSize:]
			if !bytes.Equal(got, data) {
				t.Fatalf("heard %d bytes, the file holds %d: want the same bytes", len(got), len(data))
			}
			loud := bytes.ContainsFunc(got[from*frameBytes:to*frameBytes], func(r rune) bool { return r != 0 })
			if loud == c.paused {
				t.Errorf("got audible audio %v, want %v (a paused recording is silence to its listeners too)", loud, !c.paused)
			}
			if l.Dropped() != 0 {
				t.Errorf("got %d bytes dropped for a listener that kept up, want 0", l.Dropped())
			}
		})
	}
}

// TestListenSlowListener: a listener that does not read never holds up
// the recorder; what its buffer has no room for is dropped and counted.
func TestListenSlowListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.wav")
	start := time.Now()
	r, err := NewRecorder(path, start, NarrowbandRate)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := r.Listen()
	if err != nil {
		t.Fatal(err)
	}
	// Close writes the 40 s in one-second flushes, far more than the
	// slow listener's buffer holds.
	res, err := r.Close(start.Add(40 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	total := res.Frames * frameBytes
	var kept, chunks int64
	for c := range slow.C {
		kept += int64(len(c))
		chunks++
	}
	if chunks != ListenBuffer || slow.Dropped() == 0 || kept+slow.Dropped() != total {
		t.Errorf("slow listener: got %d chunks, %d bytes kept + %d dropped, want %d chunks and the rest of %d dropped",
			chunks, kept, slow.Dropped(), ListenBuffer, total)
	}
}

// TestListenEnds: a listener closed by its owner stops getting audio;
// a recording that has ended takes no new listener.
func TestListenEnds(t *testing.T) {
	r, err := NewRecorder(filepath.Join(t.TempDir(), "r.wav"), time.Now(), WidebandRate)
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if l.Rate() != WidebandRate {
		t.Errorf("got rate %d, want %d", l.Rate(), WidebandRate)
	}
	l.Close()
	l.Close()
	if _, open := <-l.C; open {
		t.Error("a closed listener's channel is still open")
	}
	if _, err := r.Close(time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Listen(); !errors.Is(err, ErrRecordingEnded) {
		t.Errorf("listen after the end: got %v, want ErrRecordingEnded", err)
	}
}
