package sip

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// The fuzz targets take what Kiroku reads from the network: whole SIP
// datagrams through the guard, the rate limit and admission; session
// timer headers; INFO bodies. Their seed corpora live in
// testdata/fuzz/<target>/ and run as ordinary tests; `make fuzz` explores
// from them.

// fuzzServer is a server that is built but never started: admission
// needs its configuration, its rate limiter and its capacity count only.
func fuzzServer(f *testing.F) *Server {
	f.Helper()
	dir := f.TempDir()
	writeWAV(f, filepath.Join(dir, "notice.wav"), noticePCM(100*time.Millisecond))
	yaml := `sip:
  listen: ["udp://127.0.0.1:0"]
  trunks: [{name: test, cidrs: ["10.0.0.0/8"]}]
  max_calls: 10
  rate_limit: {per_source: {rate: 1, burst: 1}, global: {rate: 1000000, burst: 1000000}}
purposes:
  - {name: cs, retention: 90d}
lines:
  - {number: "` + echoLine + `", purpose: cs, notice: notice.wav, downstream: "echo:"}
`
	path := filepath.Join(dir, "kiroku.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		f.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		f.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(cfg, sp, zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// FuzzAdmit feeds a datagram through what a UDP INVITE meets: the
// guard's parse (and its stateless 400), the rate limit (and its
// stateless 503) and admission, with the session timer negotiation.
func FuzzAdmit(f *testing.F) {
	s := fuzzServer(f)
	var n atomic.Uint32
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A new source each time, so that the rate limit lets it through
		// to admission, but for every fourth input, from one source that
		// is always over its limit.
		i := n.Add(1)
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 5999)
		if i%4 == 0 {
			src = netip.MustParseAddrPort("10.255.255.255:5999")
		}
		msg, perr := sipmsg.ParseMessage(raw)
		if perr != nil {
			if res := badRequest(raw, perr); res != nil && !bytes.HasPrefix(res, []byte("SIP/2.0 400 ")) {
				t.Fatalf("got stateless answer %q", res)
			}
			return
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok || !isInitialInvite(req) {
			return
		}
		req.SetSource(src.String())
		req.SetTransport("UDP")
		if s.limitInvite(req, src.Addr(), func(res *sipmsg.Response) {
			if text := res.String(); !strings.HasPrefix(text, "SIP/2.0 503 Rate Limited\r\n") || !strings.Contains(text, "\r\nRetry-After: ") ||
				res.CallID() == nil || res.CallID().Value() != req.CallID().Value() {
				t.Fatalf("got stateless answer\n%s", text)
			}
		}) {
			return
		}
		a, code, reason, _ := s.admit(req)
		switch code {
		case 0:
			s.active.Add(-1) // release the reservation
			if a.line == nil || (a.offer == nil || a.audio.Codec == nil) != (a.lateOffer && len(req.Body()) == 0) {
				t.Fatalf("admitted without line, or offer and codec but for a delayed offer: %+v", a)
			}
			if a.session.interval < time.Duration(a.cfg.SIP.MinSE) ||
				(a.session.refresher != refresherUAC && a.session.refresher != refresherUAS) {
				t.Fatalf("admitted with session terms %+v", a.session)
			}
		case 400, 403, 404, 415, 420, statusIntervalTooSmall, 488, 503:
			if reason == "" {
				t.Fatalf("refused %d without a reason phrase", code)
			}
		default:
			t.Fatalf("got code %d %q", code, reason)
		}
	})
}

// FuzzSessionTimer: whatever Session-Expires, Min-SE and Supported say,
// the terms are refused (400, 422) or at least our minimum with a known
// refresher, and the headers we answer with parse back to them.
func FuzzSessionTimer(f *testing.F) {
	f.Fuzz(func(t *testing.T, se, minSE, supported string) {
		var hdrs []string
		for _, h := range []struct{ name, v string }{{"Session-Expires", se}, {"Min-SE", minSE}, {"Supported", supported}} {
			if h.v == "" {
				continue
			}
			if strings.ContainsAny(h.v, "\r\n") {
				return
			}
			hdrs = append(hdrs, h.name+": "+h.v)
		}
		raw := request("INVITE", echoLine+"@127.0.0.1", "127.0.0.1:5999", nil, goodSDP)
		head, body, _ := strings.Cut(raw, "\r\n\r\n")
		m, err := sipmsg.ParseMessage([]byte(strings.Join(append([]string{head}, hdrs...), "\r\n") + "\r\n\r\n" + body))
		if err != nil {
			return
		}
		const want, floor = 1800 * time.Second, 90 * time.Second
		terms, tooSmall, err := negotiateSession(m.(*sipmsg.Request), want, floor)
		if err != nil {
			if !errors.Is(err, errSessionHeader) {
				t.Fatalf("got error %v, want it to wrap errSessionHeader", err)
			}
			return
		}
		if tooSmall {
			return
		}
		if terms.interval < floor || (terms.refresher != refresherUAC && terms.refresher != refresherUAS) {
			t.Fatalf("got terms %+v", terms)
		}
		res := sipmsg.NewResponse(200, "OK")
		for _, h := range terms.headers() {
			res.AppendHeader(h)
		}
		back, err := sipmsg.ParseMessage([]byte(res.String()))
		if err != nil {
			t.Fatalf("our 200 does not parse: %v", err)
		}
		if got := termsAfterRefresh(back.(*sipmsg.Response), sessionTerms{}); got.interval != terms.interval || got.refresher != terms.refresher {
			t.Fatalf("our headers read back as %+v, want %+v", got, terms)
		}
	})
}

// FuzzParseInfoDTMF: an INFO body yields a key and a sane duration, or
// an error; unknown content types are refused as such.
func FuzzParseInfoDTMF(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		d, dur, err := ParseInfoDTMF(contentType, body)
		if err != nil {
			if contentType != "application/dtmf-relay" && contentType != "application/dtmf" && err != errUnsupportedInfo {
				t.Fatalf("content type %q: got %v, want errUnsupportedInfo", contentType, err)
			}
			return
		}
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			t.Fatalf("got key %q", d)
		}
		if dur <= 0 || dur >= 10*time.Second {
			t.Fatalf("got duration %v", dur)
		}
	})
}

// FuzzRAck: whatever a PRACK's RAck says, parsing it neither panics nor
// accepts an RSeq of 0, and a reliable provisional is acknowledged only
// by its own RSeq and the INVITE's CSeq.
func FuzzRAck(f *testing.F) {
	for _, s := range []string{"1 1 INVITE", "4294967295 1 INVITE", "0 1 INVITE", "1 1", "x y z", "", "1  2\tINVITE", "99999999999 1 INVITE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rseq, cseq, method, err := parseRAck(v)
		if err != nil {
			return
		}
		if rseq == 0 || method == "" {
			t.Fatalf("parseRAck(%q): got %d %d %q, want an RSeq above 0 and a method", v, rseq, cseq, method)
		}
		r := newReliable(7)
		n, _ := r.next()
		done, got := r.prack(rseq, cseq, method)
		if want := rseq == n && cseq == 7 && strings.EqualFold(method, "INVITE"); got != want {
			t.Fatalf("prack(%q) of RSeq %d: got %v, want %v", v, n, got, want)
		}
		if got {
			done()
			if _, again := r.prack(rseq, cseq, method); again {
				t.Fatalf("prack(%q) matched twice, want a second PRACK to match nothing", v)
			}
		}
	})
}
