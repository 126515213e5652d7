package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (d *proc) scrape(t *testing.T) string {
	t.Helper()
	res, err := http.Get(d.controlURL(t) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestMetrics: a scrape during a call counts it in progress; after it,
// the call, its SIP responses, its RTP and its stored recording are
// counted.
func TestMetrics(t *testing.T) {
	d := startDaemon(t, "5s", "0120000001")
	p := d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": tonePcap(t, 2*time.Second)})
	d.waitRecording(t)
	if m := d.scrape(t); !strings.Contains(m, "kiroku_calls_in_progress 1\n") {
		t.Errorf("during the call, /metrics lacks kiroku_calls_in_progress 1:\n%s", grep(m, "kiroku_"))
	}
	wantSuccess(t, p)
	refused := d.call(t, "uac_expect.xml", "0120999999", 0, map[string]string{"expect": "404"})
	wantSuccess(t, refused)
	want := []string{
		`kiroku_calls_total{decision="notified",line="0120000001"} 1`,
		`kiroku_sip_responses_total{code="200",method="INVITE"} 1`,
		`kiroku_sip_responses_total{code="404",method="INVITE"} 1`,
		`kiroku_recordings_total{outcome="spooled"} 1`,
		`kiroku_recordings_total{outcome="stored"} 1`,
		`kiroku_upload_duration_seconds_count 1`,
		`kiroku_calls_in_progress 0`,
		`kiroku_spool_pending 0`,
	}
	var m string
	deadline := time.Now().Add(15 * time.Second)
	for {
		m = d.scrape(t)
		missing := ""
		for _, w := range want {
			if !strings.Contains(m, w+"\n") {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s:\n%s", missing, grep(m, "kiroku_"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(m, `kiroku_rtp_packets_total{leg="caller",outcome="received"} `) ||
		strings.Contains(m, `kiroku_rtp_packets_total{leg="caller",outcome="received"} 0`+"\n") {
		t.Errorf("no RTP counted:\n%s", grep(m, "kiroku_rtp"))
	}
}

func grep(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
