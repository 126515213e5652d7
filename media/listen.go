package media

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ListenBuffer is how many flushes of audio (200 ms each) a listener may
// fall behind before what comes next is dropped for it.
const ListenBuffer = 25

// ErrRecordingEnded is Listen's answer for a recording already closed.
var ErrRecordingEnded = errors.New("recording has ended")

// Listener receives a recording's audio as the recorder writes it to
// the file: stereo 16-bit little-endian PCM at the recording's rate,
// caller left, agent right, exactly what the file gets — silence while
// the recording is paused, nothing once it has stopped (a full disk). A
// slow listener never holds up the recorder: a chunk its buffer has no
// room for is dropped and counted. C is closed when the recording ends
// or the listener is closed.
type Listener struct {
	// C carries the audio; its chunks are shared and must not be changed.
	C <-chan []byte

	c       chan []byte
	set     *listeners
	rate    int
	dropped atomic.Int64
}

// listeners are a recorder's listeners; the recorder's flush sends to
// them, Close ends them.
type listeners struct {
	mu    sync.Mutex
	set   map[*Listener]struct{}
	ended bool
}

// Listen subscribes to the audio r writes from now on, until r is closed
// or the listener is; it fails with ErrRecordingEnded once r is closed.
func (r *Recorder) Listen() (*Listener, error) {
	l := &Listener{c: make(chan []byte, ListenBuffer), set: &r.listen, rate: int(r.rate)}
	l.C = l.c
	s := &r.listen
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return nil, ErrRecordingEnded
	}
	if s.set == nil {
		s.set = map[*Listener]struct{}{}
	}
	s.set[l] = struct{}{}
	return l, nil
}

// Rate is the audio's sample rate; it has two channels.
func (l *Listener) Rate() int { return l.rate }

// Dropped is how many bytes of audio were dropped for l because it fell
// more than ListenBuffer chunks behind.
func (l *Listener) Dropped() int64 { return l.dropped.Load() }

// Close stops l; C is closed (after what it holds). It is idempotent.
func (l *Listener) Close() {
	s := l.set
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[l]; ok {
		delete(s.set, l)
		close(l.c)
	}
}

// tell hands the ring's frames in segs (frames of them), just written to the file, to
// the listeners. It runs on the flushing goroutine, where that range is
// out of the taps' reach (below ready) until flush clears it.
func (r *Recorder) tell(segs []segment, frames int64) {
	s := &r.listen
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.set) == 0 || frames <= 0 {
		return
	}
	chunk := make([]byte, 0, frames*frameBytes)
	for _, sg := range segs {
		if sg.b == nil {
			chunk = append(chunk, zeros[:sg.n*frameBytes]...)
		} else {
			chunk = append(chunk, sg.b...)
		}
	}
	for l := range s.set {
		select {
		case l.c <- chunk:
		default:
			l.dropped.Add(int64(len(chunk)))
		}
	}
}

// endListeners closes every listener's channel: the recording is over.
func (r *Recorder) endListeners() {
	s := &r.listen
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	for l := range s.set {
		delete(s.set, l)
		close(l.c)
	}
}
