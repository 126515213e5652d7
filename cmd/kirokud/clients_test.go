package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	bin "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// clientConfigYAML is kirokud's configuration for the client tests: own
// line 0120000001, acme's line 0120000002 (left out with acmeLine
// false), the API with an admin, a supervisor and acme's supervisor, and
// the store in srv's bucket.
func clientConfigYAML(d *proc, srv *s3test.Server, acmeLine bool) string {
	tok := func(name, roles, clients string) string {
		sum := sha256.Sum256([]byte(apiToken(name)))
		return fmt.Sprintf("    - {name: %s, roles: [%s], clients: [%s], sha256: %s}\n", name, roles, clients, hex.EncodeToString(sum[:]))
	}
	lines := fmt.Sprintf(lineYAML, "0120000001")
	if acmeLine {
		lines += `  - {number: "0120000002", purpose: cs-quality, client: acme, notice: notice.wav, downstream: "echo:"}` + "\n"
	}
	return fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
  rtp_ports: 35000-35999
  drain_timeout: 5s
data_dir: data
log: {format: json, level: debug}
control: {listen: "127.0.0.1:0"}
storage:
  backend: s3
  s3: {endpoint: %q, bucket: %q, region: %q}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor, admin, privacy-officer]}
clients:
  - {id: acme, name: ACME 株式会社, limits: {retention: 30d}}
api:
  listen: "127.0.0.1:0"
  tokens:
