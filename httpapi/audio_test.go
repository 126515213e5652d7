package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestParseRange pins the Range rules, including the cases net/http's
// ServeContent gets wrong (golang/go#81262, #81508, #81378).
func TestParseRange(t *testing.T) {
	const size = 1000
	const big = "99999999999999999999999999"
	for _, tc := range []struct {
		h         string
		start, n  int64
		ranged    bool
		unsatisfy bool
	}{
		{h: "", start: 0, n: size},
		{h: "bytes=0-0", start: 0, n: 1, ranged: true},
		{h: "bytes=0-499", start: 0, n: 500, ranged: true},
		{h: "bytes=500-", start: 500, n: 500, ranged: true},
		{h: "bytes=999-999", start: 999, n: 1, ranged: true},
		{h: "bytes=990-5000", start: 990, n: 10, ranged: true},
		{h: "bytes=-10", start: 990, n: 10, ranged: true},
		{h: "bytes=-5000", start: 0, n: size, ranged: true},
		{h: "bytes=-" + big, start: 0, n: size, ranged: true},
		{h: "bytes=0-" + big, start: 0, n: size, ranged: true},
		{h: "bytes=000010-000019", start: 10, n: 10, ranged: true},
		{h: "Bytes=1-2", start: 1, n: 2, ranged: true},
		{h: "BYTES=1-2", start: 1, n: 2, ranged: true},
		{h: "bytes= 1-2 ", start: 1, n: 2, ranged: true},
		{h: "bytes=1-2,", start: 1, n: 2, ranged: true},
		{h: "bytes=-0", ranged: true, unsatisfy: true},
		{h: "bytes=1000-", ranged: true, unsatisfy: true},
		{h: "bytes=1000-1001", ranged: true, unsatisfy: true},
		{h: "bytes=" + big + "-", ranged: true, unsatisfy: true},
		{h: "bytes=5-1", ranged: true, unsatisfy: true},
		{h: "bytes=0-1,5-6", ranged: true, unsatisfy: true},
		{h: "bytes=0-1,0-1,0-1,0-1", ranged: true, unsatisfy: true},
		{h: "bytes=" + strings.Repeat("0-,", 100), ranged: true, unsatisfy: true},
		{h: "bytes=--2", ranged: true, unsatisfy: true},
		{h: "bytes=-1-2", ranged: true, unsatisfy: true},
		{h: "bytes=+1-2", ranged: true, unsatisfy: true},
		{h: "bytes=1 -2", ranged: true, unsatisfy: true},
		{h: "bytes=0x10-", ranged: true, unsatisfy: true},
		{h: "bytes=a-b", ranged: true, unsatisfy: true},
		{h: "bytes=", ranged: true, unsatisfy: true},
		{h: "bytes=-", ranged: true, unsatisfy: true},
		{h: "bytes=5", ranged: true, unsatisfy: true},
		{h: "bytes", ranged: true, unsatisfy: true},
		{h: "items=0-5", start: 0, n: size},
		{h: "seconds=1-2", start: 0, n: size},
		{h: "nonsense", start: 0, n: size},
	} {
		t.Run(tc.h, func(t *testing.T) {
			br, ranged, err := parseRange(tc.h, size)
			if tc.unsatisfy {
				if err == nil {
					t.Fatalf("got %v, want unsatisfiable", br)
				}
				return
			}
			if err != nil || ranged != tc.ranged || br.start != tc.start || br.length != tc.n {
				t.Fatalf("got %+v ranged=%v err=%v, want start %d length %d ranged=%v", br, ranged, err, tc.start, tc.n, tc.ranged)
			}
		})
	}
	if _, _, err := parseRange("bytes=0-", 0); err == nil {
		t.Error("a range of an empty representation: want unsatisfiable")
	}
}

