package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/pgtest"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/recording"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// startS3Daemon runs kirokud storing into srv's bucket.
func startS3Daemon(t *testing.T, srv *s3test.Server, lines ...string) *proc {
	t.Helper()
	d := prepare(t, "5s", lines...)
	f, err := os.OpenFile(filepath.Join(d.dir, "kiroku.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "storage:\n  backend: s3\n  s3: {endpoint: %q, bucket: %q, region: %q}\n", srv.Endpoint, srv.Bucket, srv.Region)
	f.Close()
	d.env = []string{s3.EnvAccessKey + "=" + srv.AccessKey, s3.EnvSecretKey + "=" + srv.SecretKey}
	return d.start(t)
}

// start runs a prepared kirokud and waits until it is ready.
func (d *proc) start(t *testing.T) *proc {
	t.Helper()
	d.cmd = exec.Command(binary, "-config", filepath.Join(d.dir, "kiroku.yaml"))
	d.cmd.Env = append(os.Environ(), d.env...)
	d.cmd.SysProcAttr = d.attr
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("kirokud log:\n%s", d.log.String())
		}
	})
	d.waitLog(t, "kirokud ready")
	return d
}

// objects lists the bucket.
func objects(t *testing.T, srv *s3test.Server) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range srv.Client(t).ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if !strings.HasPrefix(o.Key, "audit/") {
			out = append(out, o)
		}
	}
	return out
}

