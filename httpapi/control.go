package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/sip"
)

// Calls is what the control routes need of the SIP server.
type Calls interface {
	Calls() []sip.CallInfo
	Pause(id, by string) error
	Resume(id, by string) error
}

// Retention is what the retention routes need.
type Retention interface {
	Hold(ctx context.Context, req retention.HoldRequest) (int, error)
	Plan(ctx context.Context) ([]retention.PurposePlan, error)
	PurgeNow(ctx context.Context) (retention.Result, error)
}

// holdJSON is the body of POST /api/v1/holds.
type holdJSON struct {
	IDs    []string  `json:"ids"`
	Caller string    `json:"caller"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	On     *bool     `json:"on"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor"`
}

// NewControl returns the handler of the control routes:
//
//	GET  /api/v1/calls               calls in progress
//	POST /api/v1/calls/{id}/pause    recording holds silence
//	POST /api/v1/calls/{id}/resume   recording goes on
//	GET  /healthz
//	POST /api/v1/holds               legal hold set or released (ids, caller, time range)
//	GET  /api/v1/retention/plan      what the next purge would do, per purpose and client
//	POST /api/v1/retention/purge     run a purge now
//
// The listener has no authentication and is kept on loopback; a web page
// open in a browser on the same host can still reach it. So every request
// must name a loopback host (a rebound DNS name gets 421), every write
// must say Content-Type: application/json (which a page can only send
// after a CORS preflight this listener never answers: 415 otherwise) and
// come from no other origin than a loopback one (403).
func NewControl(calls Calls, ret Retention, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/holds", func(w http.ResponseWriter, r *http.Request) {
		var h holdJSON
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
			return
		}
		if h.On == nil {
			writeError(w, http.StatusBadRequest, errors.New(`"on" (true to hold, false to release) is required`))
			return
		}
		if err := boundedText("actor", h.Actor, 128); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if err := boundedText("reason", h.Reason, 1000); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		n, err := ret.Hold(r.Context(), retention.HoldRequest{IDs: h.IDs, Caller: h.Caller, From: h.From, To: h.To,
			On: *h.On, Reason: h.Reason, Actor: h.Actor})
		switch {
		case errors.Is(err, retention.ErrHoldRequest):
			writeError(w, http.StatusBadRequest, err)
		case errors.Is(err, catalog.ErrNotFound):
			writeError(w, http.StatusNotFound, err)
		case err != nil:
			log.Error("hold", zap.Error(err))
			writeError(w, http.StatusInternalServerError, errors.New("hold not fully applied; see the log"))
		default:
			writeJSON(w, http.StatusOK, map[string]any{"changed": n})
		}
	})
	mux.HandleFunc("GET /api/v1/retention/plan", func(w http.ResponseWriter, r *http.Request) {
		plan, err := ret.Plan(r.Context())
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"purposes": plan})
	})
	mux.HandleFunc("POST /api/v1/retention/purge", func(w http.ResponseWriter, r *http.Request) {
		res, err := ret.PurgeNow(r.Context())
		switch {
		case errors.Is(err, retention.ErrBusy), errors.Is(err, retention.ErrElsewhere):
			writeError(w, http.StatusConflict, err)
		case err != nil:
			writeError(w, http.StatusInternalServerError, err)
		default:
			writeJSON(w, http.StatusOK, map[string]any{"deleted": res.Deleted, "spool_deleted": res.Spool,
				"held": res.Held, "failed": res.Failed, "seconds": res.Duration.Seconds()})
		}
	})
	mux.HandleFunc("GET /api/v1/calls", func(w http.ResponseWriter, r *http.Request) {
		out := []apiclient.Call{}
		now := time.Now()
		for _, c := range calls.Calls() {
			out = append(out, apiclient.Call{ID: c.ID, Line: c.Line, Purpose: c.Purpose, Caller: c.Caller,
				Consent: c.Decision, Phase: c.Phase, Recording: c.Recording, StartedAt: c.StartedAt,
				Duration: now.Sub(c.StartedAt).Round(time.Millisecond).Seconds()})
		}
		writeJSON(w, http.StatusOK, apiclient.CallList{Calls: out})
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
				writeJSON(w, http.StatusOK, apiclient.PauseResult{ID: id, Recording: map[bool]string{true: "paused", false: "recording"}[action == "pause"]})
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
	return loopbackOnly(mux)
}

// loopbackOnly refuses what a browser page or a rebound DNS name could
// send to the control listener (see NewControl).
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, errors.New("the control listener answers requests for loopback hosts only"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, errors.New("writes to the control listener need Content-Type: application/json"))
				return
			}
			if o := r.Header.Get("Origin"); o != "" {
				u, err := url.Parse(o)
				if err != nil || !loopbackHost(u.Host) {
					writeError(w, http.StatusForbidden, errors.New("the control listener takes no requests from web pages of other origins"))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost says whether a Host header (host[:port]) names this host:
// a loopback address or localhost.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// boundedText checks a free-text field the audit log keeps: at most max
// bytes, no control or format characters (a newline forging a log line,
// a bidi override).
func boundedText(name, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%s: %d bytes, at most %d", name, len(v), max)
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%s: control or format character %U", name, r)
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, apiclient.Error{Error: err.Error()})
}
