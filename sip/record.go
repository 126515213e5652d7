package sip

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// keyTimeout is how long an agent may take between the keys of a pause or
// resume sequence.
const keyTimeout = 3 * time.Second

// startRecording begins the stereo recording of a bridged call whose
// caller was notified and did not opt out, with the agent leg speaking
// agent (nil: the same codec as the caller). The recording is wideband
// when either leg is (media.RecordingRate); a leg that later changes to
// a codec of the other rate is resampled into it. The data key and the
// manifest naming the file are queued to the spool, and the recorder's
// goroutine creates the file and writes the audio at once, not waiting
// for them to be durable: nothing relies on the audio before they are
// (the file cannot be opened without its key, and a crash before the
// manifest is durable leaves a file that recovery removes and logs), and
// in a storm's ramp the spool's batches took seconds, which the audio
// used to wait out and lose. A spool that cannot be written leaves the
// call connected and unrecorded, and the final manifest says why.
func (c *call) startRecording(start time.Time, agent media.Codec) media.Tap {
	c.mu.Lock()
	decision := c.manifest.Consent.Decision
	c.mu.Unlock()
	if decision != spool.Notified {
		c.setNotRecorded("caller " + decision)
		return nil
	}
	if reserve := c.s.Config().SpoolReserve(); reserve > 0 {
		// Audio stops at the reserve, so the manifests of this call and
		// of those after it (notice, consent, "not recorded") still fit.
		if free, err := c.s.spool.Free(); err == nil && free < reserve {
			c.log.Error("call not recorded: spool disk full", zap.Uint64("free_bytes", free), zap.Uint64("reserve_bytes", reserve))
			c.setNotRecorded(spool.NotRecordedDiskFull)
			return nil
		}
	}
	rate := media.RecordingRate(c.codec(sideCaller), agent)
	c.mu.Lock()
	client := c.manifest.Client
	c.mu.Unlock()
	// The audio is sealed as it is written, with a data key made now and
	// kept wrapped in the spool: the spool never holds it in the clear.
	audio, err := c.s.spool.NewAudio(c.id, client, rate, nil)
	if err != nil {
		c.log.Error("call not recorded", zap.Error(err))
		c.setNotRecorded("recorder: " + err.Error())
		return nil
	}
	rec, err := media.StartRecorderTo(func() (media.Sink, error) { return audio.Create() }, start, rate)
	if err != nil {
		c.log.Error("call not recorded", zap.Error(err))
		c.setNotRecorded("recorder: " + err.Error())
		return nil
	}
	c.mu.Lock()
	c.manifest.Recording = &spool.Recording{File: audio.File(), Format: spool.RecordingFormatAt(rate), StartedAt: start.UTC()}
	m := c.manifest
	c.mu.Unlock()
	c.s.spool.QueueManifest(&m, func(err error) {
		if err != nil {
			// The final manifest names the audio all the same (and is
			// kept until the disk takes it); only a crash before then
			// would lose the recording, and recovery would say so.
			c.log.Error("recording's manifest not written", zap.Error(err))
		}
	})
	rec.SetRoom(c.audioRoom)
	c.mu.Lock()
	c.rec, c.audio = rec, audio
	c.mu.Unlock()
	return rec
}

// audioRoom lets a recording go on while the spool's disk has more free
// space than half its reserve. Below that, the call's audio stops there
// (truncated: disk full), and the other half is left for the manifests of
// the calls in progress and of those answered after them, which are then
// not recorded.
func (c *call) audioRoom() error {
	reserve := c.s.Config().SpoolReserve()
	if reserve == 0 {
		return nil
	}
	free, err := c.s.spool.FreeRecent()
	if err != nil {
		return nil //nolint:nilerr // unknown: the write itself tells
	}
	if free < reserve/2 {
		return fmt.Errorf("%w: %d bytes free, below half the reserve of %d", spool.ErrDiskFull, free, reserve)
	}
	return nil
}

func (c *call) setNotRecorded(why string) {
	c.mu.Lock()
	c.manifest.NotRecorded = why
	c.mu.Unlock()
}

