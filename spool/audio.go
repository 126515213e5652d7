package spool

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Keys wrap the data keys that seal the spool's audio with a client's
// master key and open them again (a crypt.Keyring); context is the call
// id.
type Keys interface {
	WrapFor(client string, dataKey []byte, context string) (keyID string, wrapped []byte, err error)
	Unwrap(keyID string, wrapped []byte, context string) ([]byte, error)
}

// ErrNoKeys is returned when the spool is asked to seal or open audio
// without the keys to do it (SetKeys).
var ErrNoKeys = errors.New("the spool has no keys to seal audio with")

// SetKeys gives the spool the keys its audio is sealed with. It is set
// once, before the spool is used.
func (d *Dir) SetKeys(k Keys) { d.keys = k }

// SealedExt ends the name of a call's sealed audio in the spool.
const SealedExt = ".sealed"

// SealedPath is where the sealed audio of call id is written.
func (d *Dir) SealedPath(id string) string { return filepath.Join(d.path, id+SealedExt) }

// Audio is a call's audio about to be recorded: its data key, made at
// the call's start, lives only here in the clear; the spool keeps it
// wrapped (UploadKey), queued before the manifest that names the audio.
type Audio struct {
	d        *Dir
	id       string
	key      []byte
	rate     int
	kept     chan error // the wrapped key's write, once
	keptOnce sync.Once
	keptErr  error
}

// NewAudio makes the data key that seals call id's audio, wraps it with
// client's master key and queues it to be kept in the spool (the same
// key file the uploader reads, so that the stored audio is sealed with
// it too); done, when not nil, hears when it is durable or why not, on
// the spool's writer. The recording is of 16-bit stereo at rate Hz.
func (d *Dir) NewAudio(id, client string, rate int, done func(error)) (*Audio, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return nil, fmt.Errorf("seal audio: bad id %q", id)
	}
	if d.keys == nil {
		return nil, fmt.Errorf("seal audio %s: %w", id, ErrNoKeys)
	}
	key := make([]byte, dataKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal audio %s: data key: %w", id, err)
	}
	keyID, wrapped, err := d.keys.WrapFor(client, key, id)
	if err != nil {
		return nil, fmt.Errorf("seal audio %s: %w", id, err)
	}
	b, err := json.Marshal(UploadKey{KeyID: keyID, Wrapped: wrapped, SealsSpool: true})
	if err != nil {
		return nil, fmt.Errorf("seal audio %s: %w", id, err)
	}
	a := &Audio{d: d, id: id, key: key, rate: rate, kept: make(chan error, 1)}
	d.queueWrite(id+".key", b, func(err error) {
		if err != nil {
			err = fmt.Errorf("keep the data key of %s: %w", id, err)
		}
		a.kept <- err
		if done != nil {
			done(err)
		}
	})
	return a, nil
}

// File is the name of the audio's file in the spool, for its manifest.
func (a *Audio) File() string { return a.id + SealedExt }

// Create creates the sealed file that the recording's PCM is written to,
// at once: the audio does not wait for the disk to make its key and its
// manifest durable (in a storm's ramp the spool's batches take seconds,
// and the recorder would lose what came meanwhile). Nothing relies on
// the file before then: it cannot be opened until its key is durable
// (Kept), and a crash before the manifest naming it is durable leaves a
// file Recover removes, saying so.
func (a *Audio) Create() (*SealedWriter, error) {
	return createSealed(a.d.SealedPath(a.id), a.key, a.rate, 2)
}

// Kept waits until the wrapped data key is durable in the spool and says
// whether it is: until then the audio cannot be opened, and when it is
// not the audio never can (DiscardAudio).
func (a *Audio) Kept() error {
	a.keptOnce.Do(func() { a.keptErr = <-a.kept })
	return a.keptErr
}

// DiscardAudio removes the sealed audio of call id and its data key: for
// audio that can never be opened (its key was not kept) or that no
// durable manifest names. It says how many bytes of audio it removed;
// none there is not an error.
func (d *Dir) DiscardAudio(id string) (int64, error) {
	var size int64
	if fi, err := os.Stat(d.SealedPath(id)); err == nil {
		size = fi.Size()
	}
	var errs []error
	for _, p := range []string{d.SealedPath(id), d.keyPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("discard the audio of %s: %w", id, err))
		}
	}
	return size, errors.Join(errs...)
}

// dataKey opens the data key kept for call id.
func (d *Dir) dataKey(id string) ([]byte, error) {
	if d.keys == nil {
		return nil, fmt.Errorf("open the audio of %s: %w", id, ErrNoKeys)
	}
	k, err := d.ReadUploadKey(id)
	if err != nil {
		return nil, err
	}
	key, err := d.keys.Unwrap(k.KeyID, k.Wrapped, id)
	if err != nil {
		return nil, fmt.Errorf("open the data key of %s: %w", id, err)
	}
	return key, nil
}

// OpenAudio opens the recording of call id as the WAV file it is, and
// says its size: its sealed audio read through its data key, or the
// plain WAV a spool written before audio was sealed holds. A sealed
// file not finished (Recover repairs one) fails with ErrUnfinished, one
// that does not authenticate with ErrSealedCorrupt; a call without audio
// with an error wrapping os.ErrNotExist.
func (d *Dir) OpenAudio(id string) (io.ReadSeekCloser, int64, error) {
	if _, err := os.Stat(d.SealedPath(id)); err == nil {
		key, err := d.dataKey(id)
		if err != nil {
			return nil, 0, err
		}
		r, err := openSealed(d.SealedPath(id), key)
		if err != nil {
			return nil, 0, err
		}
		return r, r.Size(), nil
	}
	f, err := os.Open(d.RecordingPath(id))
	if err != nil {
		return nil, 0, fmt.Errorf("open the audio of %s: %w", id, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open the audio of %s: %w", id, err)
	}
	return f, fi.Size(), nil
}

// FinishAudio finishes the sealed audio of call id whose writer could not
// seal its end record (the disk was full), as Recover does after a crash:
// the whole records are kept, what follows them is cut. Audio finished
// already is left as it is. A call without sealed audio is an error
// wrapping os.ErrNotExist.
func (d *Dir) FinishAudio(id string) error {
	if _, err := os.Stat(d.SealedPath(id)); err != nil {
		return fmt.Errorf("finish the audio of %s: %w", id, err)
	}
	key, err := d.dataKey(id)
	if err != nil {
		return err
	}
	_, _, err = repairSealed(d.SealedPath(id), key)
	return err
}

// hashReader returns the size and SHA-256 of what r reads.
func hashReader(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return n, "", fmt.Errorf("hash recording: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
