package main

import (
	"bytes"
	le "encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
)

// toneShare is how much of the energy of 16-bit little-endian samples in
// b (one channel of every stride bytes, at the best of its alignments)
// lies at freq Hz for audio at rate: about 0.5 for a pure tone, about
// 2/n for n samples of noise (sealed bytes).
func toneShare(b []byte, stride int, freq float64, rate int) float64 {
	best := 0.0
	for align := 0; align < stride; align++ {
		var s1, s2, energy float64
		c := 2 * math.Cos(2*math.Pi*freq/float64(rate))
		n := 0
		for i := align; i+2 <= len(b); i += stride {
			x := float64(int16(le.LittleEndian.Uint16(b[i:])))
			energy += x * x
			s0 := x + c*s1 - s2
			s2, s1 = s1, s0
			n++
		}
		if n == 0 || energy == 0 {
			continue
		}
		p := (s1*s1 + s2*s2 - c*s1*s2) / (float64(n) * energy)
		best = max(best, p)
	}
	return best
}

// plainAudio says what in b is audio in the clear: a RIFF or WAVE header
// anywhere, or, in a file that may hold audio, the caller's 440 Hz tone
// (as 8 kHz 16-bit stereo, or mono as an encoded copy might be).
func plainAudio(name string, b []byte) string {
	for _, magic := range []string{"RIFF", "WAVE"} {
		if i := bytes.Index(b, []byte(magic)); i >= 0 {
			return fmt.Sprintf("%q at byte %d", magic, i)
		}
	}
	if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".key") || len(b) < 3200 {
		return ""
	}
	for _, stride := range []int{4, 2} {
		if s := toneShare(b, stride, 440, 8000); s > 0.05 {
			return fmt.Sprintf("the caller's 440 Hz tone (%.2f of the energy, stride %d)", s, stride)
		}
	}
	return ""
}

// TestSpoolNeverPlain: the spool folder, read every 20 ms while a real
// call (SIPp sending a 440 Hz tone) is recorded, stored and removed,
// never holds a WAV header or the tone in the clear in any file; the
// sealed audio grew meanwhile (the samples saw it), and the recording
// stored from it decodes with the tone (the check finds audio in the
// clear where there is some).
func TestSpoolNeverPlain(t *testing.T) {
	for _, format := range []string{"pcm", "flac"} {
		t.Run(format, func(t *testing.T) { spoolNeverPlain(t, format) })
	}
}

// spoolNeverPlain is TestSpoolNeverPlain with the purpose storing format
// (flac: the uploader's encoded copy waits in the spool too).
func spoolNeverPlain(t *testing.T, format string) {
	d := prepare(t, "5s", "0120000001")
	cfg := filepath.Join(d.dir, "kiroku.yaml")
	y, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	y = bytes.Replace(y, []byte("retention: 90d,"), []byte("retention: 90d, audio_format: "+format+","), 1)
	if err := os.WriteFile(cfg, y, 0o600); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	spoolDir := filepath.Join(d.dir, "data", "spool")
	var (
		mu       sync.Mutex
		found    []string
		largest  int64
		samples  int
		stop     = make(chan struct{})
		finished = make(chan struct{})
	)
	go func() {
		defer close(finished)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			entries, _ := os.ReadDir(spoolDir)
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(spoolDir, e.Name()))
				if err != nil {
					continue // removed meanwhile
				}
				mu.Lock()
				if why := plainAudio(e.Name(), b); why != "" && len(found) < 10 {
					found = append(found, e.Name()+": "+why)
				}
				if strings.HasSuffix(e.Name(), spool.SealedExt) {
					largest = max(largest, int64(len(b)))
				}
				mu.Unlock()
			}
			mu.Lock()
			samples++
			mu.Unlock()
		}
	}()
	p := d.call(t, "uac_pcap.xml", "0120000001", 4*time.Second, map[string]string{"pcap": tonePcap(t, 4*time.Second)})
	id := d.waitRecording(t)
	wantSuccess(t, p)
	waitFor(t, "the recording stored and gone from the spool", func() bool {
		_, err := os.Stat(filepath.Join(spoolDir, id+".json"))
		return os.IsNotExist(err)
	})
	close(stop)
	<-finished
	mu.Lock()
	defer mu.Unlock()
	if len(found) > 0 {
		t.Errorf("audio in the clear in the spool:\n%s", strings.Join(found, "\n"))
	}
	if largest < 32000 {
		t.Errorf("the largest sealed audio seen in %d samples is %d bytes, want a second of audio or more", samples, largest)
	}
	b := d.audio(t, id)
	var pcm []byte
	if format == "flac" {
		file := filepath.Join(t.TempDir(), id+".flac")
		os.WriteFile(file, b, 0o600)
		for _, v := range audiotest.DecodeStereo(t, file) {
			pcm = le.LittleEndian.AppendUint16(pcm, uint16(v))
		}
	} else {
		a, err := wav.Decode(b)
		if err != nil {
			t.Fatalf("stored recording: %v", err)
		}
		pcm = a.Data
	}
	if why := plainAudio(id+".raw", pcm); !strings.Contains(why, "440 Hz") {
		t.Errorf("the stored recording's samples: %q, want the tone found", why)
	}
}
