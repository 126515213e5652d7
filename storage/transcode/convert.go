package transcode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// sealLabel is the label the new object is sealed under with the
// recording's data key (crypt.SealOnce): not the uploader's "audio",
// which sealed the old object, so that no nonce seals two plaintexts.
// Encoding is deterministic, so an attempt redone puts the same bytes.
func sealLabel(f audiofile.Format) string { return "audio " + string(f) }

// manifestKeyOf is the stored manifest's key beside audio key k.
func manifestKeyOf(k string) string { return strings.TrimSuffix(k, path.Ext(k)) + ".json" }

// convert encodes rec's stored audio as q's format, puts and verifies the
// new object, and switches the row to it with an audit entry in one
// transaction; then finish rewrites the manifest and destroys the old
// object. errWait: the row changed meanwhile (held, restricted, another
// object), and nothing was switched.
func (t *Transcoder) convert(ctx context.Context, q *catalog.Transcode, rec *catalog.Recording) error {
	target, err := audiofile.Parse(q.Format)
	if err != nil || (target != audiofile.FLAC && target != audiofile.Opus) {
		return fmt.Errorf("queued format %q: not flac or opus", q.Format)
	}
	if !strings.HasSuffix(rec.ObjectKey, ".wav") {
		return fmt.Errorf("stored object %s is not a .wav to convert", rec.ObjectKey)
	}
	newKey := recording.AudioKeyAs(rec.ObjectKey, target.Ext())
	dataKey, err := t.o.Keys.Unwrap(rec.KeyID, rec.WrappedKey, rec.ID)
	if err != nil {
		return fmt.Errorf("recording %s: %w", rec.ID, err)
	}
	enc, err := t.encode(ctx, rec, target, q.Bitrate)
	if err != nil {
		return err
	}
	defer func() { enc.Close(); os.Remove(enc.Name()) }()
	// Known to the queue before it is put: an attempt cut after the put
	// (a crash) is finished or cleaned up from here.
	if err := catalog.StartTranscode(ctx, t.o.Catalog.DB(), q.ID, newKey); err != nil {
		return err
	}
	q.NewKey = newKey
	next := *rec
	next.ObjectKey = newKey
	if err := t.put(ctx, &next, dataKey, target, enc); err != nil {
		return err
	}
	old := recording.AudioFormat(rec)
	next.Manifest, err = convertedManifest(rec, &next, target.Description(audiofile.Options{Bitrate: q.Bitrate, Rate: rateOf(old)}))
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{
		"old": map[string]any{"format": old, "object_key": rec.ObjectKey, "sha256": rec.SHA256, "audio_sha256": rec.AudioSHA256, "size": rec.Size},
		"new": map[string]any{"format": recording.AudioFormat(&next), "object_key": next.ObjectKey, "sha256": next.SHA256, "audio_sha256": next.AudioSHA256, "size": next.Size},
	})
	if t.lock != nil {
		if err := t.lock.Check(ctx); err != nil {
			return err // another node may convert now: this one switches nothing
		}
	}
	switched := false
	err = t.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := catalog.GetRecording(ctx, tx, rec.ID)
		if err != nil {
			return err // ErrNotFound: destroyed meanwhile
		}
		if cur.LegalHold || cur.State != catalog.StateStored || cur.ObjectKey != rec.ObjectKey {
			return nil
		}
		if !cur.RetainUntil.Equal(rec.RetainUntil) {
			// Re-tagged meanwhile (a retention change): the new object
			// carries the old date's tags; put again from the row as it is.
			return errAgain
		}
		if switched, err = catalog.SwitchObject(ctx, tx, rec.ID, rec.ObjectKey, &next); err != nil || !switched {
			return err
		}
		if err := catalog.SwitchedTranscode(ctx, tx, rec.ID, rec.ObjectKey); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: "kirokud", Action: audit.ActionTranscode, Target: rec.ID,
			Reason: "stored object converted to the purpose's " + string(target), Detail: string(detail)})
		return err
	})
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return t.drop(ctx, q, true)
	case errors.Is(err, errAgain):
		if u := t.destroyer.DeleteObjects(ctx, []*catalog.Recording{{ID: q.ID, ObjectKey: q.NewKey}}); len(u) > 0 {
			return fmt.Errorf("delete %s: %w", u[0].Key, u[0].Err)
		}
		return catalog.StartTranscode(ctx, t.o.Catalog.DB(), q.ID, "") // stays queued: the next pass converts it
	case err != nil:
		return err
	case !switched:
		return errWait
	}
	q.OldKey = rec.ObjectKey
	t.o.Log.Info("recording converted", zap.String("call_id", rec.ID), zap.String("old_key", rec.ObjectKey),
		zap.String("object_key", newKey), zap.Int64("size", next.Size))
	t.mu.Lock()
	t.stats.Converted++
	t.mu.Unlock()
	return t.finish(ctx, q, &next)
}

