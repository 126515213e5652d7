package upload

// The data key an upload seals with: the one made at the call's start,
// or a new one for a call without audio, kept so that every attempt uses
// the same (see dataKey).

import (
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// dataKey is the data key of rec, the same at every attempt: made and
// kept (wrapped) in the spool at the first, read back at the next. With
// a new key per attempt, an attempt that hung and whose PUT the store
// completed after a later one succeeded replaced the stored audio with
// bytes sealed under a key the catalog does not hold: a recording lost
// after its upload was verified (seen in TestHungStoreVisible).
//
// The audio format is chosen once, at the first attempt, and kept with
// the key for the same reason: a reload that changed the purpose's
// audio_format between attempts would otherwise store other bytes (pcm
// and g711 share the .wav key).
//
// So is the choice to store a cheaper format first (Options.Defer): the
// format to convert to later is target, "" when format is the purpose's.
func (u *Uploader) dataKey(rec *catalog.Recording, rate int) (dataKey []byte, format audiofile.Format, bitrate int, target audiofile.Format, err error) {
	k, err := u.readKey(rec.ID)
	switch {
	case err == nil && k.SealsSpool && k.AudioFormat == "":
		// Made at the call's start to seal its audio in the spool: the
		// format is chosen now, and kept with it.
		if dataKey, err = u.o.Keys.Unwrap(k.KeyID, k.Wrapped, rec.ID); err != nil {
			return nil, "", 0, "", fmt.Errorf("%w: the data key that seals the spool's audio: %v", errItem, err)
		}
		rec.KeyID, rec.WrappedKey = k.KeyID, k.Wrapped
		format, bitrate, target = u.chooseFormat(rec, rate)
		k.AudioFormat, k.AudioBitrate, k.TranscodeTo = string(format), bitrate, string(target)
		if err := u.keepKey(rec.ID, k); err != nil {
			return nil, "", 0, "", fmt.Errorf("keep the data key: %w", err)
		}
		return dataKey, format, bitrate, target, nil
	case err == nil:
		dataKey, err := u.o.Keys.Unwrap(k.KeyID, k.Wrapped, rec.ID)
		if err != nil {
			return nil, "", 0, "", fmt.Errorf("%w: the data key kept for an earlier attempt: %v", errItem, err)
		}
		format := audiofile.PCM // a key kept before formats existed
		if k.AudioFormat != "" {
			if format, err = audiofile.Parse(k.AudioFormat); err != nil {
				return nil, "", 0, "", fmt.Errorf("%w: the audio format kept for an earlier attempt: %v", errItem, err)
			}
		}
		if k.TranscodeTo != "" {
			if target, err = audiofile.Parse(k.TranscodeTo); err != nil {
				return nil, "", 0, "", fmt.Errorf("%w: the format to convert to kept for an earlier attempt: %v", errItem, err)
			}
		}
		rec.KeyID, rec.WrappedKey = k.KeyID, k.Wrapped
		return dataKey, format, k.AudioBitrate, target, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, "", 0, "", fmt.Errorf("%w: %v", errItem, err)
	}
	format, bitrate, target = u.chooseFormat(rec, rate)
	dataKey, err = crypt.NewDataKey()
	if err != nil {
		return nil, "", 0, "", err
	}
	if rec.KeyID, rec.WrappedKey, err = u.o.Keys.WrapFor(rec.Client, dataKey, rec.ID); err != nil {
		// A client whose keys a contract end destroyed: the call stays in
		// the spool, counted failed, until the client has a key again.
		return nil, "", 0, "", fmt.Errorf("%w: %v", errItem, err)
	}
	k = spool.UploadKey{KeyID: rec.KeyID, Wrapped: rec.WrappedKey, AudioFormat: string(format), AudioBitrate: bitrate, TranscodeTo: string(target)}
	if err := u.keepKey(rec.ID, k); err != nil {
		return nil, "", 0, "", fmt.Errorf("keep the data key: %w", err)
	}
	return dataKey, format, bitrate, target, nil
}

// readKey returns the data key kept for call id: the one the spool's
// disk had no room for, else the spool's.
func (u *Uploader) readKey(id string) (spool.UploadKey, error) {
	if k, ok := u.keys.Load(id); ok {
		return k.(spool.UploadKey), nil
	}
	return u.o.Spool.ReadUploadKey(id)
}

// keepKey keeps k for the next attempts at call id: in the spool, or,
// when its disk is full, in this process. An attempt that hung may still
// put its object after a later one was indexed, so every attempt must
// seal with the one key the catalog will name: across a restart that is
// the spool's (the process that hung is gone with its attempt), within
// a process this one. A full spool disk then does not hold up the
// upload that would free it.
func (u *Uploader) keepKey(id string, k spool.UploadKey) error {
	err := u.o.Spool.WriteUploadKey(id, k)
	if err != nil && spool.IsDiskFull(err) {
		u.keys.Store(id, k)
		u.o.Log.Warn("data key kept in memory: the spool's disk is full", zap.String("call_id", id), zap.Error(err))
		return nil
	}
	if err == nil {
		u.keys.Delete(id)
	}
	return err
}

// forgetKey drops what keepKey held in memory for call id, once it is
// stored or destroyed.
func (u *Uploader) forgetKey(id string) { u.keys.Delete(id) }
