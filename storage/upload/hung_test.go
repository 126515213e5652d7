package upload_test

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/s3"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestHungStoreVisible: with the store hung (versitygw stopped with
// SIGSTOP), an attempt fails once nothing has moved for the stall
// timeout (by default, within a minute of the hang) and is counted, and the
// backlog the metrics read grows with each call that ends, although the
// pass that would recount it is stuck.
func TestHungStoreVisible(t *testing.T) {
	srv := s3test.Start(t)
	st, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, catalogtest.New(t, catalog.SQLite), st)
	failed := make(chan struct{}, 10)
	done := make(chan error, 1)
	up := upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, p string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		OnFailed:    func() { failed <- struct{}{} }}) // the default timeouts

	srv.Pause()
	hungAt := time.Now()
	var calls []*spool.Manifest
	var pcms [][]byte
	for range 3 {
		m, pcm := e.call(t, 100)
		calls, pcms = append(calls, m), append(pcms, pcm)
		if len(calls) == 1 { // two more calls end while the pass hangs
			go func() { done <- up.Pass(t.Context()) }()
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for up.Stats().Pending != 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := up.Stats().Pending; got != 3 {
		t.Errorf("got %d pending while the store hangs, want 3", got)
	}
	// The wait is counted from the first call's end, not its start
	// (kiroku_spool_oldest_wait_seconds): a long call just ended is not
	// a store that keeps it waiting.
	if calls[0].EndedAt == nil {
		t.Fatal("the test's call has no end")
	}
	if got := up.Stats().Waiting; !got.Equal(*calls[0].EndedAt) {
		t.Errorf("got the backlog waiting since %v, want the first call's end %v", got, *calls[0].EndedAt)
	}
	// With the defaults, the attempt fails at the stall timeout (30 s),
	// not at the attempt's (2 minutes): a hang is counted within a
	// minute of its start.
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("Pass on a hung store: got %v, want its attempt failed as the store unavailable", err)
		}
		if took := time.Since(hungAt); took > time.Minute {
			t.Errorf("the hung attempt failed %s after the hang began, want within a minute", took.Round(time.Second))
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Pass did not give up on a hung store")
	}
	select {
	case <-failed:
	default:
		t.Error("the timed-out attempt was not counted as failed")
	}
	if st := up.Stats(); st.Failed != 1 || st.LastErr == nil {
		t.Errorf("got stats %+v, want one failure with its error", st)
	}

	srv.Resume()
	if err := up.Pass(t.Context()); err != nil {
		t.Fatalf("Pass once the store answers: %v", err)
	}
	if n, _ := e.cat.Count(t.Context()); n != 3 {
		t.Errorf("got %d stored, want 3", n)
	}
	// The hung attempt's PUT completes at the store once it resumes,
	// after or before the retry's: either way what is stored opens with
	// the key the catalog holds (each attempt sealed with a new key, and
	// a late write made a recording unreadable).
	for i, m := range calls {
		rec, err := e.cat.Get(t.Context(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // let a late write land, if any
		r, err := recording.OpenAudio(t.Context(), e.store, e.keys, rec)
		if err != nil {
			t.Fatalf("recording %d: %v", i, err)
		}
		var got bytes.Buffer
		if err := r.WriteRange(&got, 0, r.Size()); err != nil || !bytes.Equal(got.Bytes(), pcms[i]) {
			t.Errorf("recording %d does not open to its audio (%v)", i, err)
		}
		if _, err := e.spool.ReadUploadKey(m.ID); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("recording %d: its spool key is still there (%v) after it was stored", i, err)
		}
	}
	deadline = time.Now().Add(10 * time.Second) // Stats recounts once its count is older than a second
	for up.Stats().Pending != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := up.Stats().Pending; got != 0 {
		t.Errorf("got %d pending after the drain, want 0", got)
	}
	if got := up.Stats().Waiting; !got.IsZero() {
		t.Errorf("got the backlog waiting since %v after the drain, want none", got)
	}
}
