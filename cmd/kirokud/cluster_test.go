package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/kamailiotest"
	"github.com/kiroku-voice/kiroku/internal/testenv/pgtest"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// clusterNode writes the configuration of one kirokud of a cluster: its
// own SIP port, RTP range and spool; the bucket, the PostgreSQL catalog,
// the master key and the purge schedule shared with the others.
func clusterNode(t *testing.T, srv *s3test.Server, dsn, masterKey, rtp, schedule string) *proc {
	t.Helper()
	d := prepare(t, "5s", "0120000001")
	y := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: kamailio, cidrs: ["127.0.0.0/8"]}]
  rtp_ports: %s
  drain_timeout: 5s
  retry_after: 5s
  # every INVITE comes from the load balancer's one address
  rate_limit: {per_source: {rate: 200, burst: 400}}
data_dir: data
log: {format: json, level: debug}
control: {listen: "127.0.0.1:0"}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor]}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: 200ms, downstream: "echo:"}
storage:
  backend: s3
  s3: {endpoint: %q, bucket: %q, region: %q}
encryption:
  active_key: cluster-1
  keys: [{id: cluster-1, env: KIROKU_TEST_MASTER_KEY}]
catalog:
  driver: postgres
  dsn_env: KIROKU_TEST_CATALOG_DSN
retention:
  schedule: %q
