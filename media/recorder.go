package media

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Recording geometry: stereo 16-bit, caller left, agent right, at 8 kHz,
// or at 16 kHz for a call with a wideband leg (G.722) — the rate follows
// the call and the manifest names it (spool.RecordingFormatAt). A leg
// whose codec runs at the other rate is resampled.
const (
	// NarrowbandRate and WidebandRate are the rates a recording is made at.
	NarrowbandRate = 8000
	WidebandRate   = 16000
	frameBytes     = 4 // one stereo frame
	// ringSeconds of audio may wait per call for the writer: while its
	// file is being created or a disk stalls. The ring
	// takes its chunks only as audio lands, so a writer that keeps up
	// holds half a second whatever the window. jitterMs is how late a
	// packet may arrive and still be placed: generous, since a loaded
	// machine delays the relay goroutines before the network does.
	ringSeconds = 10
	jitterMs    = 300
	flushEvery  = 200 * time.Millisecond
	resyncMs    = 500 // a stream this far off the wall clock is re-anchored
)

// RecordingRate is the rate of a recording whose legs speak caller and
// agent (either may be nil, not known yet): wideband when either leg is.
func RecordingRate(caller, agent Codec) int {
	for _, c := range []Codec{caller, agent} {
		if c != nil && c.SampleRate() > NarrowbandRate {
			return WidebandRate
		}
	}
	return NarrowbandRate
}

// ChannelStats describes one channel of a recording.
type ChannelStats struct {
	Packets uint64 `json:"packets"` // audio packets placed
	Lost    uint64 `json:"lost"`    // packets missing by sequence number
	Late    uint64 `json:"late"`    // packets that came after their place was written
	Resyncs uint64 `json:"resyncs"` // times the stream was re-anchored to the wall clock
	GapMs   int64  `json:"gap_ms"`  // audio missing by sequence number, in ms
	Codec   string `json:"codec,omitempty"`
	// Unplaced counts packets in a codec the recording cannot hold (one
	// at a rate it cannot resample from).
	Unplaced uint64 `json:"unplaced,omitempty"`
	// Overrun counts packets, or parts of them, that came more than the
	// ring's window ahead of what the recording had written: its file
	// was not made yet or its writes were behind. Their audio is missing
	// (in GapMs too).
	Overrun uint64 `json:"overrun,omitempty"`
}

// Pause is an interval during which the recording holds silence.
type Pause struct {
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end,omitempty"`
	StartOffset float64    `json:"start_offset_seconds"` // from the recording's start
	EndOffset   float64    `json:"end_offset_seconds,omitempty"`
	By          string     `json:"by"` // dtmf | api
}

// RecordingResult is what a finished recording is.
type RecordingResult struct {
	Frames   int64
	Duration time.Duration
	Size     int64
	SHA256   string
	Channels [2]ChannelStats
	Pauses   []Pause
	// OpenWait is how long the audio waited for its file to be made
	// (StartRecorderTo). Past the ring's window (ringSeconds) audio was
	// lost meanwhile (Overrun).
	OpenWait time.Duration
}

// Recorder writes the two legs of a bridged call as one stereo recording
// into its Sink (the spool's sealed audio, or a plain WAV file), both
// channels on one clock: each stream is anchored to the wall clock when it
// starts (or changes SSRC) and placed by its RTP timestamps from there, so
// loss, silence suppression and hold become silence of the right length,
// packets reordered within the jitter window land in their place, and a
// channel never shifts against the other. It is a Tap: audio is placed in
// a one-second ring (chunks of a tenth of a second from a pool shared by
// every call, held only while unwritten: ring.go) under a short lock on
// the relay goroutines, and the
// recorder's own goroutine writes the ring to the sink in large writes,
// so the disk never holds up the relay.
type Recorder struct {
	open  func() (Sink, error) // makes the sink, on the recorder's goroutine
	sink  Sink
	start time.Time
	// rate is the recording's sample rate; ringFrames (the frames the
	// taps may place past the last one written), jitterFrames and
	// resyncFrames are the durations above in its frames.
	rate, ringFrames, jitterFrames, resyncFrames int64

	mu      sync.Mutex
	ring    ring
	segs    []segment // what flush writes, taken under mu
	flushed int64     // frames written to the file
	ready   int64     // frames below this are being written: taps drop them
	ch      [2]channel
	paused  bool
	pauses  []Pause
	// pausePos holds each pause's [start, end) in frames; end is -1 while
	// the pause lasts. Flush silences these ranges whatever arrived, so the
	// silence matches the listed interval exactly, even for a sender whose
	// packets run ahead of or behind the wall clock.
	pausePos [][2]int64
	err      error        // first write error; the recording stops there
	room     func() error // asked before each write; an error stops the recording there (SetRoom)
	pcm      []int16      // decoded payload, under mu; grown to the largest packet (a 20 ms one: 320 bytes, not a 1500-sample array in every call)
	rs       []int16      // pcm resampled to the recording's rate, under mu
	listen   listeners    // who hears the audio as it is written (listen.go)

	stop chan struct{}
	done chan struct{}
	once sync.Once
	res  RecordingResult
	cerr error
}

