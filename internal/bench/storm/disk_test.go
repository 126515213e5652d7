package storm

import (
	"math"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// diskLoad rewrites one file of at most diskLoadSize on the spool's disk,
// in 1 MiB writes each followed by fsync, until stopped: the large file
// write that came before the failing storm of the issue, bounded.
type diskLoad struct {
	quit    chan struct{}
	done    chan struct{}
	written atomic.Int64
	syncs   atomic.Int64
}

const diskLoadSize = 256 << 20

func startDiskLoad(dir string) *diskLoad {
	d := &diskLoad{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		path := filepath.Join(dir, "disk-load.bin")
		defer os.Remove(path)
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = byte(i * 31)
		}
		var off int64
		for {
			select {
			case <-d.quit:
				return
			default:
			}
			if _, err := f.WriteAt(buf, off); err != nil {
				return
			}
			if err := f.Sync(); err != nil {
				return
			}
			d.written.Add(int64(len(buf)))
			d.syncs.Add(1)
			off = (off + int64(len(buf))) % diskLoadSize
		}
	}()
	return d
}

func (d *diskLoad) stop() {
	close(d.quit)
	<-d.done
}

// writeNotice writes a 500 ms 8 kHz tone as the line's notice.
func writeNotice(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := wav.NewWriter(f, 8000, 1)
	if err != nil {
		f.Close()
		return err
	}
	n := 4000
	b := make([]byte, 2*n)
	for i := range n {
		s := int16(4000 * math.Sin(2*math.Pi*523*float64(i)/8000))
		b[2*i], b[2*i+1] = byte(s), byte(uint16(s)>>8)
	}
	if _, err := w.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
