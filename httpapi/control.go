package httpapi

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/sip"
)

// Calls is what the control and calls routes need of the SIP server.
type Calls interface {
	Calls() []sip.CallInfo
	Pause(id, by string) error
	Resume(id, by string) error
	// Listen subscribes to a call's recording as it is written
	// (sip.Server.Listen).
	Listen(id string) (*media.Listener, error)
}

// NewControl returns the handler of the control routes:
//
//	GET /api/v1/calls   calls in progress, callers masked
//	GET /healthz
//
// and nothing that changes anything: the listener has no authentication
// (it is for the host's own monitoring), so every write — legal holds,
// purges, pausing a call — is a route of the supervisor API, whose audit
// entries name the token that made it. A web page open in a browser on
// the host can still reach this listener, and a rebound DNS name can
// point it here: every request must name a loopback host (421
// otherwise), and any method but GET and HEAD is refused (405) before
// any route sees it.
//
// With profiles set, Go's runtime profiles are served under
// /debug/pprof/ too (control.pprof), under the same rules.
func NewControl(calls Calls, log *zap.Logger, profiles bool) http.Handler {
	mux := http.NewServeMux()
	if profiles {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
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
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return loopbackOnly(mux)
}

// loopbackOnly refuses what a browser page or a rebound DNS name could
// send to the control listener (see NewControl), and every write.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, errors.New("the control listener answers requests for loopback hosts only"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, errors.New("the control listener only reads; holds, purges and pauses are routes of the supervisor API (api.listen), under a token"))
			return
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, apiclient.Error{Error: err.Error()})
}
