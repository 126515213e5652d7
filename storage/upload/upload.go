package upload

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// errItem marks a failure of one call's files (not of the store).
var errItem = errors.New("cannot upload this call")

// Event tells integrators what became of a recording.
type Event struct {
	Type      string `json:"type"` // recording.stored | recording.silent | recording.no_audio | recording.failed
	ID        string `json:"id"`
	ObjectKey string `json:"object_key,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	// SilentChannels (recording.stored and recording.silent) names the
	// channels, caller or agent, that received no RTP packet: a stored
	// recording with silence there. recording.silent follows
	// recording.stored for such a recording, so that a consumer can
	// alert on it by type alone.
	SilentChannels []string `json:"silent_channels,omitempty"`
	// Reason (recording.no_audio) says why a call indexed has no audio:
	// the consent decision (opted-out, hung-up-during-notice) or what
	// kept it from being recorded (not_recorded, such as "disk full").
	// recording.no_audio follows recording.stored for such a call.
	Reason string    `json:"reason,omitempty"`
	Error  string    `json:"error,omitempty"`
	At     time.Time `json:"at"`
}

// Options configure an Uploader.
type Options struct {
	Spool   *spool.Dir
	Store   storage.Store
	Catalog *catalog.Catalog
	Keys    *crypt.Keyring
	// RetainUntil gives a recording's retention date from its client
	// ("" for none), purpose and start: the stricter of the purpose's and
	// the client's limits; ok is false for a purpose or client no longer
	// configured.
	RetainUntil func(client, purpose string, started time.Time) (time.Time, bool)
	// AudioFormat gives the format a purpose's recordings are stored in
	// (its audio_format) and, for opus, the bitrate; nil, or a purpose
	// no longer configured, stores the spool's PCM WAV as it is.
	AudioFormat func(purpose string) (f audiofile.Format, bitrate int, ok bool)
	// Defer, when set, is asked at a recording's first attempt whether
	// to store it in a format cheaper to encode than its purpose's flac
	// or opus (see cheapFormat) and queue it for the background
	// transcoder, given how many finished recordings wait in the spool.
	// Never with ObjectLock: the cheap object could not be destroyed
	// before its retention date.
	Defer func(target audiofile.Format, pending int) bool
	// ObjectLock asks the store to lock objects until their retention date.
	ObjectLock bool
	Log        *zap.Logger
	// Outbox, when set, keeps the events for the webhook: those about a
	// recording indexed are added in the transaction that indexes it
	// (an error fails the attempt, which is retried), a
	// recording.failed right after the attempt.
	Outbox Outbox
	// Notify, when set, is told of every event after it is committed
	// (the webhook's kick). It must not block.
	Notify func(Event)
	// OnStored and OnFailed report each stored recording (with the time
	// since its call ended) and each failed attempt, for metrics.
	OnStored func(latency time.Duration)
	OnFailed func()
	// MinBackoff and MaxBackoff bound the retry delay (default 1s, 1m);
	// Scan is how often the spool is looked at without a Kick (default 5s).
	MinBackoff, MaxBackoff, Scan time.Duration
	// AttemptTimeout bounds one recording's upload (default 2m): a store
	// that hangs fails the attempt, which is counted and retried, instead
	// of holding the spool still without a word.
	AttemptTimeout time.Duration
	// StallTimeout fails a store operation that moves no bytes for this
	// long (default DefaultStallTimeout; negative: never), so that a hung
	// store is counted within it whatever AttemptTimeout allows.
	StallTimeout time.Duration
}

// DefaultStallTimeout is Options.StallTimeout's default.
const DefaultStallTimeout = 30 * time.Second

// statsAge is how old Stats' count of the spool may be: it lists the
// spool again when a pass has not for this long (a pass hung on the
// store, or waiting out a back-off, while calls keep ending).
const statsAge = time.Second

// Outbox is where the events integrators are told of are written
// (webhook.Sender).
type Outbox interface {
	// Enqueue adds the event v of kind about recording through q.
	Enqueue(ctx context.Context, q catalog.Querier, kind, recording string, v any) error
	// EnqueueOnce adds it unless one of kind about recording is still
	// waiting to be delivered.
	EnqueueOnce(ctx context.Context, kind, recording string, v any) error
}

// Uploader drains the spool.
type Uploader struct {
	o    Options
	kick chan struct{}

	listMu  sync.Mutex // one listing for Stats at a time
	mu      sync.Mutex
	pending int
	oldest  time.Time
	waiting time.Time // the earliest end of a call pending
	listed  time.Time // when pending and oldest were counted
	stored  uint64
	failed  uint64
	lastErr error

	// keys are the data keys (with their formats) the spool's disk had
	// no room to keep, by call: the same at every attempt in this
	// process, as a kept one is at every attempt in any (see dataKey).
	keys sync.Map // string → spool.UploadKey
}

// New returns an uploader; Run starts it.
func New(o Options) *Uploader {
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Scan <= 0 {
		o.Scan = 5 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 2 * time.Minute
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	o.Store = storage.Stalling(o.Store, o.StallTimeout)
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Uploader{o: o, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass now (a call has just finished).
func (u *Uploader) Kick() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Stats reports the spool backlog and counters.
type Stats struct {
	Pending int
	Oldest  time.Time
	// Waiting is the earliest end among the calls pending in the spool
	// (zero when none is): how long the store has kept the backlog
	// waiting, whatever the calls' own lengths. Calls stranded in memory
	// are not in it (they wait for the disk, not the store).
	Waiting time.Time
	Stored  uint64
	Failed  uint64
	LastErr error
}

// Stats returns the uploader's current figures; the backlog is counted
// afresh when the last count is older than statsAge.
func (u *Uploader) Stats() Stats {
	u.mu.Lock()
	stale := time.Since(u.listed) > statsAge
	u.mu.Unlock()
	if stale && u.listMu.TryLock() {
		ms, err := u.o.Spool.Finished(func(string, error) {}) // passes log unreadable manifests
		if err == nil {
			var oldest, waiting time.Time
			for _, m := range ms {
				if oldest.IsZero() || m.StartedAt.Before(oldest) {
					oldest = m.StartedAt
				}
				end := m.StartedAt
				if m.EndedAt != nil {
					end = *m.EndedAt
				}
				if waiting.IsZero() || end.Before(waiting) {
					waiting = end
				}
			}
			u.mu.Lock()
			u.pending, u.oldest, u.waiting, u.listed = len(ms), oldest, waiting, time.Now()
			u.mu.Unlock()
		}
		u.listMu.Unlock()
	}
	// Calls whose final manifest the full disk refused wait in memory
	// (spool.WriteFinal): they are pending too, not yet listed.
	stranded, since := u.o.Spool.Stranded(), u.o.Spool.StrandedOldest()
	u.mu.Lock()
	defer u.mu.Unlock()
	oldest := u.oldest
	if !since.IsZero() && (oldest.IsZero() || since.Before(oldest)) {
		oldest = since
	}
	waiting := u.waiting
	if u.pending == 0 { // drained since the last count
		waiting = time.Time{}
	}
	return Stats{Pending: u.pending + stranded, Oldest: oldest, Waiting: waiting, Stored: u.stored, Failed: u.failed, LastErr: u.lastErr}
}

// Run drains the spool until ctx ends.
func (u *Uploader) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		err := u.Pass(ctx)
		wait := u.o.Scan
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			backoff = min(max(2*backoff, u.o.MinBackoff), u.o.MaxBackoff)
			// Full jitter keeps several nodes from retrying in step.
			wait = backoff/2 + rand.N(backoff/2+1)
			u.o.Log.Warn("spool upload failed; retrying", zap.Duration("in", wait), zap.Error(err))
		default:
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-u.kick:
			if err == nil {
				t.Stop()
				continue
			}
			<-t.C // a kick does not cut a back-off short
		case <-t.C:
		}
	}
}

// Pass uploads every finished call in the spool, oldest first, and stops
// at the first failure (the store is likely down; the rest waits).
func (u *Uploader) Pass(ctx context.Context) error {
	ids, oldest, err := u.finished()
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.pending, u.oldest, u.listed = len(ids), oldest, time.Now()
	u.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := u.attempt(ctx, id); err != nil {
			u.mu.Lock()
			u.failed++
			u.lastErr = err
			u.mu.Unlock()
			u.failedEvent(ctx, Event{Type: "recording.failed", ID: id, Error: err.Error(), At: time.Now().UTC()})
			if u.o.OnFailed != nil {
				u.o.OnFailed()
			}
			if errors.Is(err, errItem) {
				// Something about this call only: the others go on, this
				// one stays in the spool and is retried next pass.
				u.o.Log.Error("recording kept in the spool", zap.String("call_id", id), zap.Error(err))
				continue
			}
			return fmt.Errorf("upload %s: %w", id, err)
		}
		u.mu.Lock()
		u.stored++
		u.pending = max(u.pending-1, 0) // Stats may have counted meanwhile
		u.lastErr = nil
		u.mu.Unlock()
	}
	return nil
}

func (u *Uploader) notify(e Event) {
	if u.o.Notify != nil {
		u.o.Notify(e)
	}
}

// failedEvent writes a recording.failed to the outbox, one while an
// earlier one about the same recording waits (an endpoint down while an
// upload keeps failing), and notifies.
func (u *Uploader) failedEvent(ctx context.Context, e Event) {
	if u.o.Outbox != nil {
		if err := u.o.Outbox.EnqueueOnce(context.WithoutCancel(ctx), e.Type, e.ID, e); err != nil {
			u.o.Log.Error("webhook event not written", zap.String("event", e.Type), zap.String("call_id", e.ID), zap.Error(err))
		}
	}
	u.notify(e)
}

// indexedEvents are the events about rec, just indexed from m.
func indexedEvents(m *spool.Manifest, rec *catalog.Recording, hasAudio bool) []Event {
	stored := Event{Type: "recording.stored", ID: rec.ID, ObjectKey: rec.ObjectKey, SHA256: rec.SHA256,
		SilentChannels: rec.SilentChannels, At: time.Now().UTC()}
	evs := []Event{stored}
	if len(rec.SilentChannels) > 0 {
		silent := stored
		silent.Type = "recording.silent"
		evs = append(evs, silent)
	}
	if !hasAudio {
		none := stored
		none.Type, none.Reason = "recording.no_audio", m.NotRecorded
		if none.Reason == "" {
			none.Reason = m.Consent.Decision
		}
		evs = append(evs, none)
	}
	return evs
}

// finished lists the calls whose manifests are final, oldest first.
func (u *Uploader) finished() ([]string, time.Time, error) {
	ms, err := u.o.Spool.Finished(func(id string, err error) {
		u.o.Log.Warn("unreadable manifest left in the spool", zap.String("call_id", id), zap.Error(err))
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	ids := make([]string, len(ms))
	var oldest time.Time
	for i, m := range ms {
		ids[i] = m.ID
		if oldest.IsZero() || m.StartedAt.Before(oldest) {
			oldest = m.StartedAt
		}
	}
	return ids, oldest, nil
}

// indexed reports whether the catalog already has id: its row (stored)
// or its tombstone (deleted since). A catalog that cannot answer is an
// error: the copy waits.
func (u *Uploader) indexed(ctx context.Context, id string) (bool, string, error) {
	_, err := catalog.GetRecording(ctx, u.o.Catalog.DB(), id)
	if err == nil {
		return true, "stored", nil
	}
	if !errors.Is(err, catalog.ErrNotFound) {
		return false, "", err
	}
	_, err = u.o.Catalog.GetTombstone(ctx, id)
	if err == nil {
		return true, "deleted", nil
	}
	if !errors.Is(err, catalog.ErrNotFound) {
		return false, "", err
	}
	return false, "", nil
}

func (u *Uploader) upload(clk *attemptClock, id string) error {
	ctx := clk.restart()
	// A crash between the catalog commit and the removal of the spool
	// files leaves a copy of a recording that is already stored — and
	// may since have been held, restricted, erased or purged. Storing it
	// again would reset those (and bring erased audio back): the catalog
	// decides, and the copy is only removed.
	if done, why, err := u.indexed(ctx, id); err != nil {
		return err
	} else if done {
		u.o.Log.Warn("spool copy of a recording already "+why+" removed, not stored again", zap.String("call_id", id))
		return u.o.Spool.Remove(id)
	}
	m, err := u.o.Spool.ReadManifest(id)
	if err != nil {
		return fmt.Errorf("%w: %v", errItem, err)
	}
	if req, err := u.erasedBy(ctx, u.o.Catalog.DB(), m); err != nil {
		return err
	} else if req != "" {
		return u.destroyErased(ctx, m, nil, req)
	}
	retain, ok := u.o.RetainUntil(m.Client, m.Purpose, m.StartedAt)
	if !ok {
		return fmt.Errorf("%w: purpose %q or client %q is not configured: cannot set its retention", errItem, m.Purpose, m.Client)
	}
	audioKey, manifestKey := recording.Keys(m.Client, m.Purpose, m.StartedAt, id)
	consent, _ := json.Marshal(m.Consent)
	full, _ := json.Marshal(m)
	rec := &catalog.Recording{
		ID: id, SIPCallID: m.SIPCallID, Client: m.Client, StartedAt: m.StartedAt, AnsweredAt: m.AnsweredAt, EndedAt: m.EndedAt,
		Caller: m.Caller, Dialled: m.Dialled, Line: m.Line, Purpose: m.Purpose, Agent: m.Downstream, AgentID: m.AgentID,
		Decision: m.Consent.Decision, Consent: consent, ManifestKey: manifestKey, RetainUntil: retain,
		State: catalog.StateStored, StoredAt: time.Now().UTC(), Manifest: full,
	}
	rec.CallerWithheld = m.CallerWithheld
	tags := recording.Tags(rec)
	// Every call gets a data key, recorded or not: it seals the audio and
	// the caller's identity in the stored manifest, so that destroying the
	// wrapped key (erasure) makes every copy of both unreadable.
	hasAudio := m.State == spool.StateSpooled && m.Recording != nil
	rate := 8000
	if hasAudio {
		rate = recordingRate(m)
	}
	dataKey, format, bitrate, target, err := u.dataKey(rec, rate)
	if err != nil {
		return err
	}
	if !hasAudio {
		target = ""
	}
	if hasAudio {
		rec.ObjectKey = audioKey
		rec.AudioSHA256 = m.Recording.SHA256
		rec.Duration = time.Duration(m.Recording.Duration * float64(time.Second))
		rec.CutShort = m.Recording.CutShort
		rec.SilentChannels = m.Recording.SilentChannels
		src := &audioData{spool: u.o.Spool, id: id}
		if format == audiofile.G711 && rate != 8000 {
			// A call with a G.722 leg is recorded at 16 kHz, which G.711
			// cannot hold: stored losslessly as FLAC instead, which the
			// manifest and the key's extension then say.
			format = audiofile.FLAC
		}
		if format != audiofile.PCM {
			enc, err := u.encode(m, format, bitrate)
			if err != nil {
				return err
			}
			ctx = clk.restart()
			if enc != nil {
				defer enc.remove()
				src = enc
				rec.ObjectKey = recording.AudioKeyAs(audioKey, format.Ext())
			}
		}
		r, size, err := src.open()
		if err != nil {
			return err
		}
		err = u.putAudio(ctx, rec, dataKey, r, size, src.spool == nil, tags)
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		if err != nil {
			return err
		}
		if src.spool == nil {
			// The manifest, stored and in the catalog, describes the
			// audio as stored; the spool's PCM keeps its checksum.
			r := m.Recording
			r.PCMSHA256, r.SHA256, r.Format = r.SHA256, rec.AudioSHA256, format.Description(audiofile.Options{Law: gLaw(m), Bitrate: bitrate, Rate: rate})
			r.Size = size
			full, _ = json.Marshal(m)
			rec.Manifest = full
		}
	}
	if err := u.putManifest(ctx, m, rec, dataKey, tags); err != nil {
		return err
	}
	d := map[string]any{"object_key": rec.ObjectKey, "sha256": rec.SHA256, "size": rec.Size, "retain_until": retain}
	if target != "" {
		d["transcode_to"] = target
	}
	detail, _ := json.Marshal(d)
	var erasedBy, stoppedBy string
	var events []Event
	err = u.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		// Checked again in the transaction that would index it: an
		// erasure writes its ledger in a transaction of its own before it
		// searches, so either it finds this row or this finds its entry.
		if erasedBy, err = u.erasedBy(ctx, tx, m); err != nil || erasedBy != "" {
			return err
		}
		// A stop of use made since the call began: the same, and the
		// recording is stored restricted, announced to no one.
		if stoppedBy, err = u.stoppedBy(ctx, tx, m); err != nil {
			return err
		}
		rec.State = catalog.StateStored
		if stoppedBy != "" {
			rec.State = catalog.StateRestricted
			if _, err := catalog.DropOutbox(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := catalog.PutRecording(ctx, tx, rec); err != nil {
			return err
		}
		if target != "" {
			// In the same transaction: a recording stored cheap is
			// always found by the transcoder, across restarts.
			if err := catalog.QueueTranscode(ctx, tx, id, string(target), bitrate, time.Now().UTC()); err != nil {
				return err
			}
		}
		if u.o.Outbox != nil && stoppedBy == "" {
			events = indexedEvents(m, rec, hasAudio)
			for _, e := range events {
				if err := u.o.Outbox.Enqueue(ctx, tx, e.Type, id, e); err != nil {
					return err
				}
			}
		}
		if _, err := audit.Append(ctx, tx, audit.Entry{Actor: "kirokud", Action: audit.ActionStore, Target: id, Detail: string(detail)}); err != nil {
			return err
		}
		if stoppedBy != "" {
			d, _ := json.Marshal(map[string]any{"request": stoppedBy, "from": catalog.StateStored, "to": catalog.StateRestricted})
			if _, err := audit.Append(ctx, tx, audit.Entry{Actor: "kirokud", Action: audit.ActionRestrict, Target: id,
				Reason: "stop-of-use request " + stoppedBy + ": restricted as it was stored", Detail: string(d)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if erasedBy != "" {
		return u.destroyErased(ctx, m, rec, erasedBy)
	}
	// Only now is the spool copy redundant.
	u.forgetKey(id)
	if err := u.o.Spool.Remove(id); err != nil {
		u.o.Log.Warn("stored, but spool files not removed", zap.String("call_id", id), zap.Error(err))
	}
	u.o.Log.Info("recording stored", zap.String("call_id", id), zap.String("object_key", rec.ObjectKey),
		zap.String("sha256", rec.SHA256), zap.Int64("size", rec.Size))
	if stoppedBy != "" {
		u.o.Log.Info("recording stored restricted: a stop of use covers it", zap.String("call_id", id), zap.String("request", stoppedBy))
	} else {
		if events == nil {
			events = indexedEvents(m, rec, hasAudio)
		}
		for _, e := range events {
			u.notify(e)
		}
	}
	if u.o.OnStored != nil && m.EndedAt != nil {
		u.o.OnStored(time.Since(*m.EndedAt))
	}
	return nil
}

// chooseFormat is the format rec's audio is stored in first, with opus's
// bitrate, and the format the transcoder converts it to later ("" for
// none): its purpose's, or a cheaper one under a backlog (Options.Defer).
func (u *Uploader) chooseFormat(rec *catalog.Recording, rate int) (format audiofile.Format, bitrate int, target audiofile.Format) {
	format = audiofile.PCM
	if u.o.AudioFormat != nil {
		if f, b, ok := u.o.AudioFormat(rec.Purpose); ok {
			format, bitrate = f, b
		}
	}
	if (format == audiofile.FLAC || format == audiofile.Opus) && u.o.Defer != nil && !u.o.ObjectLock {
		u.mu.Lock()
		pending := u.pending
		u.mu.Unlock()
		if u.o.Defer(format, pending) {
			target, format = format, cheapFormat(format, rate)
		}
	}
	return format, bitrate, target
}
