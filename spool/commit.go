package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
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
}

// fileWrite is one file to replace; done hears its outcome on the
// committer's goroutine and must not block.
type fileWrite struct {
	name string
	data []byte
	done func(error)
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
	c := &d.commit
	c.mu.Lock()
	c.queue = append(c.queue, &fileWrite{name: name, data: data, done: done})
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
		c.mu.Unlock()
		files := d.commitBatch(batch)
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

// commitBatch writes a batch: every file's temporary, one flush of their
// data, the renames, one fsync of the folder; then it tells each writer.
// Of several writes of one name only the last is written: the earlier
// ones are replaced by it, and their writers hear its outcome.
func (d *Dir) commitBatch(batch []*fileWrite) int {
	last := make(map[string]int, len(batch))
	for i, w := range batch {
		last[w.name] = i
	}
	type temp struct {
		w   *fileWrite
		tmp string
		err error
	}
	var temps []*temp
	errOf := make(map[string]*temp, len(last))
	for i, w := range batch {
		if last[w.name] != i {
			continue
		}
		t := &temp{w: w}
		t.tmp, t.err = d.writeTemp(w.name, w.data, len(last) == 1)
		temps = append(temps, t)
		errOf[w.name] = t
	}
	if len(last) > 1 {
		// One flush of the file system holds the data of every temporary:
		// cheaper than an fsync each, and always before any rename.
		if err := syncFS(d.path); err != nil {
			for _, t := range temps {
				if t.err == nil {
					t.err = err
				}
			}
		}
	}
	renamed := false
	for _, t := range temps {
		if t.err != nil {
			continue
		}
		if err := os.Rename(t.tmp, filepath.Join(d.path, t.w.name)); err != nil {
			t.err = fmt.Errorf("rename %s: %w", t.w.name, err)
			continue
		}
		renamed = true
	}
	if renamed {
		if err := syncDir(d.path); err != nil {
			for _, t := range temps {
				if t.err == nil {
					t.err = err
				}
			}
		}
	}
	for _, t := range temps {
		if t.err != nil && t.tmp != "" {
			if rerr := os.Remove(t.tmp); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				t.err = errors.Join(t.err, rerr)
			}
		}
	}
	for _, w := range batch {
		w.done(errOf[w.name].err)
	}
	return len(temps)
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

// syncFS flushes the file system that holds path (syncfs(2)).
func syncFS(path string) error {
	dir, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	err = unix.Syncfs(int(dir.Fd()))
	if err != nil {
		err = fmt.Errorf("syncfs %s: %w", path, err)
	}
	return errors.Join(err, dir.Close())
}