// encode writes rec's stored audio, decrypted and checked against its
// SHA-256, as target into a temporary file.
func (t *Transcoder) encode(ctx context.Context, rec *catalog.Recording, target audiofile.Format, bitrate int) (*os.File, error) {
	rr, err := recording.OpenAudio(ctx, t.o.Store, t.o.Keys, rec)
	if err != nil {
		return nil, err
	}
	out, err := os.CreateTemp(t.o.TempDir, rec.ID+".transcode.*")
	if err != nil {
		return nil, fmt.Errorf("transcode: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		out.Close()
		os.Remove(out.Name())
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rr.WriteRange(pw, 0, rr.Size())) }()
	h := sha256.New()
	in := io.TeeReader(pr, h)
	err = audiofile.Encode(out, in, target, audiofile.Options{Bitrate: bitrate})
	if err == nil {
		_, err = io.Copy(io.Discard, in) // the whole object, for its checksum
	}
	pr.CloseWithError(errors.New("transcode: reading stopped"))
	if err != nil {
		return fail(fmt.Errorf("encode %s as %s: %w", rec.ObjectKey, target, err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); rec.AudioSHA256 != "" && got != rec.AudioSHA256 {
		return fail(fmt.Errorf("stored audio %s has sha256 %s, the catalog says %s: not converted", rec.ObjectKey, got, rec.AudioSHA256))
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return out, nil
}

// put seals the encoded audio enc under rec's data key, puts it at
// rec.ObjectKey with its SHA-256 and checks what the store then holds;
// rec's size and checksums become the new object's.
func (t *Transcoder) put(ctx context.Context, rec *catalog.Recording, dataKey []byte, target audiofile.Format, enc *os.File) error {
	fi, err := enc.Stat()
	if err != nil {
		return err
	}
	sealed, err := os.CreateTemp(t.o.TempDir, rec.ID+".sealed.*")
	if err != nil {
		return fmt.Errorf("transcode: %w", err)
	}
	defer func() { sealed.Close(); os.Remove(sealed.Name()) }()
	h, plain := sha256.New(), sha256.New()
	if err := crypt.SealOnce(io.MultiWriter(sealed, h), io.TeeReader(enc, plain), fi.Size(), dataKey, sealLabel(target)); err != nil {
		return err
	}
	rec.AudioSHA256 = hex.EncodeToString(plain.Sum(nil))
	sum, size := hex.EncodeToString(h.Sum(nil)), crypt.SealedSize(fi.Size())
	if _, err := sealed.Seek(0, io.SeekStart); err != nil {
		return err
	}
	opts := recording.AudioPutOptions(rec, recording.Tags(rec), sum, t.o.ObjectLock)
	if _, err := t.o.Store.Put(ctx, rec.ObjectKey, sealed, size, opts); err != nil {
		return err
	}
	if err := recording.VerifyStored(ctx, t.o.Store, rec.ObjectKey, size, sum); err != nil {
		return err
	}
	rec.Size, rec.SHA256 = size, sum
	return nil
}

// convertedManifest is rec's manifest describing the audio of next: its
// format, size and SHA-256; pcm_sha256 keeps the spool PCM's checksum.
func convertedManifest(rec, next *catalog.Recording, format string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec.Manifest, &m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", rec.ID, err)
	}
	var r map[string]any
	if err := json.Unmarshal(m["recording"], &r); err != nil || r == nil {
		return nil, fmt.Errorf("manifest of %s: no recording: %v", rec.ID, err)
	}
	if s, _ := r["pcm_sha256"].(string); s == "" {
		r["pcm_sha256"] = r["sha256"] // stored as the spool's PCM first
	}
	plain, err := crypt.PlainSize(next.Size)
	if err != nil {
		return nil, err
	}
	r["sha256"], r["size"], r["format"] = next.AudioSHA256, plain, format
	b, _ := json.Marshal(r)
	m["recording"] = b
	return json.Marshal(m)
}

// rateOf is the sample rate a format description names ("…; rate=16000;
// …"), 8000 when it names none.
func rateOf(desc string) int {
	for _, part := range strings.Split(desc, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "rate="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return n
			}
		}
	}
	return 8000
}

// finish completes a switched conversion: the stored manifest is
// rewritten to name the new object, and the old object is destroyed.
// A recording destroyed meanwhile loses what this put, not regains it.
func (t *Transcoder) finish(ctx context.Context, q *catalog.Transcode, rec *catalog.Recording) error {
	var m spool.Manifest
	if err := json.Unmarshal(rec.Manifest, &m); err != nil {
		return fmt.Errorf("manifest of %s: %w", rec.ID, err)
	}
	dataKey, err := t.o.Keys.Unwrap(rec.KeyID, rec.WrappedKey, rec.ID)
	if err != nil {
		return fmt.Errorf("recording %s: %w", rec.ID, err)
	}
	sealed, keyID, err := recording.SealManifest(&m, rec, dataKey, t.o.Keys)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(sealed)
	if _, err := t.o.Store.Put(ctx, rec.ManifestKey, bytes.NewReader(sealed), int64(len(sealed)), storage.PutOptions{
		ContentType: "application/vnd.kiroku.sealed", Tags: recording.Tags(rec), SHA256: hex.EncodeToString(sum[:]),
		Meta: map[string]string{"recording-id": rec.ID, "key-id": keyID, "kind": "manifest"}}); err != nil {
		return fmt.Errorf("rewrite manifest %s: %w", rec.ManifestKey, err)
	}
	// Looked at again after the put: a destruction that committed
	// meanwhile may have deleted the manifest before this put it back.
	if _, err := catalog.GetRecording(ctx, t.o.Catalog.DB(), rec.ID); errors.Is(err, catalog.ErrNotFound) {
		return t.drop(ctx, q, true)
	} else if err != nil {
		return err
	}
	if u := t.destroyer.DeleteObjects(ctx, []*catalog.Recording{{ID: rec.ID, ObjectKey: q.OldKey}}); len(u) > 0 {
		return fmt.Errorf("destroy old object %s: %w", u[0].Key, u[0].Err)
	}
	return catalog.DoneTranscode(ctx, t.o.Catalog.DB(), q.ID)
}
