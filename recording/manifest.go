package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// StoredManifest is the manifest as stored beside the audio.
type StoredManifest struct {
	spool.Manifest
	ObjectKey    string    `json:"object_key,omitempty"`
	SealedSize   int64     `json:"sealed_size,omitempty"`
	SealedSHA256 string    `json:"sealed_sha256,omitempty"`
	RetainUntil  time.Time `json:"retain_until"`
	KeyID        string    `json:"key_id,omitempty"`
	// Identity is the caller number and SIP Call-ID, sealed with the
	// recording's data key; the fields of Manifest that hold them are
	// empty here.
	Identity []byte `json:"identity,omitempty"`
}

type identity struct {
	Caller    string `json:"caller"`
	SIPCallID string `json:"sip_call_id"`
}

// SealManifest returns the manifest m of recording rec as it is stored
// beside the audio: sealed with the active manifest key of keys — the
// client's own, for a client with keys (crypt.Keyring.ActiveFor) — (so the
// bucket alone rebuilds the catalog), its caller number and SIP Call-ID
// sealed again inside it with the recording's own data key (so erasure,
// which destroys that key, reaches every copy). keyID names the manifest
// key used.
func SealManifest(m *spool.Manifest, rec *catalog.Recording, dataKey []byte, keys *crypt.Keyring) (sealed []byte, keyID string, err error) {
	idPlain, _ := json.Marshal(identity{Caller: m.Caller, SIPCallID: m.SIPCallID})
	var idSealed bytes.Buffer
	if err := crypt.Seal(&idSealed, bytes.NewReader(idPlain), int64(len(idPlain)), dataKey); err != nil {
		return nil, "", err
	}
	doc := StoredManifest{Manifest: *m, ObjectKey: rec.ObjectKey, SealedSize: rec.Size, SealedSHA256: rec.SHA256,
		RetainUntil: rec.RetainUntil, KeyID: rec.KeyID, Identity: idSealed.Bytes()}
	doc.Caller, doc.SIPCallID = "", ""
	plain, err := json.Marshal(doc)
	if err != nil {
		return nil, "", err
	}
	if keyID, err = keys.ActiveFor(rec.Client); err != nil {
		return nil, "", err
	}
	mk, err := keys.ManifestKey(keyID)
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	if err := crypt.Seal(&out, bytes.NewReader(plain), int64(len(plain)), mk); err != nil {
		return nil, "", err
	}
	return out.Bytes(), keyID, nil
}

// OpenManifest reads and opens the stored manifest at key with the
// manifest key its object names. The caller's identity in it stays
// sealed (see StoredManifest.Identity).
func OpenManifest(ctx context.Context, st storage.Store, keys *crypt.Keyring, key string) (*StoredManifest, error) {
	o, err := st.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	mk, err := keys.ManifestKey(o.Meta["key-id"])
	if err != nil {
		return nil, err
	}
	r, err := crypt.NewRangeReader(mk, o.Size, func(off, n int64) (io.ReadCloser, error) { return st.Get(ctx, key, off, n) })
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := r.WriteRange(&buf, 0, r.Size()); err != nil {
		return nil, err
	}
	var doc StoredManifest
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		return nil, errors.Join(errors.New("manifest is not JSON"), err)
	}
	return &doc, nil
}

// openIdentity unseals a stored manifest's identity with its data key.
func openIdentity(sealed, dataKey []byte) (identity, error) {
	var id identity
	r, err := crypt.NewRangeReader(dataKey, int64(len(sealed)), func(off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(sealed[off : off+n])), nil
	})
	if err != nil {
		return id, err
	}
	var buf bytes.Buffer
	if err := r.WriteRange(&buf, 0, r.Size()); err != nil {
		return id, err
	}
	return id, json.Unmarshal(buf.Bytes(), &id)
}
