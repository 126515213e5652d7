package media

import "sync"

// ring holds a recording's frames not yet written to its sink, in chunks
// of a tenth of a second taken from a pool shared by every call when
// audio first lands in them and given back once written. A call then
// holds what the jitter window and the flush period keep (about half a
// second of audio), not the whole window, and its silence holds nothing.
//
// The ring's frames are one chunk more than the window the taps may
// place into past the last frame written (window): a chunk given back
// can then hold nothing of the ring's next lap.
type ring struct {
	frames      int64 // capacity: the window and one chunk
	chunkFrames int64
	chunks      [][]byte // nil: nothing placed there (silence)
	pool        *sync.Pool
}

// chunkPools holds a pool of chunks for each chunk size (one a rate).
var chunkPools sync.Map // int64 bytes → *sync.Pool

func newRing(rate, window int64) ring {
	cf := rate / 10
	size := cf * frameBytes
	p, _ := chunkPools.LoadOrStore(size, &sync.Pool{New: func() any { return make([]byte, size) }})
	n := (window + cf - 1) / cf
	return ring{frames: (n + 1) * cf, chunkFrames: cf, chunks: make([][]byte, n+1), pool: p.(*sync.Pool)}
}

// window is how many frames past the last one written the taps may place.
func (g *ring) window() int64 { return g.frames - g.chunkFrames }

// chunk returns the chunk holding frame f, taking one from the pool
// (silent) when there is none.
func (g *ring) chunk(f int64) []byte {
	i := (f % g.frames) / g.chunkFrames
	c := g.chunks[i]
	if c == nil {
		c = g.pool.Get().([]byte)
		clear(c)
		g.chunks[i] = c
	}
	return c
}

// putRun sets the samples pcm of one channel (off as for put) at frames
// from f on, a chunk at a time.
func (g *ring) putRun(f int64, off int64, pcm []int16) {
	for len(pcm) > 0 {
		c := g.chunk(f)
		in := f % g.chunkFrames
		n := min(int64(len(pcm)), g.chunkFrames-in)
		j := in*frameBytes + off
		for _, v := range pcm[:n] {
			c[j], c[j+1] = byte(uint16(v)), byte(uint16(v)>>8)
			j += frameBytes
		}
		pcm, f = pcm[n:], f+n
	}
}

// segment is a run of frames: bytes of a chunk, or n frames of silence
// where b is nil.
type segment struct {
	b []byte
	n int64
}

// segments appends the frames [from, to) to dst as runs of the chunks
// holding them. Taken under the recorder's lock, they are read without
// it: the taps place only past what is being written.
func (g *ring) segments(dst []segment, from, to int64) []segment {
	for from < to {
		in := from % g.chunkFrames
		n := min(to-from, g.chunkFrames-in)
		s := segment{n: n}
		if c := g.chunks[(from%g.frames)/g.chunkFrames]; c != nil {
			s.b = c[in*frameBytes : (in+n)*frameBytes]
		}
		dst = append(dst, s)
		from += n
	}
	return dst
}

// silence clears the frames [from, to).
func (g *ring) silence(from, to int64) {
	for from < to {
		in := from % g.chunkFrames
		n := min(to-from, g.chunkFrames-in)
		if c := g.chunks[(from%g.frames)/g.chunkFrames]; c != nil {
			clear(c[in*frameBytes : (in+n)*frameBytes])
		}
		from += n
	}
}

// written gives back every chunk whose frames are all below upTo, the
// frames [from, upTo) having just been written, and clears those of the
// range in the chunk that goes on past upTo.
func (g *ring) written(from, upTo int64) {
	for s := from - from%g.chunkFrames; s < upTo; s += g.chunkFrames {
		i := (s % g.frames) / g.chunkFrames
		c := g.chunks[i]
		if c == nil {
			continue
		}
		if s+g.chunkFrames <= upTo {
			g.pool.Put(c) //nolint:staticcheck // a slice header: the chunk it points at is what is pooled
			g.chunks[i] = nil
			continue
		}
		lo := max(from, s) - s
		clear(c[lo*frameBytes : (upTo-s)*frameBytes])
	}
}

// zeros is silence to write for chunks with nothing in them: a chunk of
// the widest rate.
var zeros = make([]byte, WidebandRate/10*frameBytes)