%s%s%slines:
%s`, d.port, srv.Endpoint, srv.Bucket, srv.Region, tok("adm", "admin", ""), tok("sup", "supervisor", "")+tok("acme-po", "privacy-officer", "acme"), tok("acme-sup", "supervisor", "acme"), lines)
}

// seedSpool writes n finished calls of acme, with audio, into the spool
// of a kirokud not yet started, and returns their ids.
func seedSpool(t *testing.T, dir string, n int) []string {
	t.Helper()
	sp, err := spool.Open(filepath.Join(dir, "data", "spool"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-24 * time.Hour)
	var ids []string
	for i := range n {
		id := uuid.Must(uuid.NewV7()).String()
		path := sp.RecordingPath(id)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := wav.NewWriter(f, 8000, 2)
		frames := 8000 * 4
		pcm := make([]byte, 4*frames)
		for j := range 2 * frames {
			bin.LittleEndian.PutUint16(pcm[2*j:], uint16(int16(5000*math.Sin(float64(j*(i+1))/7))))
		}
		w.Write(pcm)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		b, _ := os.ReadFile(path)
		sum := sha256.Sum256(b)
		started := start.Add(time.Duration(i) * time.Minute)
		ended := started.Add(time.Minute)
		m := &spool.Manifest{ID: id, State: spool.StateSpooled, Caller: fmt.Sprintf("03%08d", i), Dialled: "0120000002",
			Line: "0120000002", Purpose: "cs-quality", Client: "acme", StartedAt: started, EndedAt: &ended,
			Consent:   spool.Consent{Decision: spool.Notified, Notice: spool.Notice{File: "notice.wav", Completed: true}},
			Recording: &spool.Recording{File: id + ".wav", Format: spool.RecordingFormat, Duration: 4, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}}
		if err := sp.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// apiJSON sends a JSON request as name to the API (from any goroutine).
func apiJSON(ctx context.Context, api, name, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, api+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+apiToken(name))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func apiURL(t *testing.T, d *proc) string {
	t.Helper()
	m := apiRE.FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatal("kirokud did not log its API address")
	}
	return "http://" + m[1]
}

// TestContractEndKill9: a real call on acme's line is seen in progress
// only by acme's token and stored under acme/ with its tag; a contract
// end is refused while the line still runs for acme; kirokud is killed
// (SIGKILL) in the middle of returning acme's recordings into another
// bucket; at that point nothing unverified is destroyed; after a restart
// the same run resumes and completes, keeping the held recording, and
// every returned copy reads back as recorded.
func TestContractEndKill9(t *testing.T) {
	srv := s3test.Start(t)
	cli := srv.Client(t)
	if err := cli.MakeBucket(t.Context(), "acme-returns", minio.MakeBucketOptions{Region: srv.Region}); err != nil {
		t.Fatal(err)
	}
	d := prepare(t, "5s")
	cfgPath := filepath.Join(d.dir, "kiroku.yaml")
	if err := os.WriteFile(cfgPath, []byte(clientConfigYAML(d, srv, true)), 0o600); err != nil {
		t.Fatal(err)
	}
	seeded := seedSpool(t, d.dir, 40)
	d.env = []string{s3.EnvAccessKey + "=" + srv.AccessKey, s3.EnvSecretKey + "=" + srv.SecretKey}
	d.start(t)
	api := apiURL(t, d)

	// A call on acme's line: in progress, only acme's token sees it.
	p := d.call(t, "uac_pcap.xml", "0120000002", 3*time.Second, map[string]string{"pcap": tonePcap(t, 3*time.Second)})
	callID := d.waitRecording(t)
	for name, want := range map[string]bool{"acme-sup": true, "sup": false, "adm": false} {
		code, b, err := apiJSON(t.Context(), api, name, "GET", "/api/v1/calls", nil)
		if err != nil || code != 200 || strings.Contains(string(b), callID) != want {
			t.Errorf("%s: calls in progress: %d %s, want acme's call listed: %v", name, code, b, want)
		}
	}
	wantSuccess(t, p)
	cat := d.catalog(t)
	waitFor(t, "every recording stored", func() bool { n, _ := cat.Count(t.Context()); return n == len(seeded)+1 })
	rec, err := cat.Get(t.Context(), callID)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := cli.GetObjectTagging(t.Context(), srv.Bucket, rec.ObjectKey, minio.GetObjectTaggingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.ObjectKey, "acme/cs-quality/") || rec.Client != "acme" || tags.ToMap()["client"] != "acme" ||
		!rec.RetainUntil.Equal(rec.StartedAt.AddDate(0, 0, 30)) {
		t.Errorf("the call on acme's line: key %s, client %q, tags %v, retain-until %v", rec.ObjectKey, rec.Client, tags.ToMap(), rec.RetainUntil)
	}

	target := map[string]any{"target": map[string]any{"kind": "s3", "bucket": "acme-returns", "prefix": "acme/2026"}}
	code, b, _ := apiJSON(t.Context(), api, "adm", "POST", "/api/v1/clients/acme/contract-end", target)
	if code != http.StatusConflict || !strings.Contains(string(b), "0120000002 are still run for client acme") {
		t.Fatalf("contract end while the line runs for acme: got %d %s, want 409", code, b)
	}
	if err := os.WriteFile(cfgPath, []byte(clientConfigYAML(d, srv, false)), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration reloaded")
	held := seeded[7]
	if code, b, err := apiJSON(t.Context(), api, "acme-po", "POST", "/api/v1/holds", map[string]any{"ids": []string{held}, "on": true, "reason": "訴訟"}); code != 200 {
		t.Fatalf("hold: %d %s %v", code, b, err)
	}
	recorded := map[string]string{} // id → audio SHA-256 as recorded
	recs, _ := cat.List(t.Context(), catalog.Filter{Client: "acme", Limit: 1000})
	for _, r := range recs {
		recorded[r.ID] = r.AudioSHA256
	}
	if len(recorded) != len(seeded)+1 {
		t.Fatalf("got %d acme recordings, want %d", len(recorded), len(seeded)+1)
	}
	var plan contract.Plan
	code, b, _ = apiJSON(t.Context(), api, "adm", "GET", "/api/v1/clients/acme/contract-end", nil)
	if json.Unmarshal(b, &plan); code != 200 || plan.Recordings != len(recorded) || plan.Held != 1 || len(plan.Blockers) != 0 {
		t.Fatalf("plan: %d %s", code, b)
	}

	// Run, and kill -9 once a few recordings are verified as returned.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go apiJSON(ctx, api, "adm", "POST", "/api/v1/clients/acme/contract-end", target)
	verified := func() int {
		es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Action: "contract-end-verify", Limit: 1000})
		return len(es)
	}
	waitFor(t, "a few recordings returned", func() bool { return verified() >= 3 })
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil
	cancel()

	runs, err := catalog.ListContractEnds(t.Context(), cat.DB())
	if err != nil || len(runs) != 1 || runs[0].FinishedAt != nil {
		t.Fatalf("after the kill: runs %+v %v, want one unfinished", runs, err)
	}
	run := runs[0]
	counts, _ := catalog.ContractEndCounts(t.Context(), cat.DB(), run.ID)
	t.Logf("at the kill: items %v", counts)
	if counts[catalog.ItemPending] == 0 {
		t.Fatalf("the run got through every recording before the kill (%v): nothing was interrupted", counts)
	}
	// Nothing whose copy was not verified is destroyed: every recording
	// missing from the catalog has a verified item, and its copy in the
	// return bucket reads back as recorded.
	checkReturned := func(when string) {
		t.Helper()
		for id, want := range recorded {
			_, err := cat.Get(t.Context(), id)
			if err == nil {
				continue
			}
			its, _ := catalog.ContractEndItems(t.Context(), cat.DB(), run.ID, "", 1000)
			i := slices.IndexFunc(its, func(it *catalog.ContractEndItem) bool { return it.Recording == id })
			if i < 0 || its[i].VerifiedAt == nil {
				t.Errorf("%s: recording %s destroyed without a verified return", when, id)
				continue
			}
			o, err := cli.GetObject(t.Context(), "acme-returns", "acme/2026/recordings/"+id+".wav", minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, o)
			o.Close()
			if got := hex.EncodeToString(h.Sum(nil)); err != nil || got != want {
				t.Errorf("%s: returned copy of %s: sha256 %s %v, recorded %s", when, id, got, err, want)
			}
		}
	}
	checkReturned("after the kill")

	n := d.restart(t)
	api = apiURL(t, n)
	code, b, err = apiJSON(t.Context(), api, "adm", "POST", "/api/v1/clients/acme/contract-end", target)
	if err != nil || code != 200 {
		t.Fatalf("rerun: %d %s %v", code, b, err)
	}
	var cert contract.Certificate
	json.Unmarshal(b, &cert)
	c := cert.Counts
	if cert.Run != run.ID || c.Recordings != plan.Recordings || c.Returned != plan.Recordings || c.Held != 1 ||
		c.Destroyed != plan.ToDestroy || c.NotReturned != 0 {
		t.Errorf("got certificate of run %s with %+v, want run %s with the plan's %+v", cert.Run, c, run.ID, plan)
	}
	if len(cert.Held) != 1 || cert.Held[0].ID != held {
		t.Errorf("got held %+v, want %s", cert.Held, held)
	}
	checkReturned("after the rerun")
	for _, r := range cert.Returned {
		if r.AudioSHA256 != recorded[r.ID] {
			t.Errorf("certificate: %s returned with sha256 %s, recorded %s", r.ID, r.AudioSHA256, recorded[r.ID])
		}
	}
	var left int
	for o := range cli.ListObjects(t.Context(), srv.Bucket, minio.ListObjectsOptions{Prefix: "acme/", Recursive: true}) {
		if o.Err == nil {
			left++
		}
	}
	if left != 2 {
		t.Errorf("got %d objects of acme left in the bucket, want the held recording's 2", left)
	}
	if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Action: "contract-end-resume"}); len(es) != 1 || es[0].Actor != "adm" {
		t.Errorf("got resume entries %+v", es)
	}
	if _, err := audit.Verify(t.Context(), cat.DB()); err != nil {
		t.Errorf("audit chain after kill -9 and rerun: %v", err)
	}
}
