package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/recording"
)

// Waveform sizes: the buckets a player draws.
const (
	defaultBuckets = 800
	maxBuckets     = 4000
)

// waveform serves GET /api/v1/recordings/{id}/waveform: the peaks of each
// channel, computed here from the decrypted audio so the browser needs
// no second download to draw them. It reads the recording's audio and
// is audited as such (action waveform, with the reason) before it does.
func (a *API) waveform(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := params(r, "reason", "buckets")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	buckets := defaultBuckets
	if v := q.Get("buckets"); v != "" {
		if buckets, err = strconv.Atoi(v); err != nil || buckets < 1 || buckets > maxBuckets {
			writeError(w, http.StatusBadRequest, fmt.Errorf("buckets: %q is not a whole number from 1 to %d", v, maxBuckets))
			return
		}
	}
	reason, err := reasonOf(r, q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.allow(w, r, p, id, reason) {
		return
	}
	rec, _ := a.visible(w, r, p, a.o.Config(), id, reason)
	if rec == nil {
		return
	}
	if rec.ObjectKey == "" {
		writeError(w, http.StatusNotFound, noAudio(rec))
		return
	}
	rr, err := recording.OpenAudio(r.Context(), a.o.Store, a.o.Keys, rec)
	if err != nil {
		a.internal(w, "opening the audio", err)
		return
	}
	if err := a.record(r, p, audit.ActionWaveform, id, reason, map[string]any{"buckets": buckets, "size": rr.Size()}); err != nil {
		a.internal(w, "audit of a waveform", err)
		return
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(rr.WriteRange(pw, 0, rr.Size())) }()
	wf, err := audiofile.Peaks(pr, buckets)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if Peaks left early
	switch {
	case errors.Is(err, audiofile.ErrNoPeaks):
		writeError(w, http.StatusUnprocessableEntity, fmt.Errorf("waveform: the stored %s audio is in none of the stored formats", recording.AudioContentType(rec)))
		return
	case err != nil:
		a.internal(w, "waveform", err)
		return
	}
	writeJSON(w, http.StatusOK, wf)
}
