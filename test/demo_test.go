package test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
)

var update = flag.Bool("update", false, "rewrite demo/caller.pcap from demoPcap")

// demoLength is how long the demo caller's audio lasts: longer than the
// README's call holds (-d), so it plays until the hang-up.
const demoLength = 30 * time.Second

// demoPcap is the README's demo caller's audio: a three-note chime
// (C5, E5, G5, 300 ms each with 100 ms between) and 800 ms of quiet, over
// and over, as PCMU in 20 ms RTP packets.
func demoPcap() []sipptest.PcapPacket {
	quiet := func(d time.Duration) [][]byte {
		frames := make([][]byte, d/(20*time.Millisecond))
		for i := range frames {
			frames[i] = bytes.Repeat([]byte{sipptest.EncodeULaw(0)}, 160)
		}
		return frames
	}
	var payloads [][]byte
	for len(payloads) < int(demoLength/(20*time.Millisecond)) {
		for _, f := range []float64{523.25, 659.25, 783.99} {
			payloads = append(payloads, sipptest.ToneULaw(f, 300*time.Millisecond)...)
			payloads = append(payloads, quiet(100*time.Millisecond)...)
		}
		payloads = append(payloads, quiet(800*time.Millisecond)...)
	}
	payloads = payloads[:demoLength/(20*time.Millisecond)]
	return sipptest.Paced(0, 20*time.Millisecond, sipptest.RTPStream(0, 1, 160, 0x6b69726f, payloads))
}

// TestDemoCallerPcap: demo/caller.pcap is what demoPcap makes (go test
// ./test -run TestDemoCallerPcap -update writes it).
func TestDemoCallerPcap(t *testing.T) {
	path := filepath.Join("..", "demo", "caller.pcap")
	tmp := filepath.Join(t.TempDir(), "caller.pcap")
	if err := sipptest.WritePcap(tmp, demoPcap()); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s (%d bytes) is not what demoPcap makes (%d bytes); run go test ./test -run TestDemoCallerPcap -update", path, len(got), len(want))
	}
}
