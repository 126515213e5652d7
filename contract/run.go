package contract

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// errItem marks a failure of one recording (its object missing or
// corrupt, its audio not what was recorded), as opposed to one of the
// store or the target, which stops the run.
var errItem = errors.New("recording cannot be returned")

// lock takes the catalog lock of client's contract end, or says that a
// run of it is going on: on another node, or in another request here.
func (s *Service) lock(ctx context.Context, client string) (*catalog.Lock, error) {
	l, err := s.o.Catalog.TryLock(ctx, lockName(client))
	if errors.Is(err, catalog.ErrLocked) {
		return nil, fmt.Errorf("%w: the contract end of client %s is running on another node (or in another request to this one): wait for it to end", ErrBlocked, client)
	}
	return l, err
}

// begin checks t, takes c's lock, checks what blocks c and starts or
// resumes c's run. The caller releases the lock.
func (s *Service) begin(ctx context.Context, actor string, c Client, t Target) (*catalog.ContractEnd, *catalog.Lock, error) {
	if err := s.check(t); err != nil {
		return nil, nil, err
	}
	l, err := s.lock(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	blockers, err := s.blockers(c)
	if err == nil && len(blockers) > 0 {
		err = fmt.Errorf("%w: %s", ErrBlocked, strings.Join(blockers, "; "))
	}
	var run *catalog.ContractEnd
	if err == nil {
		run, err = s.start(ctx, actor, c, t)
	}
	if err != nil {
		return nil, nil, errors.Join(err, l.Release())
	}
	return run, l, nil
}

// ReturnS3 runs the contract end of c into the bucket and prefix of t:
// every recording not yet verified as returned is copied (decrypted WAV
// and manifest), read back and checked; then the verified ones not under
// legal hold are destroyed, and the run is certified. An unfinished run
// of c is resumed (with the same target). It returns the certificate.
func (s *Service) ReturnS3(ctx context.Context, actor string, c Client, t Target) (*Certificate, error) {
	if err := s.check(t); err != nil {
		return nil, err
	}
	if t.Kind != KindS3 {
		return nil, fmt.Errorf("%w: kind %q is not s3", ErrBadTarget, t.Kind)
	}
	// The target is opened first: a bucket that cannot be reached
	// starts nothing.
	dst, err := s.o.Target(ctx, t.Bucket)
	if err != nil {
		return nil, fmt.Errorf("%w: bucket %s: %v", ErrBadTarget, t.Bucket, err)
	}
	defer dst.Close()
	run, l, err := s.begin(ctx, actor, c, t)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	db := s.o.Catalog.DB()
	err = catalog.EachContractEndItem(ctx, db, run.ID, func(it *catalog.ContractEndItem) error {
		if err := l.Check(ctx); err != nil {
			return err
		}
		return s.copyItem(ctx, actor, run, c, dst, it)
	}, catalog.ItemPending, catalog.ItemExported, catalog.ItemFailed)
	if err != nil {
		return nil, err
	}
	if err := s.destroy(ctx, actor, run, l); err != nil {
		return nil, err
	}
	cert, err := s.certify(ctx, actor, run, c, l)
	if err != nil {
		return nil, err
	}
	return cert, s.putReport(ctx, dst, targetOf(run), cert)
}

// targetKey is where file goes under t's prefix.
func targetKey(t Target, file string) string {
	if t.Prefix == "" {
		return file
	}
	return t.Prefix + "/" + file
}

// copyItem returns one recording into dst and reads it back.
func (s *Service) copyItem(ctx context.Context, actor string, run *catalog.ContractEnd, c Client, dst storage.Store, it *catalog.ContractEndItem) error {
	rec, ok, err := s.current(ctx, it)
	if err != nil || !ok {
		return err
	}
	from := it.State
	t := targetOf(run)
	it.AudioFile, it.ManifestFile = "", "manifests/"+rec.ID+".json"
	if rec.ObjectKey != "" {
		it.AudioFile = "recordings/" + recording.AudioFile(rec)
	}
	// The export is recorded before any of its bytes leave.
	if err := s.auditTx(ctx, actor, audit.ActionContractEndExport, rec.ID, map[string]any{"run": run.ID, "target": t,
		"files": []string{it.AudioFile, it.ManifestFile}}); err != nil {
		return err
	}
	manifest, err := itemManifest(rec, c)
	if err != nil {
		return err
	}
	err = s.copyAudio(ctx, dst, t, rec, it)
	if err == nil {
		sum := sha256.Sum256(manifest)
		it.ManifestSHA256 = hex.EncodeToString(sum[:])
		_, err = dst.Put(ctx, targetKey(t, it.ManifestFile), strings.NewReader(string(manifest)), int64(len(manifest)),
			storage.PutOptions{ContentType: "application/json", SHA256: it.ManifestSHA256})
	}
	if errors.Is(err, errItem) {
		return s.fail(ctx, it, from, err)
	}
	if err != nil {
		return fmt.Errorf("contract end %s: return %s: %w", run.ID, rec.ID, err)
	}
	it.State, it.Error = catalog.ItemExported, ""
	if err := s.putItem(ctx, it, from); err != nil {
		return err
	}
	// Read back: the copy is what was sent, byte for byte.
	for _, f := range []struct{ file, sum string }{{it.AudioFile, it.AudioSHA256}, {it.ManifestFile, it.ManifestSHA256}} {
		if f.file == "" {
			continue
		}
		got, err := readSum(ctx, dst, targetKey(t, f.file))
		if err != nil {
			return fmt.Errorf("contract end %s: read back %s: %w", run.ID, f.file, err)
		}
		if got != f.sum {
			return s.fail(ctx, it, catalog.ItemExported, fmt.Errorf("%w: the copy of %s reads back with sha256 %s, sent %s", errItem, f.file, got, f.sum))
		}
	}
	return s.verified(ctx, actor, run, it, "read back from the target")
}

// current returns the recording of it, or marks it gone (ok false) when
// another path deleted it meanwhile.
func (s *Service) current(ctx context.Context, it *catalog.ContractEndItem) (*catalog.Recording, bool, error) {
	rec, err := s.o.Catalog.Get(ctx, it.Recording)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		why := "deleted before it was returned"
		if tomb, err := s.o.Catalog.GetTombstone(ctx, it.Recording); err == nil {
			why += " (" + tomb.Reason + ")"
		}
		from := it.State
		it.State, it.Error = catalog.ItemGone, why
		return nil, false, s.putItem(ctx, it, from)
	case err != nil:
		return nil, false, err
	case rec.State != catalog.StateStored && rec.State != catalog.StateRestricted:
		from := it.State
		it.State, it.Error = catalog.ItemGone, "being deleted by retention ("+rec.State+")"
		return nil, false, s.putItem(ctx, it, from)
	}
	return rec, true, nil
}

