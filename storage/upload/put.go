package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// putAudio seals the n bytes of audio from src (encoded: not the spool's
// WAV, whose checksum the manifest holds) while streaming them to the
// store, with no sealed copy on the spool disk (a full spool could not
// drain if each upload needed room for one): a first pass seals them
// into a hash only, for the checksum the store checks, and a second
// seals them again into the PUT. SealOnce gives the same bytes both
// times; were the file to change in between, the store refuses the PUT
// (checksum mismatch) and nothing is stored. It then checks what the
// store holds.
func (u *Uploader) putAudio(ctx context.Context, rec *catalog.Recording, dataKey []byte, src io.ReadSeeker, n int64, encoded bool, tags map[string]string) error {
	h, plain := sha256.New(), sha256.New()
	// Sealed the same way at every attempt: see dataKey.
	if err := crypt.SealOnce(h, io.TeeReader(src, plain), n, dataKey, "audio"); err != nil {
		return fmt.Errorf("%w: %v", errItem, err)
	}
	if rec.AudioSHA256 == "" || encoded {
		// Encoded here: its checksum is of the stored format's bytes.
		rec.AudioSHA256 = hex.EncodeToString(plain.Sum(nil))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	size := crypt.SealedSize(n)
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	opts := recording.AudioPutOptions(rec, tags, sum, u.o.ObjectLock)
	if err := u.putSealed(ctx, rec.ObjectKey, src, n, dataKey, size, opts); err != nil {
		return err
	}
	if err := recording.VerifyStored(ctx, u.o.Store, rec.ObjectKey, size, sum); err != nil {
		return err
	}
	rec.Size, rec.SHA256 = size, sum
	return nil
}

// errPutEnded stops a sealer whose PUT returned before reading it all.
var errPutEnded = errors.New("put ended")

// putSealed puts n bytes of src, sealed with dataKey as SealOnce seals
// them (sealed bytes in all), under key: the sealer writes into a pipe
// that the store's Put reads, and is waited for before it returns.
func (u *Uploader) putSealed(ctx context.Context, key string, src io.Reader, n int64, dataKey []byte, sealed int64, opts storage.PutOptions) error {
	pr, pw := io.Pipe()
	sealErr := make(chan error, 1)
	go func() {
		err := crypt.SealOnce(pw, src, n, dataKey, "audio")
		pw.CloseWithError(err) // nil: the reader sees EOF
		sealErr <- err
	}()
	_, err := u.o.Store.Put(ctx, key, pr, sealed, opts)
	pr.CloseWithError(errPutEnded) // a Put that failed early stops the sealer
	serr := <-sealErr
	if err != nil {
		if serr != nil && !errors.Is(serr, errPutEnded) && !errors.Is(serr, io.ErrClosedPipe) {
			// The spool's file could not be read: about this call only.
			return fmt.Errorf("%w: %v (put %s: %v)", errItem, serr, key, err)
		}
		return err
	}
	return nil
}

// putManifest stores the call's manifest beside the audio, sealed as
// recording.SealManifest seals it.
func (u *Uploader) putManifest(ctx context.Context, m *spool.Manifest, rec *catalog.Recording, dataKey []byte, tags map[string]string) error {
	sealed, keyID, err := recording.SealManifest(m, rec, dataKey, u.o.Keys)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(sealed)
	_, err = u.o.Store.Put(ctx, rec.ManifestKey, bytes.NewReader(sealed), int64(len(sealed)), storage.PutOptions{
		ContentType: "application/vnd.kiroku.sealed", Tags: tags, SHA256: hex.EncodeToString(sum[:]),
		Meta: map[string]string{"recording-id": rec.ID, "key-id": keyID, "kind": "manifest"}})
	return err
}
