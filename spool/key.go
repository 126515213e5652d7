package spool

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UploadKey is a recording's data key wrapped with a master key (never in
// the clear), kept beside the recording until it is stored: made at the
// call's start when it seals the audio in the spool (NewAudio), else by
// the uploader's first attempt. The audio is stored sealed with it, and
// every upload attempt seals with the same key, so an attempt that hung
// and completed late at the store writes the bytes of the one that
// succeeded, not bytes under a key the catalog does not hold.
type UploadKey struct {
	KeyID   string `json:"key_id"`
	Wrapped []byte `json:"wrapped"`
	// AudioFormat is the format the first attempt chose for the audio
	// (its purpose's audio_format then): kept for the same reason, so
	// a reload between attempts cannot store other bytes under the same
	// key. "" in a key kept before formats existed: pcm.
	AudioFormat string `json:"audio_format,omitempty"`
	// AudioBitrate is opus's bitrate chosen with it (bits a second).
	AudioBitrate int `json:"audio_bitrate,omitempty"`
	// TranscodeTo is the purpose's format when the first attempt chose to
	// store a cheaper one (AudioFormat) and leave the conversion to the
	// background transcoder; "" when it stores the purpose's own.
	TranscodeTo string `json:"transcode_to,omitempty"`
	// SealsSpool says the key was made at the call's start and seals its
	// audio in the spool (NewAudio): no format is chosen yet while
	// AudioFormat is "", which the first attempt then writes.
	SealsSpool bool `json:"seals_spool,omitempty"`
}

func (d *Dir) keyPath(id string) string { return filepath.Join(d.path, id+".key") }

// WriteUploadKey keeps the wrapped data key of call id, atomically and
// durably, before the first attempt uses it.
func (d *Dir) WriteUploadKey(id string, k UploadKey) error {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return fmt.Errorf("write upload key: bad id %q", id)
	}
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("write upload key %s: %w", id, err)
	}
	return d.writeAtomic(id+".key", b)
}

// ReadUploadKey returns the wrapped data key of call id; an error wrapping
// os.ErrNotExist when no attempt has made one yet.
func (d *Dir) ReadUploadKey(id string) (UploadKey, error) {
	var k UploadKey
	b, err := os.ReadFile(d.keyPath(id))
	if err != nil {
		return k, fmt.Errorf("read upload key %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &k); err != nil || k.KeyID == "" || len(k.Wrapped) == 0 {
		return UploadKey{}, fmt.Errorf("read upload key %s: not a wrapped key (%v)", id, err)
	}
	return k, nil
}
