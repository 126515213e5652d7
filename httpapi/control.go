package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/sip"
)

// Calls is what the control routes need of the SIP server.
type Calls interface {
	Calls() []sip.CallInfo
	Pause(id, by string) error
	Resume(id, by string) error
}

// callJSON is one call in progress as the API shows it.
type callJSON struct {
	ID        string    `json:"id"`
	Line      string    `json:"line"`
	Purpose   string    `json:"purpose"`
	Caller    string    `json:"caller"` // masked
	Consent   string    `json:"consent,omitempty"`
	Phase     string    `json:"phase"`
	Recording string    `json:"recording,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Duration  float64   `json:"duration_seconds"`
}

// NewControl returns the handler of the control routes:
//
//	GET  /api/v1/calls               calls in progress
//	POST /api/v1/calls/{id}/pause    recording holds silence
//	POST /api/v1/calls/{id}/resume   recording goes on
//	GET  /healthz
func NewControl(calls Calls, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/calls", func(w http.ResponseWriter, r *http.Request) {
		out := []callJSON{}
		now := time.Now()
		for _, c := range calls.Calls() {
			out = append(out, callJSON{ID: c.ID, Line: c.Line, Purpose: c.Purpose, Caller: c.Caller,
				Consent: c.Decision, Phase: c.Phase, Recording: c.Recording, StartedAt: c.StartedAt,
				Duration: now.Sub(c.StartedAt).Round(time.Millisecond).Seconds()})
		}
		writeJSON(w, http.StatusOK, map[string]any{"calls": out})
	})
	for _, action := range []string{"pause", "resume"} {
		mux.HandleFunc("POST /api/v1/calls/{id}/"+action, func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			f := calls.Pause
			if action == "resume" {
				f = calls.Resume
			}
			err := f(id, "api")
			switch {
			case err == nil:
				log.Info("recording "+action+"d by the control API", zap.String("call_id", id))
				writeJSON(w, http.StatusOK, map[string]any{"id": id, "recording": map[bool]string{true: "paused", false: "recording"}[action == "pause"]})
			case errors.Is(err, sip.ErrNoCall):
				writeError(w, http.StatusNotFound, err)
			default:
				writeError(w, http.StatusConflict, err)
			}
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
