package recording

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// OpenAudio returns a reader of a stored recording's WAV by byte range,
// unwrapping its data key with keys.
func OpenAudio(ctx context.Context, st storage.Store, keys *crypt.Keyring, rec *catalog.Recording) (*crypt.RangeReader, error) {
	if rec.ObjectKey == "" {
		return nil, fmt.Errorf("recording %s has no audio", rec.ID)
	}
	dataKey, err := keys.Unwrap(rec.KeyID, rec.WrappedKey, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", rec.ID, err)
	}
	return crypt.NewRangeReader(dataKey, rec.Size, func(off, n int64) (io.ReadCloser, error) {
		return st.Get(ctx, rec.ObjectKey, off, n)
	})
}

// AudioContentType returns the content type of rec's audio as stored
// (decrypted), by its object's extension: audio/flac for .flac,
// audio/ogg for .opus (Ogg Opus), and audio/wav for .wav, which holds
// PCM or G.711 (see AudioFormat).
func AudioContentType(rec *catalog.Recording) string {
	switch strings.ToLower(path.Ext(rec.ObjectKey)) {
	case ".flac":
		return "audio/flac"
	case ".opus":
		return "audio/ogg; codecs=opus"
	}
	return "audio/wav"
}

// AudioFormat returns the description of rec's stored audio its manifest
// gives ("audio/flac; codec=flac; …"), or the spool's PCM format for a
// recording stored before formats were chosen per purpose.
func AudioFormat(rec *catalog.Recording) string {
	var m struct {
		Recording *struct {
			Format string `json:"format"`
		} `json:"recording"`
	}
	if json.Unmarshal(rec.Manifest, &m) == nil && m.Recording != nil && m.Recording.Format != "" {
		return m.Recording.Format
	}
	return spool.RecordingFormat
}

// AudioPutOptions are the options rec's sealed audio object is put with,
// its SHA-256 sum checked by the store: the recording's id, key id and
// audio checksum as metadata, tags, and with Object Lock its retention.
func AudioPutOptions(rec *catalog.Recording, tags map[string]string, sum string, objectLock bool) storage.PutOptions {
	opts := storage.PutOptions{ContentType: "application/vnd.kiroku.sealed", Tags: tags, SHA256: sum,
		Meta: map[string]string{"recording-id": rec.ID, "key-id": rec.KeyID, "audio-sha256": rec.AudioSHA256}}
	if objectLock {
		opts.RetainUntil = rec.RetainUntil
	}
	return opts
}

// VerifyStored checks that the store holds size bytes under key, of
// SHA-256 sum where it reports one.
func VerifyStored(ctx context.Context, st storage.Store, key string, size int64, sum string) error {
	got, err := st.Stat(ctx, key)
	if err != nil {
		return fmt.Errorf("verify %s: %w", key, err)
	}
	if got.Size != size || (got.SHA256 != "" && got.SHA256 != sum) {
		return fmt.Errorf("verify %s: store holds %d bytes sha256 %s, sent %d bytes sha256 %s", key, got.Size, got.SHA256, size, sum)
	}
	return nil
}