// copyAudio puts rec's decrypted WAV into dst with the SHA-256 taken when
// it was recorded: the store refuses bytes that differ.
func (s *Service) copyAudio(ctx context.Context, dst storage.Store, t Target, rec *catalog.Recording, it *catalog.ContractEndItem) error {
	it.AudioSHA256 = ""
	if rec.ObjectKey == "" {
		return nil
	}
	rr, err := recording.OpenAudio(ctx, s.o.Store, s.o.Keys, rec)
	if err != nil {
		return s.itemErr(err)
	}
	want := rec.AudioSHA256
	if want == "" {
		h := sha256.New()
		if err := rr.WriteRange(h, 0, rr.Size()); err != nil {
			return s.itemErr(err)
		}
		want = hex.EncodeToString(h.Sum(nil))
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := rr.WriteRange(pw, 0, rr.Size())
		pw.CloseWithError(err)
		done <- err
	}()
	_, err = dst.Put(ctx, targetKey(t, it.AudioFile), pr, rr.Size(), storage.PutOptions{ContentType: recording.AudioContentType(rec), SHA256: want})
	pr.CloseWithError(errors.New("put ended"))
	if werr := s.itemErr(<-done); errors.Is(werr, errItem) {
		// The source failed: the put only saw its end.
		return werr
	}
	if errors.Is(err, storage.ErrChecksumMismatch) {
		return fmt.Errorf("%w: decrypted audio of %s is not what was recorded (sha256 %s): %v", errItem, rec.ID, want, err)
	}
	if err != nil {
		return err
	}
	it.AudioSHA256 = want
	return nil
}

// itemErr marks err as the recording's own when it is about its data
// (missing object, failed authentication, no key).
func (s *Service) itemErr(err error) error {
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, crypt.ErrCorrupt) || errors.Is(err, crypt.ErrWrongKey) {
		return fmt.Errorf("%w: %v", errItem, err)
	}
	return err
}

