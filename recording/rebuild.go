package recording

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
)

// RebuildResult counts what Rebuild did.
type RebuildResult struct {
	Manifests int // manifests read from the store
	Restored  int // rows written
	WithKeys  int // rows whose wrapped data key came from the key source
	Skipped   []string
	// AuditCarried is how many audit entries came from the key source's
	// log (set by the daemon's rebuild, which carries it first).
	AuditCarried int64
}

// Rebuild fills cat from the manifests in st, for disaster recovery. Each
// stored manifest is opened with the manifest key of its key id and
// becomes a catalog row again, with an audit entry. Wrapped data keys are
// never in the store (that is what makes erasure by crypto-shredding
// hold for every copy of the bucket); they are taken from keysFrom, a
// catalog backup, when given. A recording without its key is restored as
// metadata without the caller number (sealed with that key) and its audio
// stays unreadable until the key is restored.
func Rebuild(ctx context.Context, st storage.Store, keys *crypt.Keyring, cat *catalog.Catalog, keysFrom *catalog.Catalog) (RebuildResult, error) {
	var res RebuildResult
	var keysList []string
	err := st.List(ctx, "", func(o storage.Object) error {
		if IsManifestKey(o.Key) {
			keysList = append(keysList, o.Key)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rebuild: list: %w", err)
	}
	for _, key := range keysList {
		res.Manifests++
		doc, err := OpenManifest(ctx, st, keys, key)
		if err != nil {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		var old *catalog.Recording
		if keysFrom != nil {
			if o, err := keysFrom.Get(ctx, doc.ID); err == nil && len(o.WrappedKey) > 0 {
				old = o
			}
		}
		if old != nil && len(doc.Identity) > 0 {
			// The caller's identity opens only with the recording's key.
			dk, err := keys.Unwrap(old.KeyID, old.WrappedKey, doc.ID)
			if err == nil {
				var id identity
				if id, err = openIdentity(doc.Identity, dk); err == nil {
					doc.Caller, doc.SIPCallID = id.Caller, id.SIPCallID
				}
			}
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s: identity: %v", key, err))
				old = nil
			}
		}
		rec := rowFromManifest(doc, key)
		if old != nil {
			rec.KeyID, rec.WrappedKey = old.KeyID, old.WrappedKey
			rec.LegalHold, rec.HoldReason, rec.State = old.LegalHold, old.HoldReason, old.State
			res.WithKeys++
		}
		err = cat.Tx(ctx, func(tx *sql.Tx) error {
			if err := catalog.PutRecording(ctx, tx, rec); err != nil {
				return err
			}
			_, err := audit.Append(ctx, tx, audit.Entry{Actor: "kirokud", Action: audit.ActionRebuild, Target: rec.ID, Detail: key})
			return err
		})
		if err != nil {
			return res, err
		}
		res.Restored++
	}
	return res, nil
}

func rowFromManifest(doc *StoredManifest, key string) *catalog.Recording {
	m := &doc.Manifest
	consent, _ := json.Marshal(m.Consent)
	full, _ := json.Marshal(m)
	rec := &catalog.Recording{
		ID: m.ID, SIPCallID: m.SIPCallID, Client: m.Client, StartedAt: m.StartedAt, AnsweredAt: m.AnsweredAt, EndedAt: m.EndedAt,
		Caller: m.Caller, Dialled: m.Dialled, Line: m.Line, Purpose: m.Purpose, Agent: m.Downstream, AgentID: m.AgentID,
		Decision: m.Consent.Decision, Consent: consent, ObjectKey: doc.ObjectKey, ManifestKey: key,
		Size: doc.SealedSize, SHA256: doc.SealedSHA256, RetainUntil: doc.RetainUntil, State: catalog.StateStored,
		StoredAt: time.Now().UTC(), Manifest: full,
	}
	rec.CallerWithheld = m.CallerWithheld
	if m.Recording != nil {
		rec.AudioSHA256 = m.Recording.SHA256
		rec.Duration = time.Duration(m.Recording.Duration * float64(time.Second))
		rec.CutShort = m.Recording.CutShort
		rec.SilentChannels = m.Recording.SilentChannels
	}
	return rec
}
