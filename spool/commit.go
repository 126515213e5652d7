package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// committer writes the spool's small files (manifests, upload keys, any
// per-call state file) with group commit: whatever is queued while a batch
// is being made durable goes into the next batch, and a batch costs one
// flush of the files' data and one fsync of the folder however many files
// it holds. Each file is still replaced atomically and is durable when its
// writer is told so: its data reaches the disk before its rename, and its
// rename before the writer hears nil. The committer's goroutine runs only
// while there is something to write, so a Dir needs no Close.
type committer struct {
	mu             sync.Mutex
	queue          []*fileWrite
	running        bool
	batches, files uint64 // made durable so far, for tests and benchmarks
	observe        func(files int, took time.Duration)
}

// OnCommit has f told of every batch the spool makes durable: how many
// files it held and how long it took, from its first write to its
// folder's fsync (kiroku_spool_commit_seconds). f runs on the
// committer's goroutine and must not block; set it before the spool is
// used.
func (d *Dir) OnCommit(f func(files int, took time.Duration)) {
	d.commit.mu.Lock()
	d.commit.observe = f
	d.commit.mu.Unlock()
}

// fileWrite is one file to replace, or to remove; done hears its
// outcome on the committer's goroutine and must not block.
type fileWrite struct {
	name   string
	data   []byte
	remove bool
	done   func(error)
}

// write replaces name with data atomically and durably and returns once
// it is on the disk.
func (d *Dir) writeAtomic(name string, data []byte) error {
	ch := make(chan error, 1)
	d.queueWrite(name, data, func(err error) { ch <- err })
	return <-ch
}

// queueWrite hands name's new content to the committer and returns at
// once; done is called with nil once it is durable, or with the error
// that kept it from being written (the old content then stands). Writes
// of one name are applied in the order they were queued.
func (d *Dir) queueWrite(name string, data []byte, done func(error)) {
	d.queue(&fileWrite{name: name, data: data, done: done})
}

// queueRemove has name removed in order with the writes queued for it;
// done hears nil once it is gone (none there is no error).
func (d *Dir) queueRemove(name string, done func(error)) {
	d.queue(&fileWrite{name: name, remove: true, done: done})
}

func (d *Dir) queue(w *fileWrite) {
	c := &d.commit
	c.mu.Lock()
	c.queue = append(c.queue, w)
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go d.commitLoop()
	}
}

// commitLoop makes batches durable until the queue is empty.
func (d *Dir) commitLoop() {
	c := &d.commit
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		observe := c.observe
		c.mu.Unlock()
		began := time.Now()
		files := d.commitBatch(batch)
		if observe != nil {
			observe(files, time.Since(began))
		}
		c.mu.Lock()
		c.batches++
		c.files += uint64(files)
		c.mu.Unlock()
	}
}

// commitStats says how many batches and files the spool has made
// durable.
func (d *Dir) commitStats() (batches, files uint64) {
	d.commit.mu.Lock()
	defer d.commit.mu.Unlock()
	return d.commit.batches, d.commit.files
}

// commitBatch writes a batch: every file's temporary, each flushed, the
// renames and removals, one fsync of the folder; then it tells each
// writer. Of several writes (or removals) of one name only the last is
// done: the earlier ones are replaced by it, and their writers hear its
// outcome.
//
// The temporaries are flushed one by one, several at a time, not with one
// syncfs(2) of the file system: a syncfs also writes out every dirty page
// of the calls' audio on that disk (tens of MB a second in a storm), and
// a batch then took seconds, while an fsync of a small file waits only
// for its own data and the journal's commit, which concurrent fsyncs
// share.
func (d *Dir) commitBatch(batch []*fileWrite) int {
	last := make(map[string]int, len(batch))
	for i, w := range batch {
		last[w.name] = i
	}
	type op struct {
		w   *fileWrite
		tmp string
		err error
	}
	var ops, writes []*op
	errOf := make(map[string]*op, len(last))
	for i, w := range batch {
		if last[w.name] != i {
			continue
		}
		o := &op{w: w}
		ops = append(ops, o)
		errOf[w.name] = o
		if !w.remove {
			writes = append(writes, o)
		}
	}
	forEach(len(writes), syncWorkers, func(i int) {
		o := writes[i]
		o.tmp, o.err = d.writeTemp(o.w.name, o.w.data, true)
	})
	changed := false
	for _, o := range ops {
		if o.err != nil {
			continue
		}
		path := filepath.Join(d.path, o.w.name)
		if o.w.remove {
			if err := os.Remove(path); err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					o.err = fmt.Errorf("remove %s: %w", o.w.name, err)
				}
				continue
			}
		} else if err := os.Rename(o.tmp, path); err != nil {
			o.err = fmt.Errorf("rename %s: %w", o.w.name, err)
			continue
		}
		changed = true
	}
	if changed {
		if err := syncDir(d.path); err != nil {
			for _, o := range ops {
				if o.err == nil {
					o.err = err
				}
			}
		}
	}
	for _, o := range writes {
		if o.err != nil && o.tmp != "" {
			if rerr := os.Remove(o.tmp); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				o.err = errors.Join(o.err, rerr)
			}
		}
	}
	for _, w := range batch {
		w.done(errOf[w.name].err)
	}
	return len(ops)
}

// syncWorkers bounds the temporaries a batch writes and flushes at once:
// enough for their fsyncs to share the journal's commits, few enough
// that a stalled disk holds few OS threads.
const syncWorkers = 8

// forEach runs f(0) … f(n-1) on at most workers goroutines and returns
// when all have.
func forEach(n, workers int, f func(i int)) {
	if n <= 1 {
		if n == 1 {
			f(0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// writeTemp writes data into a new temporary beside name and closes it,
// fsyncing it first when sync; it returns the temporary's path.
func (d *Dir) writeTemp(name string, data []byte, sync bool) (string, error) {
	f, err := os.CreateTemp(d.path, "."+name+".*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return tmp, fmt.Errorf("write %s: %w", name, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return tmp, fmt.Errorf("sync %s: %w", name, err)
		}
	}
	if err := f.Close(); err != nil {
		return tmp, fmt.Errorf("close %s: %w", name, err)
	}
	return tmp, nil
}