`, d.port, rtp, srv.Endpoint, srv.Bucket, srv.Region, schedule)
	if err := os.WriteFile(filepath.Join(d.dir, "kiroku.yaml"), []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	d.env = []string{s3.EnvAccessKey + "=" + srv.AccessKey, s3.EnvSecretKey + "=" + srv.SecretKey,
		"KIROKU_TEST_CATALOG_DSN=" + dsn, "KIROKU_TEST_MASTER_KEY=" + masterKey}
	return d
}

// TestTwoNodesBehindKamailio: SIPp sends 200 calls through Kamailio (the
// shipped dispatcher configuration) to two kirokud nodes sharing one
// bucket and one PostgreSQL catalog. One node is killed (SIGKILL) while
// it carries calls; Kamailio fails over to the other. Every call either
// node answered ends up stored exactly once — the survivor's at once,
// the killed node's in-progress ones repaired and uploaded when it
// restarts — the audit chain verifies, and the purge that both nodes
// schedule for the same minute runs on one of them.
func TestTwoNodesBehindKamailio(t *testing.T) {
	kamailiotest.Need(t)
	srv := s3test.Start(t)
	dsn := pgtest.DSN(t)
	key := make([]byte, 32)
	rand.Read(key)
	// A purge minute at least 70 s away: the calls, the kill and the
	// restart take about 30 s, so both nodes are up by then (checked).
	slot := time.Now().Add(70 * time.Second).Truncate(time.Minute).Add(time.Minute)
	schedule := fmt.Sprintf("%d * * * *", slot.In(time.FixedZone("JST", 9*3600)).Minute())
	nodes := []*proc{
		clusterNode(t, srv, dsn, hex.EncodeToString(key), "35000-35499", schedule),
		clusterNode(t, srv, dsn, hex.EncodeToString(key), "35500-35999", schedule),
	}
	for _, n := range nodes {
		n.start(t)
	}
	kport := sipptest.FreePort(t, "udp")
	kamailiotest.Start(t, kamailiotest.Options{
		Listen: "127.0.0.1:" + strconv.Itoa(kport),
		Nodes:  []string{"127.0.0.1:" + strconv.Itoa(nodes[0].port), "127.0.0.1:" + strconv.Itoa(nodes[1].port)},
	})
	for i, n := range nodes { // Kamailio's OPTIONS pings reach both nodes
		waitFor(t, fmt.Sprintf("node %d answering Kamailio's OPTIONS", i), func() bool {
			return strings.Contains(n.scrape(t), `kiroku_sip_responses_total{code="200",method="OPTIONS"}`)
		})
	}

	const calls = 200
	sipp := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac_pcap.xml"),
		Remote:   "127.0.0.1:" + strconv.Itoa(kport),
		Keys:     map[string]string{"dialled": "0120000001", "caller": "0312345678", "pcap": tonePcap(t, 3*time.Second)},
		Calls:    calls,
		Rate:     20,
		Duration: 3 * time.Second,
		Timeout:  120 * time.Second,
	})
	// Kill node 0 once it carries bridged calls, about a third in.
	waitFor(t, "node 0 recording calls", func() bool {
		n := 0
		for _, c := range nodes[0].calls(t).Calls {
			if c.Recording == "recording" {
				n++
			}
		}
		return n >= 5 && strings.Count(nodes[0].log.String()+nodes[1].log.String(), `"msg":"call ended"`) >= 40
	})
	if err := nodes[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[0].done
	nodes[0].done <- nil // for the cleanup's wait
	killedLog := nodes[0].log.String()
	res := sipp.Wait(t.Context())
	t.Logf("sipp: %d successful, %d failed calls (exit %d)", res.Successful, res.Failed, res.ExitCode)
	if res.Successful+res.Failed != calls || res.Successful < calls/2 {
		t.Fatalf("sipp: %d successful and %d failed of %d\n%s", res.Successful, res.Failed, calls, res.Log)
	}
	nodes[0] = nodes[0].restart(t)
	if time.Now().After(slot.Add(-5 * time.Second)) {
		t.Fatalf("node 0 restarted at %s, too close to the purge minute %s to check it", time.Now().Format("15:04:05"), slot.Format("15:04"))
	}
	nodes[0].waitLog(t, "repaired") // the calls cut by the kill
	waitFor(t, "both spools drained", func() bool { return spooled(t, nodes[0]) == 0 && spooled(t, nodes[1]) == 0 })

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cat, err := catalog.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	recs, err := cat.List(ctx, catalog.Filter{Limit: 10 * calls})
	if err != nil {
		t.Fatal(err)
	}
	// Every SIP call answered by a node is one stored recording: SIPp's
	// calls are numbered 1..200 in their Call-IDs.
	bySIP := map[string]int{}
	keys := map[string]bool{}
	answered := map[string]bool{}
	cut := 0
	for _, r := range recs {
		answered[r.SIPCallID] = true
		if r.State != catalog.StateStored {
			t.Errorf("recording %s: state %q, want stored", r.ID, r.State)
		}
		if r.ObjectKey != "" {
			bySIP[r.SIPCallID]++
			keys[r.ObjectKey] = true
		}
		keys[r.ManifestKey] = true
		if r.CutShort {
			cut++
		}
	}
	for id, n := range bySIP {
		if n > 1 {
			t.Errorf("SIP call %s: %d recordings with audio, want 1", id, n)
		}
	}
	// A call in no row was never answered: its INVITE reached the node
	// just before the kill and got no final answer. SIPp counts it failed.
	var pid string
	for id := range answered {
		if n, rest, ok := strings.Cut(id, "-"); ok && n != "" {
			pid, _, _ = strings.Cut(rest, "@")
			break
		}
	}
	errs := sipp.Errors()
	missing := 0
	for n := 1; n <= calls; n++ {
		id := fmt.Sprintf("%d-%s@127.0.0.1", n, pid)
		if answered[id] {
			continue
		}
		missing++
		if !strings.Contains(errs, "'"+id+"'") {
			t.Errorf("SIP call %s is in no recording, yet SIPp did not count it failed", id)
		}
	}
	// How many the kill leaves in no row is the calls node 0 had taken
	// whose first manifest was not yet durable at that instant (set-up
	// never waits for the disk: the manifest goes through the spool's
	// group commit while the call is answered, and the recorder waits
	// for it before any audio is written): its half of the 20/s times
	// the set-up and commit time, up to half a second on a loaded 2-core
	// machine. More than that would be calls lost beyond the kill.
	if missing > 5 {
		t.Errorf("%d of %d SIP calls in no recording, want at most the 5 that half a second of node 0's set-ups holds (Kamailio fails over)", missing, calls)
	}
	if len(bySIP) < res.Successful {
		t.Errorf("got %d calls recorded, fewer than SIPp's %d successful", len(bySIP), res.Successful)
	}
	if cut == 0 {
		t.Error("no recording marked cut short: the killed node's calls were not recovered")
	}
	// The survivor recorded every call it answered.
	for _, l := range strings.Split(nodes[1].log.String(), "\n") {
		if !strings.Contains(l, `"msg":"call ended"`) || !strings.Contains(l, `"reason":"caller-hangup"`) {
			continue
		}
		i := strings.Index(l, `"sip_call_id":"`)
		id, _, _ := strings.Cut(l[i+len(`"sip_call_id":"`):], `"`)
		if bySIP[id] != 1 {
			t.Errorf("survivor's call %s: %d recordings with audio, want 1", id, bySIP[id])
		}
	}
	// No object twice, none without a row.
	objs := objects(t, srv)
	if len(objs) != len(keys) {
		t.Errorf("got %d objects in the bucket for %d object keys in the catalog", len(objs), len(keys))
	}
	for _, o := range objs {
		if !keys[o.Key] {
			t.Errorf("object %s has no catalog row", o.Key)
		}
	}
	if n, err := audit.Verify(ctx, cat.DB()); err != nil {
		t.Errorf("audit chain: %v", err)
	} else if stores, _ := audit.List(ctx, cat.DB(), audit.Filter{Action: "store", Limit: 10 * calls}); len(stores) != len(recs) {
		t.Errorf("audit: %d entries, %d store entries for %d recordings", n, len(stores), len(recs))
	}
	t.Logf("%d recordings (%d cut short by the kill), %d objects, %d calls never answered; node 0 logged %d calls before the kill",
		len(recs), cut, len(objs), missing, strings.Count(killedLog, `"msg":"call ended"`))

	// The purge of the shared minute: done on one node, skipped on the other.
	time.Sleep(time.Until(slot))
	waitFor(t, "the purge of "+slot.Format("15:04"), func() bool {
		l := nodes[0].log.String() + nodes[1].log.String()
		return strings.Count(l, `"msg":"purge done"`)+strings.Count(l, `"msg":"purge skipped`) >= 2
	})
	logs := nodes[0].log.String() + nodes[1].log.String()
	if d, s := strings.Count(logs, `"msg":"purge done"`), strings.Count(logs, `"msg":"purge skipped: another node`); d != 1 || s != 1 {
		t.Errorf("purge of %s: done on %d nodes, skipped on %d; want 1 and 1", slot.Format("15:04"), d, s)
	}
}