type channel struct {
	codec    Codec // of the stream being decoded, with its decoder and resampler
	dec      Decoder
	resample *resampler
	anchored bool
	ssrc     uint32
	baseTS   uint32
	basePos  int64
	haveSeq  bool
	nextSeq  uint16
	nextTS   uint32
	stats    ChannelStats
}

// Sink is where a recording's audio goes: interleaved 16-bit stereo PCM
// frames, appended in large writes (the spool seals each as it is
// written). A write that fails stops the recording there.
type Sink interface {
	Write(p []byte) (int, error)
	// Finish ends the audio durably, keeping the whole frames written
	// before any write that failed, and says how many bytes of PCM it
	// holds and the size and SHA-256 of the WAV file it reads back as.
	Finish() (pcm, wavSize int64, sum string, err error)
}

// NewRecorder creates the WAV at path and starts recording at start, at
// rate (NarrowbandRate or WidebandRate).
func NewRecorder(path string, start time.Time, rate int) (*Recorder, error) {
	r, err := newRecorder(wavFile(path, rate), start, rate)
	if err != nil {
		return nil, err
	}
	if err := r.create(); err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

// StartRecorderTo starts recording at start, at rate, into the sink open
// makes on the recorder's own goroutine, so the file's creation (or
// whatever open waits for first) never holds up the caller; the audio
// meanwhile waits in the ring (ringSeconds; what comes past it is lost
// and counted as overrun). When open fails, nothing is written and Close
// returns its error. A rate that is neither NarrowbandRate nor
// WidebandRate is an error at once.
func StartRecorderTo(open func() (Sink, error), start time.Time, rate int) (*Recorder, error) {
	r, err := newRecorder(open, start, rate)
	if err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

func newRecorder(open func() (Sink, error), start time.Time, rate int) (*Recorder, error) {
	if rate != NarrowbandRate && rate != WidebandRate {
		return nil, fmt.Errorf("create recording: rate %d Hz (recordings are %d or %d Hz)", rate, NarrowbandRate, WidebandRate)
	}
	n := int64(rate)
	return &Recorder{open: open, start: start,
		rate: n, ringFrames: n * ringSeconds, jitterFrames: n * jitterMs / 1000, resyncFrames: n * resyncMs / 1000,
		ring: newRing(n, n*ringSeconds),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// create makes the recording's sink.
func (r *Recorder) create() error {
	s, err := r.open()
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.sink = s
	r.mu.Unlock()
	return nil
}

// SetCodecs names each leg's codec for the recording's statistics (the
// payloads a tap hands over may have been transcoded on the way).
func (r *Recorder) SetCodecs(caller, agent string) {
	r.mu.Lock()
	r.ch[0].stats.Codec, r.ch[1].stats.Codec = caller, agent
	r.mu.Unlock()
}

// SetRoom makes the recorder ask room before each write to its file:
// when room returns an error the recording stops there, keeping what it
// wrote, and Close returns that error (wrapped). It is how a call's audio
// stops short of a disk's reserve, so that the manifests still fit.
func (r *Recorder) SetRoom(room func() error) {
	r.mu.Lock()
	r.room = room
	r.mu.Unlock()
}

// Rate is the recording's sample rate.
func (r *Recorder) Rate() int { return int(r.rate) }

func (r *Recorder) posAt(t time.Time) int64 {
	return int64(t.Sub(r.start)) * r.rate / int64(time.Second)
}

// Audio places one leg's payload; side 0 is the caller (left), 1 the agent.
func (r *Recorder) Audio(side int, codec Codec, seq uint16, ts uint32, ssrc uint32, payload []byte) {
	if len(payload) == 0 || side < 0 || side > 1 || codec == nil {
		return
	}
	arrival := r.posAt(time.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.ch[side]
	if c.codec != codec {
		c.codec, c.dec = codec, codec.NewDecoder()
		c.resample = newResampler(codec.SampleRate(), int(r.rate))
	}
	if codec.SampleRate() != int(r.rate) && c.resample == nil {
		c.stats.Unplaced++
		return
	}
	r.pcm = c.dec.Decode(r.pcm[:0], payload)
	pcm := r.pcm
	if c.resample != nil {
		r.rs = c.resample.convert(r.rs[:0], pcm)
		pcm = r.rs
	}
	n := int64(len(pcm))
	if n == 0 {
		return
	}
	// RTP timestamps count the codec's clock; the ring counts frames.
	clock := int64(codec.ClockRate())
	if !c.anchored || c.ssrc != ssrc {
		c.anchor(ssrc, ts, arrival-n)
	}
	pos := c.basePos + int64(int32(ts-c.baseTS))*r.rate/clock
	if d := pos - (arrival - n); d > r.resyncFrames || d < -r.resyncFrames {
		// The sender's clock and ours disagree by more than any jitter:
		// a paused timestamp (hold without new SSRC) or a broken sender.
		c.anchor(ssrc, ts, arrival-n)
		c.stats.Resyncs++
		pos = arrival - n
	}
	ticks := uint32(n * clock / r.rate)
	if c.haveSeq {
		switch d := int16(seq - c.nextSeq); {
		case d > 0:
			c.stats.Lost += uint64(d)
			c.stats.GapMs += int64(int32(ts-c.nextTS)) * 1000 / clock
			c.nextSeq, c.nextTS = seq+1, ts+ticks
		case d == 0:
			c.nextSeq, c.nextTS = seq+1, ts+ticks
		}
	} else {
		c.haveSeq, c.nextSeq, c.nextTS = true, seq+1, ts+ticks
	}
	// Place what still fits between the part being written and the end of
	// the ring; a packet none of which fits is late (or, past the ring's
	// end, impossibly early, which a resync has already ruled out).
	skip := max(r.ready-pos, 0)
	if room := r.flushed + r.ringFrames - pos; room < n {
		c.stats.Overrun++
		c.stats.GapMs += (n - max(room, 0)) * 1000 / r.rate
		n = room
	}
	// Audio from before the recording began is not missing; audio whose
	// place was already written is.
	late := max(min(r.ready, pos+n)-max(pos, 0), 0)
	c.stats.GapMs += late * 1000 / r.rate
	if skip >= n {
		if late > 0 {
			c.stats.Late++
		}
		return
	}
	c.stats.Packets++
	if r.err != nil {
		return
	}
	pcm, pos = pcm[skip:n], pos+skip
	r.ring.putRun(pos, int64(side*2), pcm)
}

func (c *channel) anchor(ssrc, ts uint32, pos int64) {
	c.anchored, c.ssrc, c.baseTS, c.basePos = true, ssrc, ts, pos
	c.haveSeq = false
}

// Pause starts holding silence; it reports false if already paused.
func (r *Recorder) Pause(by string) bool {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused {
		return false
	}
	r.paused = true
	r.pauses = append(r.pauses, Pause{Start: now.UTC(), StartOffset: now.Sub(r.start).Seconds(), By: by})
	r.pausePos = append(r.pausePos, [2]int64{max(r.posAt(now), r.ready), -1})
	return true
}

// Resume ends a pause; it reports false if not paused.
func (r *Recorder) Resume(by string) bool {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.paused {
		return false
	}
	r.paused = false
	p := &r.pauses[len(r.pauses)-1]
	end := now.UTC()
	p.End, p.EndOffset = &end, now.Sub(r.start).Seconds()
	r.pausePos[len(r.pausePos)-1][1] = max(r.posAt(now), r.pausePos[len(r.pausePos)-1][0])
	return true
}

// Paused reports whether the recording holds silence now.
func (r *Recorder) Paused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

func (r *Recorder) run() {
	defer close(r.done)
	if r.sink == nil {
		// Even when the call has ended meanwhile: Close writes what the
		// ring holds once the file is there.
		err := r.create()
		r.mu.Lock()
		r.res.OpenWait = time.Since(r.start)
		r.mu.Unlock()
		if err != nil {
			r.mu.Lock()
			r.err = err
			r.mu.Unlock()
			return
		}
	}
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.flush(r.posAt(time.Now()) - r.jitterFrames)
		}
	}
}

// flush writes the ring up to frame upTo and clears what it wrote.
func (r *Recorder) flush(upTo int64) {
	r.mu.Lock()
	room := r.room
	r.mu.Unlock()
	if room != nil {
		// Asked outside mu: the taps place audio meanwhile.
		if err := room(); err != nil {
			// Nothing of this range is written: the recording holds the
			// audio up to what was flushed before.
			r.mu.Lock()
			if r.err == nil {
				r.err = fmt.Errorf("write recording: %w", err)
			}
			r.mu.Unlock()
			return
		}
	}
	r.mu.Lock()
	from := r.flushed
	if upTo > from+r.ringFrames {
		// The writer fell a whole ring behind (a stalled disk): what is
		// beyond the ring was dropped by the taps; write silence for it.
		upTo = from + r.ringFrames
	}
	if upTo <= from || r.err != nil {
		r.mu.Unlock()
		return
	}
	r.ready = upTo
	for _, p := range r.pausePos {
		end := p[1]
		if end < 0 {
			end = upTo
		}
		if lo, hi := max(p[0], from), min(end, upTo); lo < hi {
			r.ring.silence(lo, hi)
		}
	}
	segs := r.ring.segments(r.segs[:0], from, upTo)
	r.mu.Unlock()

	err := r.writeRange(segs)
	if err == nil {
		r.tell(segs, upTo-from)
	}

	r.mu.Lock()
	clear(segs) // no hold on chunks given back
	r.segs = segs[:0]
	r.ring.written(from, upTo)
	r.flushed = upTo
	if err != nil && r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// writeRange writes the runs of frames segs to the sink, silence where a
// run has no chunk.
func (r *Recorder) writeRange(segs []segment) error {
	for _, s := range segs {
		b := s.b
		if b == nil {
			b = zeros[:s.n*frameBytes]
		}
		if _, err := r.sink.Write(b); err != nil {
			return fmt.Errorf("write recording: %w", err)
		}
	}
	return nil
}

// Err is the write error that stopped the recording, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close ends the recording at end: it writes what remains (silence up to
// end where nothing came) and finishes the sink (Sink.Finish). It is idempotent; a write error is returned with the result of
// what was written.
func (r *Recorder) Close(end time.Time) (RecordingResult, error) {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		if r.Paused() {
			r.Resume("end")
		}
		last := max(r.posAt(end), 0)
		for r.flushed < last && r.Err() == nil {
			r.flush(min(last, r.flushed+r.rate)) // a second a write
		}
		r.endListeners()
		r.mu.Lock()
		r.res.Channels = [2]ChannelStats{r.ch[0].stats, r.ch[1].stats}
		r.res.Pauses = append([]Pause(nil), r.pauses...)
		r.res.Frames = r.flushed
		werr := r.err
		r.mu.Unlock()
		r.res.Duration = time.Duration(r.res.Frames) * time.Second / time.Duration(r.rate)
		r.mu.Lock()
		sink := r.sink
		r.mu.Unlock()
		if sink == nil { // never created: nothing written
			r.cerr = werr
			return
		}
		pcm, size, sum, err := sink.Finish()
		r.cerr = errors.Join(werr, err)
		if werr != nil || err != nil {
			// A write that failed (a full disk) may have kept part of
			// its range: the duration is of the frames kept.
			r.res.Frames = min(r.res.Frames, pcm/frameBytes)
			r.res.Duration = time.Duration(r.res.Frames) * time.Second / time.Duration(r.rate)
		}
		r.res.SHA256, r.res.Size = sum, size
	})
	return r.res, r.cerr
}