// stopRecording finishes the sealed audio and puts its facts in the
// manifest.
func (c *call) stopRecording(end time.Time) {
	c.mu.Lock()
	rec, audio, m := c.rec, c.audio, c.manifest.Recording
	c.mu.Unlock()
	if rec == nil {
		return
	}
	res, err := rec.Close(end)
	if kerr := audio.Kept(); kerr != nil {
		// Its data key never reached the disk: the audio can never be
		// opened, so it is no recording. Removed before the final
		// manifest says so.
		size, derr := c.s.spool.DiscardAudio(c.id)
		kerr = errors.Join(kerr, derr)
		if res.Frames > 0 || size > 0 {
			c.log.Error("recording discarded: its data key could not be kept in the spool", zap.Int64("bytes", size), zap.Error(kerr))
		}
		err, res = kerr, media.RecordingResult{}
	}
	ended := end.UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil && res.Size == 0 && res.Frames == 0 {
		// The file was never made (the spool could not be written): the
		// call was not recorded, and the manifest says why.
		c.manifest.Recording = nil
		if spool.IsDiskFull(err) {
			c.log.Error("call not recorded: spool disk full", zap.Error(err))
			c.manifest.NotRecorded = spool.NotRecordedDiskFull
			return
		}
		c.log.Error("call not recorded: spool not writable", zap.Error(err))
		c.manifest.NotRecorded = "spool error: " + err.Error()
		return
	}
	m.EndedAt = &ended
	m.Duration = res.Duration.Seconds()
	m.Size, m.SHA256 = res.Size, res.SHA256
	m.Channels, m.SilentChannels = nil, nil
	m.OpenWaitMs = 0
	if res.OpenWait > time.Second {
		m.OpenWaitMs = res.OpenWait.Milliseconds()
		c.log.Warn("recording's file opened late: its audio waited for the spool's disk longer than the recorder holds, and was lost meanwhile",
			zap.Duration("waited", res.OpenWait))
	}
	for i, st := range res.Channels {
		m.Channels = append(m.Channels, spool.ChannelStats{Side: sideName[i], Codec: st.Codec,
			Packets: st.Packets, Lost: st.Lost, Late: st.Late, Resyncs: st.Resyncs, GapMs: st.GapMs, Overrun: st.Overrun})
		if st.Overrun > 0 {
			c.log.Warn("recording lost audio: packets came while its writer was a whole ring (10 s) behind",
				zap.String("channel", sideName[i]), zap.Uint64("packets", st.Overrun), zap.Int64("gap_ms", st.GapMs))
		}
		if st.Packets == 0 {
			// Silence in the file is not the caller's (or agent's) audio:
			// say so rather than store it as a recording with audio.
			m.SilentChannels = append(m.SilentChannels, sideName[i])
			c.log.Warn("recording has no audio on a channel: no rtp packet came from its leg while recording",
				zap.String("channel", sideName[i]))
		}
	}
	m.Paused = nil
	for _, p := range res.Pauses {
		m.Paused = append(m.Paused, spool.Pause{Start: p.Start, End: p.End, StartOffset: p.StartOffset, EndOffset: p.EndOffset, By: p.By})
	}
	switch {
	case err != nil && spool.IsDiskFull(err):
		// The audio stopped when the disk filled; what was written is
		// kept, and the manifest says it stops short of the call's end.
		m.Error, m.Truncated = err.Error(), spool.TruncatedDiskFull
		c.log.Error("recording truncated: spool disk full", zap.Float64("kept_seconds", m.Duration),
			zap.Int64("kept_bytes", res.Size), zap.Error(err))
	case err != nil:
		m.Error = err.Error()
		c.log.Error("recording ended with an error", zap.Error(err))
	}
	if res.Size > 0 {
		c.manifest.State = spool.StateSpooled
	}
}

// Pause and resume from the control API; they report false when the call
// is not being recorded or already in that state.
func (c *call) pause(by string) bool {
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec == nil || !rec.Pause(by) {
		return false
	}
	c.log.Info("recording paused", zap.String("by", by))
	return true
}

func (c *call) resume(by string) bool {
	c.mu.Lock()
	rec := c.rec
	c.mu.Unlock()
	if rec == nil || !rec.Resume(by) {
		return false
	}
	c.log.Info("recording resumed", zap.String("by", by))
	return true
}

// agentKey follows the agent's keys for the line's pause and resume
// sequences. It reports whether the key is to be kept from the caller: a
// key that completes or may still complete a sequence is; when a sequence
// breaks off, the keys held back so far are sent to the caller after all.
func (c *call) agentKey(d rune) (swallow bool) {
	line := c.a.line
	if line.PauseKeys == "" {
		return false
	}
	c.mu.Lock()
	now := time.Now()
	if now.Sub(c.keyAt) > keyTimeout {
		c.keyBuf = ""
	}
	c.keyAt = now
	c.keyBuf += string(d)
	buf := c.keyBuf
	var held string
	switch {
	case buf == line.PauseKeys || buf == line.ResumeKeys:
		c.keyBuf = ""
	case strings.HasPrefix(line.PauseKeys, buf) || strings.HasPrefix(line.ResumeKeys, buf):
		c.mu.Unlock()
		return true
	default:
		held = buf[:len(buf)-1]
		c.keyBuf = ""
		if strings.HasPrefix(line.PauseKeys, string(d)) || strings.HasPrefix(line.ResumeKeys, string(d)) {
			c.keyBuf, swallow = string(d), true
		}
	}
	w := c.work[sideCaller]
	c.mu.Unlock()
	switch buf {
	case line.PauseKeys:
		c.pause("dtmf")
		return true
	case line.ResumeKeys:
		c.resume("dtmf")
		return true
	}
	if held != "" {
		c.sendKeys(w, sideCaller, held, 100*time.Millisecond)
	}
	return swallow
}
