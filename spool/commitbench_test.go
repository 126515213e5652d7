package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkCommitBesideAudio is a batch of 50 manifests made durable
// while the calls' audio is being written to the same disk, 32 MB a
// second (1,000 narrowband stereo calls) into files never fsynced by the
// benchmark: what a storm's manifests wait for. A batch used to flush the
// whole file system (syncfs) and so waited for the audio's dirty pages
// too.
func BenchmarkCommitBesideAudio(b *testing.B) {
	d, err := Open(filepath.Join(b.TempDir(), "spool"))
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		chunk := make([]byte, 320<<10) // 10 ms of 1,000 calls
		for i := range chunk {
			chunk[i] = byte(i * 7)
		}
		var f *os.File
		written := 0
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				if f != nil {
					f.Close()
				}
				return
			case <-tick.C:
			}
			if f == nil || written >= 64<<20 {
				if f != nil {
					f.Close()
				}
				f, err = os.Create(filepath.Join(d.Path(), fmt.Sprintf("audio-%d.wav", time.Now().UnixNano())))
				if err != nil {
					return
				}
				written = 0
			}
			n, _ := f.Write(chunk)
			written += n
		}
	})
	time.Sleep(15 * time.Second) // dirty pages to flush: the kernel keeps them up to 30 s
	b.ResetTimer()
	for i := range b.N {
		var bw sync.WaitGroup
		for j := range 50 {
			bw.Add(1)
			d.QueueManifest(&Manifest{ID: fmt.Sprintf("c-%d-%d", i, j), State: StateActive}, func(error) { bw.Done() })
		}
		bw.Wait()
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
}