// fail records that it, in state from, cannot be returned now: it is
// kept (never destroyed) and tried again when the run is resumed.
func (s *Service) fail(ctx context.Context, it *catalog.ContractEndItem, from string, err error) error {
	s.o.Log.Warn("recording not returned; kept", zap.String("id", it.Recording), zap.Error(err))
	it.State, it.Error = catalog.ItemFailed, strings.TrimPrefix(err.Error(), errItem.Error()+": ")
	return s.putItem(ctx, it, from)
}

// verified records that the copy of it (exported) was checked, with an
// audit entry.
func (s *Service) verified(ctx context.Context, actor string, run *catalog.ContractEnd, it *catalog.ContractEndItem, how string) error {
	now := s.o.Now().UTC()
	it.State, it.Error, it.VerifiedAt = catalog.ItemVerified, "", &now
	return s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
		if err := catalog.SwapContractEndItem(ctx, tx, it, catalog.ItemExported); err != nil {
			return err
		}
		_, err := s.audit(ctx, tx, actor, audit.ActionContractEndVerify, it.Recording, map[string]any{"run": run.ID, "how": how,
			"audio_sha256": it.AudioSHA256, "manifest_sha256": it.ManifestSHA256})
		return err
	})
}

// putItem writes it if it is still in state from, as this run read it
// (catalog.ErrItemChanged otherwise).
func (s *Service) putItem(ctx context.Context, it *catalog.ContractEndItem, from string) error {
	return s.o.Catalog.Tx(ctx, func(tx *sql.Tx) error { return catalog.SwapContractEndItem(ctx, tx, it, from) })
}

// readSum reads key whole and returns its SHA-256.
func readSum(ctx context.Context, st storage.Store, key string) (string, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ItemManifest is manifests/<id>.json of a return: what the catalog
// knows of one recording at its export, caller number in clear (the data
// is the client's). Some of it can change between two exports of the
// same recording — State (restricted or not), LegalHold, RetainUntil —
// so its checksum is not stable across resumed runs: each export records
// the checksum of the manifest it sent, and only that one verifies it
// (read back, or confirmed by the recipient).
type ItemManifest struct {
	ID          string          `json:"id"`
	Client      string          `json:"client"`
	ClientName  string          `json:"client_name"`
	StartedAt   time.Time       `json:"started_at"`
	AnsweredAt  *time.Time      `json:"answered_at,omitempty"`
	EndedAt     *time.Time      `json:"ended_at,omitempty"`
	Caller      string          `json:"caller"`
	Dialled     string          `json:"dialled"`
	Line        string          `json:"line"`
	Purpose     string          `json:"purpose"`
	Decision    string          `json:"consent_decision"`
	Consent     json.RawMessage `json:"consent"`
	Duration    float64         `json:"duration_seconds"`
	Audio       *AudioInfo      `json:"audio,omitempty"`
	RetainUntil time.Time       `json:"retain_until"`
	LegalHold   bool            `json:"legal_hold"`
	State       string          `json:"state"`
	Call        json.RawMessage `json:"call"` // the call's manifest as recorded
}

// AudioInfo describes the returned WAV.
type AudioInfo struct {
	File   string `json:"file"`
	Format string `json:"format"`
	SHA256 string `json:"sha256,omitempty"` // taken when it was recorded
}

func itemManifest(rec *catalog.Recording, c Client) ([]byte, error) {
	m := ItemManifest{ID: rec.ID, Client: rec.Client, ClientName: c.Name, StartedAt: rec.StartedAt, AnsweredAt: rec.AnsweredAt,
		EndedAt: rec.EndedAt, Caller: rec.Caller, Dialled: rec.Dialled, Line: rec.Line, Purpose: rec.Purpose,
		Decision: rec.Decision, Consent: rawOr(rec.Consent), Duration: rec.Duration.Seconds(), RetainUntil: rec.RetainUntil,
		LegalHold: rec.LegalHold, State: rec.State, Call: rawOr(rec.Manifest)}
	if rec.ObjectKey != "" {
		m.Audio = &AudioInfo{File: "recordings/" + recording.AudioFile(rec), Format: recording.AudioFormat(rec), SHA256: rec.AudioSHA256}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", rec.ID, err)
	}
	return append(b, '\n'), nil
}

func rawOr(m json.RawMessage) json.RawMessage {
	if len(m) == 0 || !json.Valid(m) {
		return json.RawMessage(`{}`)
	}
	return m
}
