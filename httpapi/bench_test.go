package httpapi

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/spool"
)

// benchRecordings is how many recordings BenchmarkSearch fills the
// catalog with (KIROKU_BENCH_RECORDINGS overrides; make bench-api uses
// 1,000,000).
func benchRecordings(b *testing.B) int {
	if s := os.Getenv("KIROKU_BENCH_RECORDINGS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("KIROKU_BENCH_RECORDINGS=%q: want a number of at least 1000", s)
		}
		return n
	}
	return 100000
}

// fill writes n recordings spread over the year before now: 20 lines,
// three purposes (70 % cs-quality, 20 % training, 10 % complaints),
// 90 % notified, 8 % opted out, 2 % hung up during the notice, call
// lengths of about three minutes on average, 200,000 callers, 0.1 %
// restricted. It returns one caller number that is used.
func fill(b *testing.B, cat *catalog.Catalog, n int, now time.Time) string {
	rng := mrand.New(mrand.NewPCG(1, 2))
	manifest := func(id, caller string, started time.Time) json.RawMessage {
		m := spool.Manifest{Version: 1, ID: id, SIPCallID: id + "@carrier.example", State: spool.StateSpooled, Caller: caller,
			Dialled: "0120000000", Line: "0120000000", Purpose: "cs-quality", Trunk: "carrier", Source: "udp:198.51.100.7:5060",
			Downstream: "sip:acd@192.0.2.20:5060", StartedAt: started,
			Consent: spool.Consent{Decision: "notified", OptOutDigit: "9", Notice: spool.Notice{File: "notice-ja.wav", SHA256: "ab", Duration: 9.5, Completed: true}},
			Recording: &spool.Recording{File: id + ".wav", Format: spool.RecordingFormat, Duration: 180, Size: 5760044, SHA256: "cd",
				Channels: []spool.ChannelStats{{Side: "caller", Codec: "PCMU", Packets: 9000}, {Side: "agent", Codec: "PCMU", Packets: 9000}}}}
		j, _ := json.Marshal(m)
		return j
	}
	key := make([]byte, 60)
	rand.Read(key)
	var sample string
	start := time.Now()
	const batch = 20000
	for done := 0; done < n; {
		err := cat.Tx(b.Context(), func(tx *sql.Tx) error {
			for i := 0; i < batch && done < n; i, done = i+1, done+1 {
				started := now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
				id := uuidV7At(started, rng)
				caller := fmt.Sprintf("03%08d", rng.IntN(200000))
				r := &catalog.Recording{ID: id, SIPCallID: id + "@carrier.example", StartedAt: started, Caller: caller,
					Dialled: fmt.Sprintf("01200000%02d", rng.IntN(20)), Agent: "sip:acd@192.0.2.20:5060",
					KeyID: "k1", WrappedKey: key, State: catalog.StateStored, StoredAt: started.Add(4 * time.Minute),
					RetainUntil: started.AddDate(1, 0, 0), Consent: json.RawMessage(`{"decision":"notified","notice":{"file":"notice-ja.wav","completed":true}}`)}
				r.Line = r.Dialled
				switch p := rng.IntN(10); {
				case p < 7:
					r.Purpose = "cs-quality"
				case p < 9:
					r.Purpose = "training"
				default:
					r.Purpose = "complaints"
				}
				switch d := rng.IntN(50); {
				case d < 45:
					r.Decision = spool.Notified
					r.Duration = time.Duration(-math.Log(1-rng.Float64())*180) * time.Second
					r.ObjectKey = r.Purpose + "/" + started.Format("2006/01/02") + "/" + id + ".wav"
					r.Size, r.SHA256, r.AudioSHA256 = 5760100, "cd", "ef"
				case d < 49:
					r.Decision = spool.OptedOut
				default:
					r.Decision = spool.HungUpDuringNotice
				}
				if rng.IntN(1000) == 0 {
					r.State = catalog.StateRestricted
				}
				if done >= n/2 && sample == "" && r.Purpose == "cs-quality" && r.State == catalog.StateStored {
					sample = caller
				}
				r.Manifest = manifest(id, caller, started)
				if err := catalog.PutRecording(b.Context(), tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("filled %d recordings in %s", n, time.Since(start).Round(time.Second))
	return sample
}

// BenchmarkSearch measures GET /api/v1/recordings over real HTTP (query,
// JSON and the audit entry each search writes) and catalog.Search alone,
// on a catalog of benchRecordings recordings, for typical filters. It
// reports the median and 99th percentile in milliseconds.
func BenchmarkSearch(b *testing.B) {
	e := newEnv(b)
	now := time.Now()
	n := benchRecordings(b)
	caller := fill(b, e.cat, n, now)
	day := now.AddDate(0, 0, -40).Truncate(24 * time.Hour)
	var first searchJSON
	e.get("multi", "/api/v1/recordings?limit=50", http.StatusOK, &first)
	for i := 0; i < 20 && first.NextCursor != ""; i++ { // 20 pages deep
		e.get("multi", "/api/v1/recordings?limit=50&cursor="+url.QueryEscape(first.NextCursor), http.StatusOK, &first)
	}
	cases := []struct{ name, token, q string }{
		{"newest", "multi", ""},
		{"supervisor newest", "sup", ""},
		{"last 7 days", "multi", "from=" + url.QueryEscape(now.AddDate(0, 0, -7).Format(time.RFC3339))},
		{"line and day", "multi", "line=0120000007&from=" + url.QueryEscape(day.Format(time.RFC3339)) + "&to=" + url.QueryEscape(day.Add(24*time.Hour).Format(time.RFC3339))},
		{"purpose", "multi", "purpose=complaints"},
		{"opted out in 30 days", "multi", "decision=opted-out&from=" + url.QueryEscape(now.AddDate(0, 0, -30).Format(time.RFC3339))},
		{"longer than 10 min", "multi", "min_duration=600"},
		{"caller", "po", "caller=" + caller},
		{"oldest first in a month", "multi", "sort=started_at&from=" + url.QueryEscape(day.Format(time.RFC3339)) + "&to=" + url.QueryEscape(day.AddDate(0, 1, 0).Format(time.RFC3339))},
		{"page 21", "multi", "cursor=" + url.QueryEscape(first.NextCursor)},
		{"newest, counted", "multi", "count=1"},
		{"line and day, counted", "multi", "count=1&line=0120000007&from=" + url.QueryEscape(day.Format(time.RFC3339)) + "&to=" + url.QueryEscape(day.Add(24*time.Hour).Format(time.RFC3339))},
	}
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
		b.ReportMetric(0, "ns/op")
	}
	for _, c := range cases {
		b.Run("http/"+c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			var res searchJSON
			for b.Loop() {
				t0 := time.Now()
				e.get(c.token, "/api/v1/recordings?limit=50&"+c.q, http.StatusOK, &res)
				lat = append(lat, time.Since(t0))
			}
			if len(res.Recordings) == 0 {
				b.Fatalf("%s: no results; the benchmark would measure nothing", c.name)
			}
			report(b, lat)
		})
	}
	// The same searches straight on the catalog: the query's share.
	cfg := e.cfg.Load()
	for _, c := range cases {
		b.Run("catalog/"+c.name, func(b *testing.B) {
			q, _ := url.ParseQuery(c.q)
			s, _, _, err := searchOf(q, cfg)
			if err != nil {
				b.Fatal(err)
			}
			sc := policyOf(cfg).Search(access.Principal{Roles: testTokens[c.token]})
			s.Visible, s.Restricted, s.Limit = sc.Visible, sc.Privacy, 51
			if s.Caller != "" {
				s.Visible = sc.Privacy
			}
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				if _, err := e.cat.Search(b.Context(), s); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			report(b, lat)
		})
	}
}

// uuidV7At makes a UUIDv7 for time t, as kirokud gives calls at their
// start (google/uuid v1.6 has no NewV7 at a given time).
func uuidV7At(t time.Time, rng *mrand.Rand) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	for i := 6; i < 16; i++ {
		u[i] = byte(rng.Uint32())
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}
