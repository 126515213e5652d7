package recording

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
)

// AuditPrefix is the key prefix of the audit log's objects in the store
// (checkpoints), which are not recordings.
const AuditPrefix = "audit/"

// Keys returns the object keys of a call: its audio and its manifest,
// under "<purpose>/<yyyy>/<mm>/<dd>/", and for a client's line under
// "<client>/" before that, so that a bucket policy can fence a client's
// objects by prefix.
func Keys(client, purpose string, started time.Time, id string) (audio, manifest string) {
	p := fmt.Sprintf("%s/%s/%s", purpose, started.UTC().Format("2006/01/02"), id)
	if client != "" {
		p = client + "/" + p
	}
	return p + ".wav", p + ".json"
}

// IDOfKey returns the recording id an object key names: its base name
// without its extension (".wav", ".flac" or ".json").
func IDOfKey(key string) string {
	base := path.Base(key)
	return strings.TrimSuffix(base, path.Ext(base))
}

// AudioKeyAs returns the audio key Keys made with the extension ext (a
// format's, with its dot) in place of ".wav".
func AudioKeyAs(key, ext string) string { return strings.TrimSuffix(key, ".wav") + ext }

// AudioFile returns the name a recording's audio has in a ZIP or a
// download: <id> and the extension of its stored object.
func AudioFile(rec *catalog.Recording) string {
	ext := path.Ext(rec.ObjectKey)
	if ext == "" {
		ext = ".wav"
	}
	return rec.ID + ext
}

// IsManifestKey reports whether key names a recording's stored manifest
// (and not an object of the audit log).
func IsManifestKey(key string) bool {
	return strings.HasSuffix(key, ".json") && !strings.HasPrefix(key, AuditPrefix)
}

// ObjectKeys returns the keys of rec's objects that exist: its audio (none
// for a call not recorded) and its manifest.
func ObjectKeys(rec *catalog.Recording) []string {
	var keys []string
	for _, k := range []string{rec.ObjectKey, rec.ManifestKey} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Tags returns the S3 object tags of a recording's objects: its purpose,
// its retention date and, on a client's line, its client. Every tag
// change writes them whole.
func Tags(rec *catalog.Recording) map[string]string {
	tags := map[string]string{"purpose": rec.Purpose, "retain-until": rec.RetainUntil.UTC().Format("2006-01-02")}
	if rec.Client != "" {
		tags["client"] = rec.Client
	}
	return tags
}
