package storm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
)

// scrape reads kirokud's /metrics from its control listener.
func scrape(addr string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/metrics: %s", res.Status)
	}
	return string(b), err
}

// saveProfile writes kirokud's runtime profile name (control.pprof) to path.
func saveProfile(addr, name, path string) error {
	c := &http.Client{Timeout: 90 * time.Second}
	res, err := c.Get("http://" + addr + "/debug/pprof/" + name)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", name, res.Status)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644) //nolint:gosec // a profile for reading
}

// series is one sample line of the text format: its labels and value.
type series struct {
	labels map[string]string
	value  float64
}

// samples are the sample lines of metric name.
func samples(text, name string) []series {
	var out []series
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name) || len(l) == len(name) || (l[len(name)] != '{' && l[len(name)] != ' ') {
			continue
		}
		s := series{labels: map[string]string{}}
		rest := l[len(name):]
		if strings.HasPrefix(rest, "{") {
			end := strings.Index(rest, "}")
			if end < 0 {
				continue
			}
			for _, kv := range strings.Split(rest[1:end], ",") {
				k, v, ok := strings.Cut(kv, "=")
				if ok {
					s.labels[k] = strings.Trim(v, `"`)
				}
			}
			rest = rest[end+1:]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// bucketCount is the count of histogram name's bucket le (unlabelled
// histograms).
func bucketCount(text, name, le string) float64 {
	for _, s := range samples(text, name+"_bucket") {
		if s.labels["le"] == le {
			return s.value
		}
	}
	return 0
}

// quantile estimates the q-quantile (0–1) of histogram name's series
// with label key=val from its cumulative buckets, interpolating
// linearly within a bucket as Prometheus's histogram_quantile does; NaN
// when it has no observation.
func quantile(text, name, key, val string, q float64) (float64, float64) {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for _, s := range samples(text, name+"_bucket") {
		if s.labels[key] != val {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if s.labels["le"] == "+Inf" {
			le, err = math.Inf(1), nil
		}
		if err == nil {
			bs = append(bs, bucket{le, s.value})
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return math.NaN(), 0
	}
	total := bs[len(bs)-1].n
	rank := q * total
	lo, prev := 0.0, 0.0
	for _, b := range bs {
		if b.n >= rank {
			if math.IsInf(b.le, 1) {
				return lo, total // past the last bound: its lower edge, as Prometheus does
			}
			if b.n == prev {
				return b.le, total
			}
			return lo + (b.le-lo)*(rank-prev)/(b.n-prev), total
		}
		lo, prev = b.le, b.n
	}
	return lo, total
}

// counterSum is the sum of counter name's series with label key=val
// ("" key: all of them).
func counterSum(text, name, key, val string) float64 {
	sum := 0.0
	for _, s := range samples(text, name) {
		if key == "" || s.labels[key] == val {
			sum += s.value
		}
	}
	return sum
}

// refusals counts the caller's calls answered with a final 5xx to their
// INVITE, by status line (Call-IDs counted once).
func refusals(callerLog string) map[string]int {
	seen := map[string]bool{}
	out := map[string]int{}
	for _, m := range parseMessages(callerLog) {
		if m.sent || !strings.HasPrefix(m.first, "SIP/2.0 5") || !strings.HasSuffix(m.cseq, "INVITE") || seen[m.callID] {
			continue
		}
		seen[m.callID] = true
		out[strings.TrimPrefix(m.first, "SIP/2.0 ")]++
	}
	return out
}

// outcomes counts the catalog's rows by end reason and, for those with
// no audio, why (the manifest's not_recorded, else its consent
// decision): every admitted call must say how it went.
func outcomes(recs []*catalog.Recording) []string {
	count := map[string]int{}
	for _, r := range recs {
		var m struct {
			EndReason   string `json:"end_reason"`
			NotRecorded string `json:"not_recorded"`
			Attempts    []struct {
				Status  int    `json:"status"`
				Outcome string `json:"outcome"`
				Why     string `json:"why"`
			} `json:"downstream_attempts"`
		}
		_ = json.Unmarshal(r.Manifest, &m)
		k := "end " + orNone(m.EndReason)
		if n := len(m.Attempts); n > 0 && m.Attempts[n-1].Outcome != "answered" {
			a := m.Attempts[n-1]
			k += fmt.Sprintf(" (agent: %s, status %d", a.Outcome, a.Status)
			if a.Why != "" {
				k += ", " + a.Why
			}
			k += ")"
		}
		if len(r.SilentChannels) > 0 {
			k += ", silent channel " + strings.Join(r.SilentChannels, "+")
		}
		if r.ObjectKey == "" {
			why := m.NotRecorded
			if why == "" {
				why = "decision " + r.Decision
			}
			k += ", no audio: " + why
		}
		count[k]++
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return count[keys[i]] > count[keys[j]] || count[keys[i]] == count[keys[j]] && keys[i] < keys[j]
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d× %s", count[k], k)
	}
	return out
}

// ownTimes are, from the catalog's manifests (kirokud's own clock), each
// call's stages: INVITE to the caller's ACK, ACK to the notice's first
// frame, the notice as played, and the notice's end to the INVITE sent to
// the agent (the opt-out window and the dial's set-up), and INVITE to that
// agent INVITE in all.
type ownTimes struct {
	acked, toNotice, notice, afterNotice, toAgent durations
	// openLate are the recordings whose file opened more than a second
	// after they began (open_wait_ms), with their waits; overrun the
	// recordings that lost audio past the recorder's ring.
	openLate durations
	overrun  int
}

func readOwnTimes(recs []*catalog.Recording) (t ownTimes) {
	for _, r := range recs {
		var m struct {
			StartedAt  time.Time  `json:"started_at"`
			AnsweredAt *time.Time `json:"answered_at"`
			Consent    struct {
				Notice struct {
					StartedAt *time.Time `json:"started_at"`
					EndedAt   *time.Time `json:"ended_at"`
				} `json:"notice"`
			} `json:"consent"`
			Attempts []struct {
				StartedAt *time.Time `json:"started_at"`
			} `json:"downstream_attempts"`
			Recording *struct {
				OpenWaitMs int64 `json:"open_wait_ms"`
				Channels   []struct {
					Overrun uint64 `json:"overrun"`
				} `json:"channels"`
			} `json:"recording"`
		}
		if json.Unmarshal(r.Manifest, &m) != nil {
			continue
		}
		if rec := m.Recording; rec != nil {
			if rec.OpenWaitMs > 0 {
				t.openLate = append(t.openLate, time.Duration(rec.OpenWaitMs)*time.Millisecond)
			}
			for _, c := range rec.Channels {
				if c.Overrun > 0 {
					t.overrun++
					break
				}
			}
		}
		n := m.Consent.Notice
		if m.AnsweredAt != nil {
			t.acked = append(t.acked, m.AnsweredAt.Sub(m.StartedAt))
			if n.StartedAt != nil {
				t.toNotice = append(t.toNotice, n.StartedAt.Sub(*m.AnsweredAt))
			}
		}
		if n.StartedAt != nil && n.EndedAt != nil {
			t.notice = append(t.notice, n.EndedAt.Sub(*n.StartedAt))
		}
		if len(m.Attempts) > 0 && m.Attempts[0].StartedAt != nil {
			t.toAgent = append(t.toAgent, m.Attempts[0].StartedAt.Sub(m.StartedAt))
			if n.EndedAt != nil {
				t.afterNotice = append(t.afterNotice, m.Attempts[0].StartedAt.Sub(*n.EndedAt))
			}
		}
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