func (d *proc) catalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Open(t.Context(), filepath.Join(d.dir, "data", "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (d *proc) keys(t *testing.T) *crypt.Keyring {
	t.Helper()
	key, err := crypt.LoadKeyFile(filepath.Join(d.dir, "data", "keys", "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := crypt.NewKeyring("master", map[string][]byte{"master": key})
	return k
}

// TestStoredInS3: a recorded call ends up in the bucket sealed (not a
// WAV), tagged, readable by range with the master key, indexed and
// audited.
func TestStoredInS3(t *testing.T) {
	srv := s3test.Start(t)
	d := startS3Daemon(t, srv, "0120000001")
	wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 3*time.Second, map[string]string{"pcap": tonePcap(t, 3*time.Second)})) // 3 s: at least 1 s recorded after the notice and opt-out window even when a loaded machine stretches them (seen: 1.2 s of notice phase, 0.8 s recorded of a 2 s call)
	d.waitLog(t, `"msg":"recording stored"`)
	objs := objects(t, srv)
	if len(objs) != 2 {
		t.Fatalf("got %d objects, want the audio and the manifest", len(objs))
	}
	cat := d.catalog(t)
	recs, _ := cat.List(t.Context(), catalog.Filter{})
	if len(recs) != 1 {
		t.Fatalf("got %d catalog rows, want 1", len(recs))
	}
	rec := recs[0]
	cli := srv.Client(t)
	o, err := cli.GetObject(t.Context(), srv.Bucket, rec.ObjectKey, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	raw.ReadFrom(o)
	if bytes.HasPrefix(raw.Bytes(), []byte("RIFF")) || bytes.Contains(raw.Bytes(), []byte("WAVEfmt")) {
		t.Fatal("the bucket holds the plain WAV")
	}
	tags, err := cli.GetObjectTagging(t.Context(), srv.Bucket, rec.ObjectKey, minio.GetObjectTaggingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m := tags.ToMap(); m["purpose"] != "cs-quality" || m["retain-until"] != rec.RetainUntil.Format("2006-01-02") {
		t.Errorf("got tags %v", m)
	}
	st, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := recording.OpenAudio(t.Context(), st, d.keys(t), rec)
	if err != nil {
		t.Fatal(err)
	}
	var head, tail bytes.Buffer
	r.WriteRange(&head, 0, 44)
	r.WriteRange(&tail, r.Size()-4000, 4000)
	if !bytes.HasPrefix(head.Bytes(), []byte("RIFF")) || bytes.Count(tail.Bytes(), []byte{0}) == 4000 {
		t.Errorf("decrypted ranges are not the recording's header and audio")
	}
	var whole bytes.Buffer
	r.WriteRange(&whole, 0, r.Size())
	if a, err := wav.Decode(whole.Bytes()); err != nil || a.Duration() < time.Second {
		t.Errorf("decrypted recording: %v %v", a, err)
	}
	if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Target: rec.ID}); len(es) != 1 || es[0].Action != "store" {
		t.Errorf("got audit %+v, want a store entry", es)
	}
}

// TestS3DownDuringCalls: with the store down calls go on and recordings
// wait in the spool; once it is back every one arrives, none twice.
func TestS3DownDuringCalls(t *testing.T) {
	srv := s3test.Start(t)
	d := startS3Daemon(t, srv, "0120000001")
	srv.Stop()
	pcap := tonePcap(t, time.Second)
	for range 3 {
		wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": pcap})) // 2 s: bridged well after the 0.7 s notice and opt-out window, even on a loaded machine
	}
	d.waitLog(t, "spool upload failed; retrying")
	if n := spooled(t, d); n != 3 {
		t.Fatalf("got %d recordings waiting in the spool, want 3", n)
	}
	// The outage lasts ~10 s here rather than a minute: what matters is
	// that uploads failed and were retried with back-off, not how long.
	time.Sleep(8 * time.Second)
	srv.Restart()
	// The uploader's back-off doubles from 1 s with full jitter; after
	// ~15 s of failures its next try can be up to 16 s away.
	waitWithin(t, 40*time.Second, "all three stored", func() bool { return len(objects(t, srv)) == 6 && spooled(t, d) == 0 })
	time.Sleep(2 * time.Second)
	if n := len(objects(t, srv)); n != 6 {
		t.Errorf("got %d objects, want 6 (3 audio + 3 manifests, once each)", n)
	}
	if n, _ := d.catalog(t).Count(t.Context()); n != 3 {
		t.Errorf("got %d catalog rows, want 3", n)
	}
}

func spooled(t *testing.T, d *proc) int {
	entries, _ := os.ReadDir(filepath.Join(d.dir, "data", "spool"))
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// TestKill9DuringUploads: kirokud killed while it drains a backlog into
// the store; after a restart every recording is stored exactly once.
func TestKill9DuringUploads(t *testing.T) {
	srv := s3test.Start(t)
	d := startS3Daemon(t, srv, "0120000001")
	srv.Stop()
	pcap := tonePcap(t, time.Second)
	for range 5 {
		wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": pcap})) // 2 s: bridged well after the 0.7 s notice and opt-out window, even on a loaded machine
	}
	srv.Restart()
	d.waitLog(t, `"msg":"recording stored"`)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil
	n := &proc{log: &syncBuffer{}, dir: d.dir, port: d.port, env: d.env}
	n.start(t)
	waitFor(t, "the backlog drained", func() bool { return spooled(t, n) == 0 })
	if got := len(objects(t, srv)); got != 10 {
		t.Errorf("got %d objects, want 10 (5 recordings, once each)", got)
	}
	cat := n.catalog(t)
	if c, _ := cat.Count(t.Context()); c != 5 {
		t.Errorf("got %d catalog rows, want 5", c)
	}
	recs, _ := cat.List(t.Context(), catalog.Filter{})
	st, _ := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
	for _, rec := range recs {
		if _, err := recording.OpenAudio(t.Context(), st, n.keys(t), rec); err != nil {
			t.Errorf("recording %s does not open after the restart: %v", rec.ID, err)
		}
	}
	if _, err := audit.Verify(t.Context(), cat.DB()); err != nil {
		t.Errorf("audit chain after kill -9: %v", err)
	}
}

// TestRebuildCatalogFromBucket: kirokud -rebuild-catalog restores every
// row from the bucket's manifests.
func TestRebuildCatalogFromBucket(t *testing.T) {
	srv := s3test.Start(t)
	d := startS3Daemon(t, srv, "0120000001")
	pcap := tonePcap(t, time.Second)
	for range 2 {
		wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": pcap})) // 2 s: bridged well after the 0.7 s notice and opt-out window, even on a loaded machine
	}
	waitFor(t, "both stored", func() bool { return len(objects(t, srv)) == 4 })
	out := filepath.Join(t.TempDir(), "rebuilt.db")
	cmd := exec.Command(binary, "-config", filepath.Join(d.dir, "kiroku.yaml"), "-rebuild-catalog", out,
		"-keys-from", filepath.Join(d.dir, "data", "catalog.db"))
	cmd.Env = append(os.Environ(), d.env...)
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "manifests 2, restored 2, with keys 2, skipped 0") {
		t.Fatalf("rebuild: %v\n%s", err, b)
	}
	rebuilt, err := catalog.Open(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	defer rebuilt.Close()
	orig, _ := d.catalog(t).List(t.Context(), catalog.Filter{})
	// The backup's audit history is carried, and the rebuild's two
	// entries chain onto it.
	before, err := audit.List(t.Context(), d.catalog(t).DB(), audit.Filter{Limit: 10000})
	if err != nil || len(before) == 0 {
		t.Fatalf("backup's audit log: %d entries, %v", len(before), err)
	}
	wantAudit := func(t *testing.T, q audit.Querier) {
		t.Helper()
		n, err := audit.Verify(t.Context(), q)
		if err != nil || n != int64(len(before))+2 {
			t.Fatalf("rebuilt audit: %d entries, %v; want the backup's %d and 2 of the rebuild, verified", n, err, len(before))
		}
		after, err := audit.List(t.Context(), q, audit.Filter{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range before {
			if after[i].Seq != e.Seq || after[i].Hash != e.Hash {
				t.Fatalf("rebuilt audit entry %d: got %d %s, want the backup's %d %s", i, after[i].Seq, after[i].Hash, e.Seq, e.Hash)
			}
		}
	}
	wantAudit(t, rebuilt.DB())
	for _, o := range orig {
		r, err := rebuilt.Get(t.Context(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.ObjectKey != o.ObjectKey || r.SHA256 != o.SHA256 || r.Caller != o.Caller || !r.RetainUntil.Equal(o.RetainUntil) ||
			!bytes.Equal(r.WrappedKey, o.WrappedKey) || string(r.Consent) != string(o.Consent) {
			t.Errorf("rebuilt row %s differs from the original", o.ID)
		}
	}

	// The same into an empty PostgreSQL catalog named by the
	// configuration; a second run finds it not empty and refuses.
	cfg, err := os.ReadFile(filepath.Join(d.dir, "kiroku.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pgConfig := filepath.Join(d.dir, "kiroku-pg.yaml")
	cfg = append(cfg, "catalog:\n  driver: postgres\n  dsn_env: KIROKU_TEST_CATALOG_DSN\n"...)
	if err := os.WriteFile(pgConfig, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.DSN(t)
	for i, want := range []string{"manifests 2, restored 2, with keys 2, skipped 0", "is not empty"} {
		cmd = exec.Command(binary, "-config", pgConfig, "-rebuild-catalog", "postgres",
			"-keys-from", filepath.Join(d.dir, "data", "catalog.db"))
		cmd.Env = append(os.Environ(), append(d.env, "KIROKU_TEST_CATALOG_DSN="+dsn)...)
		b, err = cmd.CombinedOutput()
		if (err == nil) != (i == 0) || !strings.Contains(string(b), want) {
			t.Fatalf("rebuild into postgres, run %d: %v\n%s", i+1, err, b)
		}
	}
	pg, err := catalog.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	wantAudit(t, pg.DB())
	for _, o := range orig {
		r, err := pg.Get(t.Context(), o.ID)
		if err != nil || r.SHA256 != o.SHA256 || !bytes.Equal(r.WrappedKey, o.WrappedKey) {
			t.Errorf("row %s rebuilt in PostgreSQL: %v", o.ID, err)
		}
	}
}

var _ = spool.StateDone

// startedIn is how long kirokud says its start took ("kirokud ready",
// started_in), with the store reported down.
func startedIn(t *testing.T, d *proc) time.Duration {
	t.Helper()
	for _, line := range strings.Split(d.log.String(), "\n") {
		var e struct {
			Msg       string  `json:"msg"`
			StartedIn float64 `json:"started_in"`
			StoreDown bool    `json:"store_down"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Msg != "kirokud ready" {
			continue
		}
		if !e.StoreDown {
			t.Errorf("kirokud ready says the store is up: %s", line)
		}
		return time.Duration(e.StartedIn * float64(time.Second))
	}
	t.Fatal("no \"kirokud ready\" line with started_in in the log")
	return 0
}

// TestStartWhileStoreDown: a restart during a storage outage must not
// take the toll-free line down. With the store refusing connections, and
// with it hung (SIGSTOP), kirokud starts, answers and records a call,
// stops on SIGTERM, and the recording is stored once the store is back.
func TestStartWhileStoreDown(t *testing.T) {
	for _, tt := range []struct {
		name        string
		fault, heal func(*s3test.Server)
	}{
		{"refused", (*s3test.Server).Stop, (*s3test.Server).Restart},
		{"hung", (*s3test.Server).Pause, (*s3test.Server).Resume},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := s3test.Start(t)
			tt.fault(srv)
			d := startS3Daemon(t, srv, "0120000001")
			d.waitLog(t, "store unreachable at start")
			// By kirokud's own clock (from the process's start to ready,
			// SIP listening): the machine's load does not count the exec.
			took := startedIn(t, d)
			t.Logf("kirokud started in %s with its store %s", took, tt.name)
			if took > 5*time.Second {
				t.Errorf("kirokud took %s to start with its store %s, want under 5s", took, tt.name)
			}
			wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": tonePcap(t, time.Second)}))
			waitFor(t, "the recording in the spool", func() bool { return spooled(t, d) == 1 })

			d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-d.done:
				d.done <- err // for the cleanup
				if err != nil {
					t.Errorf("kirokud exited with %v after SIGTERM, want 0", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("kirokud did not stop on SIGTERM with its store down")
			}
			if n := spooled(t, d); n != 1 {
				t.Fatalf("got %d recordings in the spool after the stop, want 1", n)
			}

			tt.heal(srv)
			n := &proc{log: &syncBuffer{}, dir: d.dir, port: d.port, env: d.env}
			n.start(t)
			waitFor(t, "the recording stored", func() bool { return spooled(t, n) == 0 && len(objects(t, srv)) == 2 })
			if n, _ := n.catalog(t).Count(t.Context()); n != 1 {
				t.Errorf("got %d catalog rows, want 1", n)
			}
		})
	}
}
