package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/recording"
)

// byteRange is the part of the audio a response carries.
type byteRange struct {
	start, length int64
}

func (b byteRange) String() string { return fmt.Sprintf("%d-%d", b.start, b.start+b.length-1) }

// errUnsatisfiable is a Range the audio cannot serve: 416.
var errUnsatisfiable = errors.New("range not satisfiable")

// maxRangeHeader bounds the Range header this API reads: one byte range
// never needs more.
const maxRangeHeader = 200

// parseRange reads a Range header for a representation of size bytes.
// ranged is false when the whole representation is to be sent: no Range,
// or a unit other than bytes (RFC 9110 §14.2: an unknown unit is
// ignored; net/http's ServeContent answers 416, golang/go#81508). A
// bytes range that is malformed, starts at or beyond size, is the empty
// suffix "-0" (ServeContent answers 206 with an invalid Content-Range,
// golang/go#81262), or asks for several ranges, returns errUnsatisfiable.
// Multiple ranges are refused rather than served as multipart/byteranges:
// no player asks for them, and they are the stuff of range-amplification
// attacks. The unit is case-insensitive (golang/go#81378); whitespace
// after "=" and at the end is allowed. Numbers too large for int64 are
// treated as "beyond the end": a last-pos or suffix is clamped to the
// representation, a first-pos is unsatisfiable.
func parseRange(h string, size int64) (byteRange, bool, error) {
	whole := byteRange{0, size}
	if h == "" {
		return whole, false, nil
	}
	unit, set, ok := strings.Cut(h, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		if strings.EqualFold(strings.TrimSpace(h), "bytes") {
			return byteRange{}, true, errUnsatisfiable // "bytes" with no range set
		}
		return whole, false, nil
	}
	if len(h) > maxRangeHeader {
		return byteRange{}, true, errUnsatisfiable
	}
	var spec string
	n := 0
	for _, part := range strings.Split(set, ",") {
		if part = strings.Trim(part, " \t"); part != "" {
			spec = part
			n++
		}
	}
	if n != 1 || size <= 0 {
		return byteRange{}, true, errUnsatisfiable
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return byteRange{}, true, errUnsatisfiable
	}
	if first == "" { // suffix: the last N bytes
		n, ok := number(last)
		if !ok || n == 0 {
			return byteRange{}, true, errUnsatisfiable
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, nil
	}
	start, ok := number(first)
	if !ok || start >= size {
		return byteRange{}, true, errUnsatisfiable
	}
	end := size - 1
	if last != "" {
		e, ok := number(last)
		if !ok || e < start {
			return byteRange{}, true, errUnsatisfiable
		}
		end = min(e, size-1)
	}
	return byteRange{start, end - start + 1}, true, nil
}

// number reads a run of decimal digits; one too large for int64 reads as
// the largest int64 (beyond any representation).
func number(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return 0, true
	}
	if len(s) > 18 {
		return 1<<63 - 1, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// audio serves GET (and HEAD) /api/v1/recordings/{id}/audio: the
// decrypted WAV, whole or one byte range, for a bearer token with a
// reason or for an audio ticket. Each response that carries audio (or,
// for HEAD, would) is audited first as "play" or "download" with its
// byte range.
func (a *API) audio(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := params(r, "reason", "download", "ticket")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var (
		p        *Principal
		reason   string
		download = q.Get("download") == "1" || q.Get("download") == "true"
		via      = "token"
	)
	if v := q.Get("download"); v != "" && v != "0" && v != "1" && v != "true" && v != "false" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("download: %q is not 1, 0, true or false", v))
		return
	}
	if tk := q.Get("ticket"); tk != "" {
		if p, reason, download, ok = a.ticketPrincipal(w, r, tk, id); !ok {
			return
		}
		via = "ticket"
	} else {
		if p, ok = a.principal(w, r); !ok {
			return
		}
		if reason, err = reasonOf(r, q); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
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
	size := rr.Size()
	etag := `"` + rec.AudioSHA256 + `"`
	if rec.AudioSHA256 == "" {
		etag = `"` + rec.SHA256 + `"`
	}
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", etag)
	br, ranged, err := parseRange(r.Header.Get("Range"), size)
	if len(r.Header.Values("Range")) > 1 {
		ranged, err = true, errUnsatisfiable // Range is one field; several are several ranges
	}
	if ranged && err == nil && !ifRange(r.Header.Get("If-Range"), etag) {
		br, ranged = byteRange{0, size}, false
	}
	if err != nil {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		writeError(w, http.StatusRequestedRangeNotSatisfiable, fmt.Errorf("range: %q is not one satisfiable byte range of this %d-byte recording", truncate(r.Header.Get("Range"), 100), size))
		return
	}
	action := audit.ActionPlay
	disposition := "inline"
	if download {
		action, disposition = audit.ActionDownload, "attachment"
	}
	detail := map[string]any{"range": br.String(), "bytes": br.length, "size": size, "via": via}
	if r.Method == http.MethodHead {
		detail["method"] = http.MethodHead
	}
	if err := a.record(r, p, action, id, reason, detail); err != nil {
		a.internal(w, "audit of a "+string(action), err)
		return
	}
	h.Set("Content-Type", recording.AudioContentType(rec))
	h.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s"`, disposition, recording.AudioFile(rec)))
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.FormatInt(br.length, 10))
	code := http.StatusOK
	if ranged {
		code = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", br.start, br.start+br.length-1, size))
	}
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	start := time.Now()
	if err := rr.WriteRange(w, br.start, br.length); err != nil && r.Context().Err() == nil {
		// The header is gone: the short body (against Content-Length)
		// tells the client, and the log tells the operator.
		a.log.Error("audio stream cut", zap.String("recording", id), zap.String("range", br.String()), zap.Error(err))
		return
	}
	a.log.Debug("audio served", zap.String("recording", id), zap.String("range", br.String()), zap.Duration("took", time.Since(start)))
}

// ifRange reports whether a Range may be honoured under an If-Range
// header: absent, or the strong ETag of the audio. A date (there is no
// Last-Modified) or another tag sends the whole audio.
func ifRange(h, etag string) bool {
	h = strings.TrimSpace(h)
	return h == "" || h == etag
}

// ticketPrincipal checks an audio ticket for recording id and returns
// who it acts for, with the reason and disposition it was issued with,
// as the principal is now (a token removed since ends its tickets).
func (a *API) ticketPrincipal(w http.ResponseWriter, r *http.Request, s, id string) (*Principal, string, bool, bool) {
	ip := clientIP(r)
	if wait := a.fails.blocked(ip, time.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, errors.New("too many failed authentications from this address; try later"))
		return nil, "", false, false
	}
	tk, err := a.tickets.open(s, time.Now())
	if err == nil && tk.ID != id {
		err = fmt.Errorf("%w: issued for another recording", errBadTicket)
	}
	if err != nil {
		a.unauthorized(w, r, err)
		return nil, "", false, false
	}
	p := &Principal{Name: tk.Name, Roles: tk.Roles, Clients: tk.Clients}
	if l, ok := a.auth.(Lookup); ok {
		if p, ok = l.Principal(tk.Name); !ok {
			a.unauthorized(w, r, fmt.Errorf("%w: its token is no longer configured", errBadTicket))
			return nil, "", false, false
		}
	}
	return p, tk.Reason, tk.Download, true
}
