package rights_test

import (
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/rights"
)

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestDisclosure500BoundedMemory streams a disclosure of 500 recordings
// (about 100 MB of audio) and checks that the heap never holds more than
// a fraction of it; it logs the peak heap and the process's peak RSS.
func TestDisclosure500BoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 500 recordings")
	}
	e := newEnv(t)
	const n, frames = 500, 50000 // 200 kB of WAV each
	for range n {
		e.spoolCall(t, numA, "cs-quality", frames)
	}
	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := create(t, e, rights.KindDisclosure, "ref", numA)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	var out countWriter
	m, err := e.svc.Disclose(t.Context(), "sato", id, io.Writer(&out), allowAll)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != n {
		t.Fatalf("got %d items, want %d", len(m.Items), n)
	}
	audio := int64(n) * int64(frames*4)
	grew := int64(peak.Load()) - int64(base)
	t.Logf("disclosure of %d recordings: %d MB of WAV, ZIP %d MB, heap in use %d MB before, peak %d MB (+%d MB), peak RSS %s",
		n, audio>>20, out.n>>20, base>>20, peak.Load()>>20, grew>>20, vmHWM())
	if grew > audio/4 {
		t.Errorf("heap grew by %d MB for %d MB of audio: not streamed", grew>>20, audio>>20)
	}
}

// vmHWM is the process's peak resident set (Linux), or "unknown".
func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "unknown"
}
