package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// ManifestStats adds up the manifests of a run's calls.
type ManifestStats struct {
	Read      int // manifests found final
	FromSpool int // read from the spool
	FromStore int // read from the store (the uploader had taken them)
	Recorded  int // state spooled, with the audio in the spool or the store
	Missing   int // calls reaching the agent whose manifest was never final
	Packets   uint64
	Lost      uint64
	Late      uint64
	Resyncs   uint64
	GapMs     int64
	Errors    int     // recordings that ended with a write error
	Duration  float64 // seconds of audio
	States    map[string]int
	Ends      map[string]int
}

// manifests finds each call's final manifest where kirokud keeps it: in
// <data_dir>/spool while the uploader has not taken it, then sealed in the
// fs store beside the audio (the benchmark's config keeps the default fs
// store and master key file).
type manifests struct {
	spool *spool.Dir
	store *fs.Store
	keys  *crypt.Keyring
	data  string
}

func openManifests(dataDir string) (*manifests, error) {
	sp, err := spool.Open(filepath.Join(dataDir, "spool"))
	if err != nil {
		return nil, err
	}
	return &manifests{spool: sp, data: dataDir}, nil
}

// storeReady opens the store and the key once kirokud has made them.
func (m *manifests) storeReady() error {
	if m.store != nil {
		return nil
	}
	key, err := crypt.LoadKeyFile(filepath.Join(m.data, "keys", "master.key"))
	if err != nil {
		return err
	}
	if m.keys, err = crypt.NewKeyring("master", map[string][]byte{"master": key}); err != nil {
		return err
	}
	m.store, err = fs.New(filepath.Join(m.data, "store"))
	return err
}

func (m *manifests) close() error {
	if m.store != nil {
		return m.store.Close()
	}
	return nil
}

// stored lists the store's objects by call id: its manifest key and
// whether its audio is there.
func (m *manifests) stored(ctx context.Context) (map[string]string, map[string]bool, error) {
	mans, audio := map[string]string{}, map[string]bool{}
	if err := m.storeReady(); err != nil {
		return mans, audio, nil // nothing stored yet
	}
	err := m.store.List(ctx, "", func(o storage.Object) error {
		base := path.Base(o.Key)
		switch {
		case strings.HasSuffix(base, ".json"):
			mans[strings.TrimSuffix(base, ".json")] = o.Key
		case strings.HasSuffix(base, ".wav"):
			audio[strings.TrimSuffix(base, ".wav")] = true
		}
		return nil
	})
	return mans, audio, err
}

// open unseals a stored manifest.
func (m *manifests) open(ctx context.Context, key string) (*spool.Manifest, error) {
	obj, err := m.store.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	keyID := obj.Meta["key-id"]
	if keyID == "" {
		keyID = "master"
	}
	mk, err := m.keys.ManifestKey(keyID)
	if err != nil {
		return nil, err
	}
	rr, err := crypt.NewRangeReader(mk, obj.Size, func(off, n int64) (io.ReadCloser, error) {
		return m.store.Get(ctx, key, off, n)
	})
	if err != nil {
		return nil, fmt.Errorf("open stored manifest %s: %w", key, err)
	}
	var b bytes.Buffer
	if err := rr.WriteRange(&b, 0, rr.Size()); err != nil {
		return nil, fmt.Errorf("open stored manifest %s: %w", key, err)
	}
	var man spool.Manifest // the stored document embeds the spool's fields
	if err := json.Unmarshal(b.Bytes(), &man); err != nil {
		return nil, fmt.Errorf("open stored manifest %s: %w", key, err)
	}
	return &man, nil
}

func final(m *spool.Manifest) bool {
	return m.State == spool.StateSpooled || m.State == spool.StateDone
}

// waitManifests waits (up to wait) until the manifest of every id is final
// in the spool or stored, and adds them up.
func waitManifests(ctx context.Context, dataDir string, ids []string, wait time.Duration) (ManifestStats, error) {
	st := ManifestStats{States: map[string]int{}, Ends: map[string]int{}}
	m, err := openManifests(dataDir)
	if err != nil {
		return st, err
	}
	defer m.close()
	found := map[string]*spool.Manifest{}
	var errs []error
	deadline := time.Now().Add(wait)
	for {
		var inStore map[string]string
		for _, id := range ids {
			if found[id] != nil {
				continue
			}
			if man, err := m.spool.ReadManifest(id); err == nil && final(man) {
				found[id] = man
				st.FromSpool++
				continue
			}
			if inStore == nil {
				if inStore, _, err = m.stored(ctx); err != nil {
					errs = append(errs, err)
				}
			}
			if key, ok := inStore[id]; ok {
				man, err := m.open(ctx, key)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				found[id] = man
				st.FromStore++
			}
		}
		if len(found) == len(ids) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		_ = sleepCtx(ctx, 200*time.Millisecond)
	}
	// Audio may be moving to the store meanwhile. The uploader puts it
	// there before it removes it from the spool, so a file missing from the
	// spool is in a listing of the store taken after looking.
	inSpool := map[string]bool{}
	for id := range found {
		for _, p := range []string{m.spool.SealedPath(id), m.spool.RecordingPath(id)} {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 44 {
				inSpool[id] = true
			}
		}
	}
	_, audio, err := m.stored(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for id, man := range found {
		st.add(man, inSpool[id] || audio[id])
	}
	st.Missing = len(ids) - len(found)
	if st.Missing > 0 {
		errs = append(errs, fmt.Errorf("%d of %d manifests not final after %s", st.Missing, len(ids), wait))
	}
	return st, errors.Join(errs...)
}

func (st *ManifestStats) add(m *spool.Manifest, audio bool) {
	st.Read++
	st.States[m.State]++
	if m.EndReason != "" {
		st.Ends[m.EndReason]++
	}
	rec := m.Recording
	if rec == nil {
		return
	}
	if m.State == spool.StateSpooled && audio {
		st.Recorded++
	}
	if rec.Error != "" {
		st.Errors++
	}
	st.Duration += rec.Duration
	for _, ch := range rec.Channels {
		st.Packets += ch.Packets
		st.Lost += ch.Lost
		st.Late += ch.Late
		st.Resyncs += ch.Resyncs
		st.GapMs += ch.GapMs
	}
}
