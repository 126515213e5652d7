package recording

import (
	"context"
	"fmt"
	"io"

	"github.com/kiroku-voice/kiroku/catalog"
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