// TestAudioRange: over real HTTP, the audio comes back decrypted, whole or
// by range, with the right headers; abusive ranges are answered 416 or
// ignored; every response with audio is audited with its range.
func TestAudioRange(t *testing.T) {
	e := newEnv(t)
	id := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 5})[0] // 160 kB: three crypt chunks
	wav := e.wavs[id]
	size := int64(len(wav))
	path := "/api/v1/recordings/" + id + "/audio?reason=quality+check"
	r, _ := e.cat.Get(t.Context(), id)
	etag := `"` + r.AudioSHA256 + `"`
	sz := strconv.FormatInt(size, 10)
	for _, tc := range []struct {
		name, rng, ifRange string
		code               int
		from, to           int64 // expected body wav[from:to]
	}{
		{name: "whole", code: 200, from: 0, to: size},
		{name: "header", rng: "bytes=0-43", code: 206, from: 0, to: 44},
		{name: "across a chunk boundary", rng: "bytes=65530-65545", code: 206, from: 65530, to: 65546},
		{name: "open end", rng: "bytes=100000-", code: 206, from: 100000, to: size},
		{name: "suffix", rng: "bytes=-100", code: 206, from: size - 100, to: size},
		{name: "suffix longer than the audio", rng: "bytes=-99999999999", code: 206, from: 0, to: size},
		{name: "end past the audio", rng: "bytes=10-99999999999999999999999", code: 206, from: 10, to: size},
		{name: "unit in capitals", rng: "BYTES=1-2", code: 206, from: 1, to: 3},
		{name: "unknown unit ignored", rng: "items=0-5", code: 200, from: 0, to: size},
		{name: "If-Range matching", rng: "bytes=5-9", ifRange: etag, code: 206, from: 5, to: 10},
		{name: "If-Range stale", rng: "bytes=5-9", ifRange: `"0000"`, code: 200, from: 0, to: size},
		{name: "If-Range date", rng: "bytes=5-9", ifRange: "Wed, 21 Oct 2015 07:28:00 GMT", code: 200, from: 0, to: size},
		{name: "empty suffix", rng: "bytes=-0", code: 416},
		{name: "start past the end", rng: "bytes=" + sz + "-", code: 416},
		{name: "reversed", rng: "bytes=9-5", code: 416},
		{name: "two ranges", rng: "bytes=0-1,10-11", code: 416},
		{name: "many overlapping ranges", rng: "bytes=" + strings.Repeat("0-99999,", 400), code: 416},
		{name: "garbage", rng: "bytes=x-y", code: 416},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			hdr := map[string]string{}
			if tc.rng != "" {
				hdr["Range"] = tc.rng
			}
			if tc.ifRange != "" {
				hdr["If-Range"] = tc.ifRange
			}
			res, body := e.do("sup", "GET", path, hdr)
			if res.StatusCode != tc.code {
				t.Fatalf("got %d %s, want %d", res.StatusCode, body, tc.code)
			}
			if res.Header.Get("Accept-Ranges") != "bytes" || res.Header.Get("ETag") != etag {
				t.Errorf("got Accept-Ranges %q ETag %q, want bytes and %s", res.Header.Get("Accept-Ranges"), res.Header.Get("ETag"), etag)
			}
			if tc.code == 416 {
				if res.Header.Get("Content-Range") != "bytes */"+sz {
					t.Errorf("got Content-Range %q, want bytes */%s", res.Header.Get("Content-Range"), sz)
				}
				if e.head() != before {
					t.Error("a 416 was audited as an access")
				}
				return
			}
			if !bytes.Equal(body, wav[tc.from:tc.to]) {
				t.Fatalf("got %d bytes, want wav[%d:%d] (%d bytes)", len(body), tc.from, tc.to, tc.to-tc.from)
			}
			if res.Header.Get("Content-Type") != "audio/wav" || res.Header.Get("Content-Length") != strconv.FormatInt(tc.to-tc.from, 10) {
				t.Errorf("got Content-Type %q Content-Length %q", res.Header.Get("Content-Type"), res.Header.Get("Content-Length"))
			}
			wantCR := ""
			if tc.code == 206 {
				wantCR = fmt.Sprintf("bytes %d-%d/%d", tc.from, tc.to-1, size)
			}
			if res.Header.Get("Content-Range") != wantCR {
				t.Errorf("got Content-Range %q, want %q", res.Header.Get("Content-Range"), wantCR)
			}
			got := e.audit(before)
			want := fmt.Sprintf(`"range":"%d-%d"`, tc.from, tc.to-1)
			if len(got) != 1 || got[0].Action != "play" || got[0].Actor != "sup" || got[0].Reason != "quality check" || !strings.Contains(got[0].Detail, want) {
				t.Fatalf("got audit %+v, want one play entry with %s", got, want)
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		res, body := e.do("sup", "HEAD", path, map[string]string{"Range": "bytes=0-9"})
		if res.StatusCode != 206 || len(body) != 0 || res.Header.Get("Content-Length") != "10" {
			t.Fatalf("got %d, %d bytes, Content-Length %q", res.StatusCode, len(body), res.Header.Get("Content-Length"))
		}
	})
	t.Run("download", func(t *testing.T) {
		before := e.head()
		res, body := e.do("sup", "GET", path+"&download=1", nil)
		if res.StatusCode != 200 || !bytes.Equal(body, wav) || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("got %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
		}
		if got := e.audit(before); len(got) != 1 || got[0].Action != "download" {
			t.Fatalf("got audit %+v", got)
		}
	})
}

