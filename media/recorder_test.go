package media

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// fullband is a codec the recording cannot hold (no resampler from its
// rate): its packets must be counted and left out, never decoded as some
// G.711.
type fullband struct{ *g711 }

func (fullband) SampleRate() int { return 48000 }

// TestRecorderDecodesEachLegsCodec: each channel is decoded by its own
// leg's codec (the relay hands over the codec with every payload).
func TestRecorderDecodesEachLegsCodec(t *testing.T) {
	for _, c := range []struct {
		name         string
		left, right  Codec
		lcode, rcode byte
		want         [2]int16
		unplaced     [2]uint64
	}{
		{"PCMU caller, PCMA agent", PCMU, PCMA, 0x80, 0xaa, [2]int16{32124, 32256}, [2]uint64{}},
		{"PCMA caller, PCMU agent", PCMA, PCMU, 0xaa, 0x80, [2]int16{32256, 32124}, [2]uint64{}},
		{"a codec at a rate it cannot resample is not placed", PCMU, fullband{PCMU.(*g711)}, 0x80, 0x80, [2]int16{32124, 0}, [2]uint64{0, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.wav")
			start := time.Now().Add(-time.Second)
			r, err := NewRecorder(path, start, NarrowbandRate)
			if err != nil {
				t.Fatal(err)
			}
			r.Audio(0, c.left, 1, 160, 1, bytes.Repeat([]byte{c.lcode}, 160))
			r.Audio(1, c.right, 1, 160, 2, bytes.Repeat([]byte{c.rcode}, 160))
			res, err := r.Close(time.Now().Add(100 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if got := res.Channels[i].Unplaced; got != c.unplaced[i] {
					t.Errorf("channel %d: got %d unplaced, want %d", i, got, c.unplaced[i])
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := wav.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			var peak [2]int16
			s := a.Samples()
			for i := 0; i+1 < len(s); i += 2 {
				peak[0], peak[1] = max(peak[0], s[i]), max(peak[1], s[i+1])
			}
			if peak != c.want {
				t.Errorf("got channel peaks %v, want %v", peak, c.want)
			}
		})
	}
}

// afterReady makes a plain WAV at path once ready yields nil: a sink
// that waits for something before it is made.
func afterReady(path string, ready <-chan error) func() (Sink, error) {
	return func() (Sink, error) {
		if err := <-ready; err != nil {
			return nil, err
		}
		return wavFile(path, NarrowbandRate)()
	}
}

// TestStartRecorderWaitsForReady: the file is not made before its open
// goes on (here, before ready says so); audio that came meanwhile is in
// it; an open that fails leaves no file, and Close says why.
func TestStartRecorderWaitsForReady(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.wav")
		start := time.Now().Add(-time.Second)
		ready := make(chan error, 1)
		r, err := StartRecorderTo(afterReady(path, ready), start, NarrowbandRate)
		if err != nil {
			t.Fatal(err)
		}
		r.Audio(0, PCMU, 1, 160, 1, bytes.Repeat([]byte{0x80}, 160))
		time.Sleep(50 * time.Millisecond) // give an eager recorder the time to create it
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("got %v, want no file before ready", err)
		}
		ready <- nil
		res, err := r.Close(time.Now().Add(100 * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if res.Size == 0 || res.Channels[0].Packets != 1 {
			t.Fatalf("got size %d, %d caller packets; want the audio placed before ready", res.Size, res.Channels[0].Packets)
		}
		b, _ := os.ReadFile(path)
		a, err := wav.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		var peak int16
		for i, s := range a.Samples() {
			if i%2 == 0 {
				peak = max(peak, s)
			}
		}
		if peak != 32124 {
			t.Errorf("got caller peak %d, want 32124", peak)
		}
	})
	t.Run("ready fails", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.wav")
		ready := make(chan error, 1)
		ready <- os.ErrPermission
		r, err := StartRecorderTo(afterReady(path, ready), time.Now(), NarrowbandRate)
		if err != nil {
			t.Fatal(err)
		}
		r.Audio(0, PCMU, 1, 160, 1, bytes.Repeat([]byte{0x80}, 160))
		res, err := r.Close(time.Now())
		if err == nil || res.Size != 0 {
			t.Fatalf("got size %d, %v; want nothing written and an error", res.Size, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("got %v, want no file", err)
		}
	})
}

// TestRecorderRoom: once the room it is given says no, the recording
// stops where it was; Close keeps what was written, with the duration of
// that audio, and returns room's error.
func TestRecorderRoom(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.wav")
	start := time.Now()
	r, err := NewRecorder(path, start, NarrowbandRate)
	if err != nil {
		t.Fatal(err)
	}
	full := errors.New("no room")
	var mu sync.Mutex
	asked := 0
	r.SetRoom(func() error {
		mu.Lock()
		defer mu.Unlock()
		if asked++; asked > 2 {
			return full
		}
		return nil
	})
	waitRecorder(t, func() bool { mu.Lock(); defer mu.Unlock(); return asked > 3 })
	res, err := r.Close(start.Add(5 * time.Second))
	if !errors.Is(err, full) {
		t.Fatalf("got %v, want the room's error", err)
	}
	if res.Duration <= 0 || res.Duration >= 2*time.Second {
		t.Errorf("got %v of audio, want the two flushes before the room ran out, not the call's 5s", res.Duration)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(wav.HeaderSize) + res.Frames*frameBytes; fi.Size() != want || res.Size != want {
		t.Errorf("got a %d-byte file (result %d), want %d: the frames kept", fi.Size(), res.Size, want)
	}
}

func waitRecorder(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRecorderOpenLateCounted: audio that comes while the file waits to
// open for longer than the ring holds is lost, and says so: the packets
// past the ring are counted as overrun with their audio in the gap, the
// wait is reported, and what fitted is placed.
func TestRecorderOpenLateCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.wav")
	wait := time.Duration(ringSeconds+2) * time.Second // longer than the ring holds
	start := time.Now().Add(-wait)
	ready := make(chan error, 1)
	r, err := StartRecorderTo(afterReady(path, ready), start, NarrowbandRate)
	if err != nil {
		t.Fatal(err)
	}
	// The stream anchors now, past the ring's window from frame 0.
	payload := bytes.Repeat([]byte{0x80}, 160)
	for i := range 10 {
		r.Audio(0, PCMU, uint16(1+i), uint32(160*(1+i)), 7, payload)
	}
	ready <- nil
	res, err := r.Close(time.Now().Add(100 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ch := res.Channels[0]
	if ch.Overrun != 10 || ch.Packets != 0 {
		t.Errorf("got %d overrun, %d placed; want all 10 packets past the ring counted, none placed", ch.Overrun, ch.Packets)
	}
	if ch.GapMs < 200 {
		t.Errorf("got %d ms of gap, want the 200 ms of the lost packets in it", ch.GapMs)
	}
	if res.OpenWait < wait {
		t.Errorf("got an open wait of %s, want the %s the audio waited", res.OpenWait, wait)
	}
}