// TestReasonRequired: no audio without a reason; the reason may come as a
// percent-encoded header (any language) or a query parameter.
func TestReasonRequired(t *testing.T) {
	e := newEnv(t)
	id := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 1})[0]
	base := "/api/v1/recordings/" + id + "/audio"
	for _, tc := range []struct {
		name, q string
		hdr     map[string]string
	}{
		{name: "none"},
		{name: "empty", q: "?reason="},
		{name: "blank", q: "?reason=+++"},
		{name: "blank header", hdr: map[string]string{reasonHeader: "%20"}},
		{name: "control character", q: "?reason=a%07b"},
		{name: "too long", q: "?reason=" + strings.Repeat("x", maxReason+1)},
		{name: "bad escape in header", hdr: map[string]string{reasonHeader: "100%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.head()
			res, b := e.do("sup", "GET", base+tc.q, tc.hdr)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "reason") && !strings.Contains(string(b), reasonHeader) {
				t.Fatalf("got %d %s, want 400 about the reason", res.StatusCode, b)
			}
			if e.head() != before {
				t.Error("a refused play was audited")
			}
		})
	}
	before := e.head()
	res, _ := e.do("sup", "GET", base, map[string]string{reasonHeader: url.PathEscape("苦情の確認 #12"), "Range": "bytes=0-0"})
	if res.StatusCode != http.StatusPartialContent {
		t.Fatalf("got %d", res.StatusCode)
	}
	if got := e.audit(before); len(got) != 1 || got[0].Reason != "苦情の確認 #12" {
		t.Fatalf("got audit %+v", got)
	}
	if res, b := e.do("", "GET", base+"?reason=x", nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: got %d %s, want 401", res.StatusCode, b)
	}
	opted := e.seed(rec{purpose: "cs-quality", caller: "0312345678", decision: "opted-out"})[0]
	if res, b := e.do("sup", "GET", "/api/v1/recordings/"+opted+"/audio?reason=x", nil); res.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "no audio") {
		t.Errorf("opted-out call: got %d %s, want 404 no audio", res.StatusCode, b)
	}
}

// TestAudioTickets: a ticket opens one recording's audio without the
// token, for its actor and reason, until it expires or its token goes.
func TestAudioTickets(t *testing.T) {
	e := newEnv(t)
	w := seedWorld(e)
	ticketFor := func(name, id, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/recordings/"+id+"/audio-ticket", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token(name))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			URL string `json:"url"`
		}
		decodeJSON(res.Body, &out)
		return res.StatusCode, out.URL
	}
	if code, _ := ticketFor("sup", w.quality, `{}`); code != http.StatusBadRequest {
		t.Errorf("ticket without reason: got %d, want 400", code)
	}
	if code, _ := ticketFor("sup", w.complaint, `{"reason":"x"}`); code != http.StatusNotFound {
		t.Errorf("ticket for another purpose: got %d, want 404", code)
	}
	if code, _ := ticketFor("sup", w.quality, `{"reason":"x","evil":1}`); code != http.StatusBadRequest {
		t.Errorf("ticket with an unknown field: got %d, want 400", code)
	}
	code, u := ticketFor("sup", w.quality, `{"reason":"coaching"}`)
	if code != http.StatusOK || !strings.Contains(u, "ticket=") {
		t.Fatalf("got %d %q", code, u)
	}
	before := e.head()
	res, body := e.do("", "GET", u, map[string]string{"Range": "bytes=0-3"})
	if res.StatusCode != http.StatusPartialContent || string(body) != "RIFF" {
		t.Fatalf("ticket fetch: got %d %q", res.StatusCode, body)
	}
	if got := e.audit(before); len(got) != 1 || got[0].Actor != "sup" || got[0].Reason != "coaching" || !strings.Contains(got[0].Detail, `"via":"ticket"`) {
		t.Fatalf("got audit %+v", got)
	}
	other := strings.Replace(u, w.quality, w.training, 1)
	if res, _ := e.do("", "GET", other, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("ticket on another recording: got %d, want 401", res.StatusCode)
	}
	tampered := u[:len(u)-3] + "AAA"
	if res, _ := e.do("", "GET", tampered, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered ticket: got %d, want 401", res.StatusCode)
	}
	// The ticket's token removed by a reload: the ticket stops working.
	e.cfg.Store(testConfig(t, map[string][]string{"po": {"privacy-officer"}}))
	if res, _ := e.do("", "GET", u, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("ticket of a removed token: got %d, want 401", res.StatusCode)
	}
	// An expired ticket is refused.
	tk, _ := e.api.tickets.issue(ticket{Name: "po", Roles: []string{"privacy-officer"}, ID: w.quality, Reason: "x"}, time.Now().Add(-time.Hour))
	if res, _ := e.do("", "GET", "/api/v1/recordings/"+w.quality+"/audio?ticket="+tk, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired ticket: got %d, want 401", res.StatusCode)
	}
}
