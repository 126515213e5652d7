package httpapi

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/access"
	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// clientTokens are the tokens of the client tests: name → roles and
// clients.
var clientTokens = map[string]struct{ roles, clients []string }{
	"sup":        {[]string{access.Supervisor}, nil},
	"po":         {[]string{access.PrivacyOfficer}, nil},
	"aud":        {[]string{access.Auditor}, nil},
	"adm":        {[]string{access.Admin}, nil},
	"acme-sup":   {[]string{access.Supervisor}, []string{"acme"}},
	"acme-po":    {[]string{access.PrivacyOfficer}, []string{"acme"}},
	"acme-aud":   {[]string{access.Auditor}, []string{"acme"}},
	"acme-adm":   {[]string{access.Admin}, []string{"acme"}},
	"globex-sup": {[]string{access.Supervisor}, []string{"globex"}},
	"both-sup":   {[]string{access.Supervisor}, []string{"acme", "globex"}},
}

// clientYAML is the configuration of the client tests: acme keeps its
// recordings 30 days (stricter than cs-quality's 90) and lets no auditor
// see them; globex has no limits; initech answers disclosure requests.
func clientYAML(extra string) string {
	var b strings.Builder
	b.WriteString(`sip:
  listen: ["udp://127.0.0.1:5060"]
purposes:
  - {name: cs-quality, description: カスタマーサービス業務の運営管理およびサービス充実, retention: 90d, listeners: [supervisor, privacy-officer, auditor, admin]}
  - {name: complaints, retention: 1y, listeners: [privacy-officer]}
clients:
  - id: acme
    name: ACME 株式会社
    contact: ACME お客様相談室 0120-111-222
    limits: {retention: 30d, roles: [supervisor, privacy-officer, admin]}
  - {id: globex, name: Globex}
  - {id: initech, name: Initech, disclosure: answer}
` + extra + `api:
  listen: "127.0.0.1:0"
  tokens:
`)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range clientTokens {
			if !yield(k) {
				return
			}
		}
	}) {
		tk := clientTokens[name]
		r, _ := json.Marshal(tk.roles)
		c, _ := json.Marshal(tk.clients)
		if tk.clients == nil {
			c = []byte("[]")
		}
		fmt.Fprintf(&b, "    - {name: %s, roles: %s, clients: %s, sha256: %s}\n", name, r, c, hashHex(token(name)))
	}
	return b.String()
}

func clientConfig(t testing.TB, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(clientYAML(extra)), "clients.yaml", fstest.MapFS{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// s3Env is an env storing into a real S3 server (versitygw on
// loopback), with a second bucket for contract-end returns.
type s3Env struct {
	*env
	srv    *s3test.Server
	cli    *minio.Client
	target string // the return bucket
}

const returnBucket = "acme-returns"

// newS3Env is an env on versitygw, its catalog in db, with contract
// ends into a return bucket of the same server.
func newS3Env(t *testing.T, db catalogtest.DB) *s3Env {
	t.Helper()
	srv := s3test.Start(t)
	open := func(bucket string) (*s3.Store, error) {
		return s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: bucket, Region: srv.Region,
			AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
	}
	st, err := open(srv.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	cli := srv.Client(t)
	if err := cli.MakeBucket(t.Context(), returnBucket, minio.MakeBucketOptions{Region: srv.Region}); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, db, t.TempDir(), st, clientConfig(t, ""), func(o *Options) {
		ce, err := newContractService(o, srv.Bucket, func(bucket string) (storage.Store, error) { return open(bucket) })
		if err != nil {
			t.Fatal(err)
		}
		o.Contract = ce
	})
	return &s3Env{env: e, srv: srv, cli: cli, target: returnBucket}
}

// ids returns the ids of a search answer.
func idsOf(b []byte) []string {
	var res struct {
		Recordings []struct {
			ID string `json:"id"`
		} `json:"recordings"`
	}
	json.Unmarshal(b, &res)
	var out []string
	for _, r := range res.Recordings {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestClientObjects: a client's recordings are keyed under its id and
// tagged with it, their retention is the client's 30 days rather than
// the purpose's 90, and a line of no client keeps today's layout.
func TestClientObjects(t *testing.T) { catalogtest.Each(t, testClientObjects) }

func testClientObjects(t *testing.T, db catalogtest.DB) {
	e := newS3Env(t, db)
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "cs-quality", caller: "0322222222", seconds: 1, started: start},
		rec{purpose: "cs-quality", client: "globex", caller: "0333333333", seconds: 1, started: start})
	for _, tc := range []struct {
		name, id, prefix, client string
		retain                   time.Time
	}{
		{"acme", ids[0], "acme/cs-quality/2026/03/02/", "acme", start.AddDate(0, 0, 30)},
		{"no client", ids[1], "cs-quality/2026/03/02/", "", start.AddDate(0, 0, 90)},
		{"globex, no limit", ids[2], "globex/cs-quality/2026/03/02/", "globex", start.AddDate(0, 0, 90)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.cat.Get(t.Context(), tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Client != tc.client || !r.RetainUntil.Equal(tc.retain) {
				t.Errorf("got client %q retain-until %v, want %q %v", r.Client, r.RetainUntil, tc.client, tc.retain)
			}
			for _, key := range []string{r.ObjectKey, r.ManifestKey} {
				if !strings.HasPrefix(key, tc.prefix) {
					t.Errorf("got key %s, want it under %s", key, tc.prefix)
				}
				tags, err := e.cli.GetObjectTagging(t.Context(), e.srv.Bucket, key, minio.GetObjectTaggingOptions{})
				if err != nil {
					t.Fatal(err)
				}
				m := tags.ToMap()
				if m["client"] != tc.client || m["retain-until"] != tc.retain.Format("2006-01-02") || m["purpose"] != "cs-quality" {
					t.Errorf("%s: got tags %v, want client %q, retain-until %s", key, m, tc.client, tc.retain.Format("2006-01-02"))
				}
			}
		})
	}
	// The stricter limit is what the purge goes by: 31 days on, acme's
	// recording is gone from the bucket, the others stay.
	p := retention.New(retention.Options{Catalog: e.cat, Store: e.st, Now: func() time.Time { return start.AddDate(0, 0, 31) }})
	res, err := p.Purge(t.Context())
	if err != nil || res.Deleted != 1 {
		t.Fatalf("purge: got %+v %v, want 1 deleted", res, err)
	}
	if _, err := e.cat.Get(t.Context(), ids[0]); err == nil {
		t.Error("acme's recording survived its client's retention")
	}
	if tomb, err := e.cat.GetTombstone(t.Context(), ids[0]); err != nil || tomb.Client != "acme" {
		t.Errorf("got tombstone %+v %v, want client acme", tomb, err)
	}
	var keys []string
	for o := range e.cli.ListObjects(t.Context(), e.srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		keys = append(keys, o.Key)
	}
	if slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "acme/") }) || len(keys) != 4 {
		t.Errorf("bucket after the purge: %v, want the 4 objects of the two others", keys)
	}
	// A tighter limit at reload applies to what is stored, and the tags
	// written then keep the client.
	old := e.cfg.Load()
	tight := clientConfig(t, "")
	tight.Clients[1].Limits.Retention = config.Retention{N: 10, Unit: 'd'}
	if n, err := retention.ApplyPolicy(t.Context(), e.cat, e.st, old, tight, "reload"); err != nil || n != 1 {
		t.Fatalf("apply policy: %d %v, want 1 change", n, err)
	}
	r, _ := e.cat.Get(t.Context(), ids[2])
	tags, _ := e.cli.GetObjectTagging(t.Context(), e.srv.Bucket, r.ObjectKey, minio.GetObjectTaggingOptions{})
	if m := tags.ToMap(); m["client"] != "globex" || m["retain-until"] != start.AddDate(0, 0, 10).Format("2006-01-02") {
		t.Errorf("tags after a tighter client limit: %v", m)
	}
}

// TestClientScoping: a client-scoped token lists, reads and plays only
// its clients' recordings; an unscoped one only the lines of no client;
// every other attempt is the same 404 as an unknown id, audited as
// denied with the real cause.
func TestClientScoping(t *testing.T) { catalogtest.Each(t, testClientScoping) }

func testClientScoping(t *testing.T, db catalogtest.DB) {
	e := newS3Env(t, db)
	start := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "cs-quality", client: "acme", caller: "0311111112", seconds: 1, started: start.Add(time.Second)},
		rec{purpose: "cs-quality", client: "globex", caller: "0322222222", seconds: 1, started: start.Add(2 * time.Second)},
		rec{purpose: "cs-quality", caller: "0333333333", seconds: 1, started: start.Add(3 * time.Second)})
	acme1, acme2, globex, own := ids[0], ids[1], ids[2], ids[3]
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"acme-sup", "", sortedIDs(acme1, acme2)},
		{"globex-sup", "", sortedIDs(globex)},
		{"both-sup", "", sortedIDs(acme1, acme2, globex)},
		{"both-sup", "?client=acme", sortedIDs(acme1, acme2)},
		{"sup", "", sortedIDs(own)},
		{"adm", "", sortedIDs(own)},
		// acme's limits allow no auditor: a scoped auditor sees nothing of it.
		{"aud", "", sortedIDs(own)},
	} {
		t.Run("search "+tc.name+tc.query, func(t *testing.T) {
			res, b := e.do(tc.name, http.MethodGet, "/api/v1/recordings"+tc.query, nil)
			if res.StatusCode != 200 || !slices.Equal(idsOf(b), tc.want) {
				t.Errorf("got %d %v, want %v", res.StatusCode, idsOf(b), tc.want)
			}
		})
	}
	if res, b := e.do("acme-aud", http.MethodGet, "/api/v1/recordings", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("auditor scoped to acme, whose limits allow no auditor: got %d %s, want 403", res.StatusCode, b)
	}
	before := e.head()
	if res, _ := e.do("acme-sup", http.MethodGet, "/api/v1/recordings?client=globex", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("acme-sup searching globex: got %d, want 403", res.StatusCode)
	}
	if es := e.audit(before); len(es) != 1 || es[0].Action != "denied" {
		t.Errorf("got audit %+v, want one denial", es)
	}

	reason := map[string]string{"X-Kiroku-Reason": "quality%20check"}
	type try struct {
		name, method, path, why string
		hdr                     map[string]string
	}
	for _, tc := range []try{
		{"acme-sup", "GET", "/api/v1/recordings/" + globex, `client "globex"; the token is scoped to clients [acme]`, nil},
		{"acme-sup", "GET", "/api/v1/recordings/" + globex + "/audio", `client "globex"; the token is scoped to clients [acme]`, reason},
		{"acme-sup", "GET", "/api/v1/recordings/" + own, "line run for no client; the token is scoped to clients [acme]", nil},
		{"globex-sup", "GET", "/api/v1/recordings/" + acme1 + "/audio", `client "acme"; the token is scoped to clients [globex]`, reason},
		{"sup", "GET", "/api/v1/recordings/" + acme1, `client "acme"; the token is scoped to no client`, nil},
		{"sup", "GET", "/api/v1/recordings/" + acme1 + "/audio", `client "acme"; the token is scoped to no client`, reason},
		{"adm", "GET", "/api/v1/recordings/" + globex, `client "globex"; the token is scoped to no client`, nil},
		{"acme-po", "PUT", "/api/v1/recordings/" + globex + "/hold?reason=litigation", `client "globex"`, nil},
	} {
		t.Run(tc.name+" "+tc.method+" "+tc.path, func(t *testing.T) {
			before := e.head()
			res, b := e.do(tc.name, tc.method, tc.path, tc.hdr)
			if res.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "no such recording") {
				t.Errorf("got %d %s, want 404 no such recording", res.StatusCode, b)
			}
			es := e.audit(before)
			var d struct {
				Why string `json:"why"`
			}
			if len(es) == 1 {
				json.Unmarshal([]byte(es[0].Detail), &d)
			}
			if len(es) != 1 || es[0].Action != "denied" || es[0].Actor != tc.name || !strings.Contains(d.Why, tc.why) {
				t.Errorf("got audit %+v, want one denial by %s saying %s", es, tc.name, tc.why)
			}
		})
	}
	// A ticket asked for another client's recording is refused the same.
	res, b := e.send("acme-sup", http.MethodPost, "/api/v1/recordings/"+globex+"/audio-ticket", map[string]any{"reason": "x"})
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("ticket for globex's recording: got %d %s", res.StatusCode, b)
	}
	// Its own client's: viewed, played (the decrypted WAV), held.
	res, b = e.do("acme-sup", http.MethodGet, "/api/v1/recordings/"+acme1+"/audio", reason)
	if res.StatusCode != 200 || !bytes.Equal(b, e.wavs[acme1]) {
		t.Errorf("acme-sup playing acme's recording: got %d, %d bytes", res.StatusCode, len(b))
	}
	var d struct {
		Client     string `json:"client"`
		ClientName string `json:"client_name"`
	}
	e.get("acme-sup", "/api/v1/recordings/"+acme1, 200, &d)
	if d.Client != "acme" || d.ClientName != "ACME 株式会社" {
		t.Errorf("got %+v", d)
	}
	if res, b := e.send("acme-po", http.MethodPut, "/api/v1/recordings/"+acme2+"/hold", map[string]any{"reason": "litigation"}); res.StatusCode != 200 {
		t.Errorf("acme-po holding acme's recording: got %d %s", res.StatusCode, b)
	}
	// A ticket stops working for a recording its token no longer sees:
	// scope changes apply at once.
	res, b = e.send("acme-sup", http.MethodPost, "/api/v1/recordings/"+acme1+"/audio-ticket", map[string]any{"reason": "x"})
	var tk struct {
		URL string `json:"url"`
	}
	json.Unmarshal(b, &tk)
	if res.StatusCode != 200 {
		t.Fatalf("ticket: %d %s", res.StatusCode, b)
	}
	if res, _ := e.do("", http.MethodGet, tk.URL, nil); res.StatusCode != 200 {
		t.Errorf("ticket: got %d", res.StatusCode)
	}
	moved := strings.Replace(clientYAML(""), `name: acme-sup, roles: ["supervisor"], clients: ["acme"]`, `name: acme-sup, roles: ["supervisor"], clients: ["globex"]`, 1)
	cfg, err := config.Parse([]byte(moved), "clients.yaml", fstest.MapFS{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Store(cfg)
	if res, _ := e.do("", http.MethodGet, tk.URL, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("ticket after the token was moved to globex: got %d, want 404", res.StatusCode)
	}
	// Scoped tokens read neither the audit log nor data-subject requests.
	e.cfg.Store(clientConfig(t, ""))
	for _, tc := range []struct{ name, path string }{{"acme-aud", "/api/v1/audit"}, {"acme-po", "/api/v1/requests"}} {
		if res, b := e.do(tc.name, http.MethodGet, tc.path, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s: got %d %s, want 403", tc.name, tc.path, res.StatusCode, b)
		}
	}
	if _, err := audit.Verify(t.Context(), e.cat.DB()); err != nil {
		t.Error(err)
	}
}

// TestClientDisclosure: a disclosure request covering only a client's
// recordings is refused with the policy's reason, recorded on the
// request; one covering own lines and a client's discloses the own and
// lists the rest as withheld; a client configured to answer is
// disclosed.
func TestClientDisclosure(t *testing.T) { catalogtest.Each(t, testClientDisclosure) }

func testClientDisclosure(t *testing.T, db catalogtest.DB) {
	e := newEnvOn(t, db, t.TempDir(), mustFS(t), clientConfig(t, ""), nil)
	start := time.Now().Add(-time.Hour)
	ids := e.seed(rec{purpose: "cs-quality", client: "acme", caller: "0311111111", seconds: 1, started: start},
		rec{purpose: "cs-quality", client: "acme", caller: "0322222222", seconds: 1, started: start.Add(time.Second)},
		rec{purpose: "cs-quality", caller: "0322222222", seconds: 1, started: start.Add(2 * time.Second)},
		rec{purpose: "cs-quality", client: "initech", caller: "0322222222", seconds: 1, started: start.Add(3 * time.Second)})
	newReq := func(caller string) string {
		res, b := e.send("po", http.MethodPost, "/api/v1/requests", map[string]any{"kind": "disclosure", "callers": []string{caller},
			"verification": "運転免許証 R-1", "requester": "本人"})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s", res.StatusCode, b)
		}
		var q apiclient.Request
		json.Unmarshal(b, &q)
		return q.ID
	}
	only := newReq("0311111111")
	res, b := e.send("po", http.MethodPost, "/api/v1/requests/"+only+"/disclose", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "ACME お客様相談室 0120-111-222") {
		t.Fatalf("disclosure of acme's recordings only: got %d %s, want 422 with the policy's reason", res.StatusCode, b)
	}
	var q apiclient.Request
	e.get("po", "/api/v1/requests/"+only, 200, &q)
	if q.Outcome != "refused" || !strings.Contains(string(q.Result), "disclosure requests are answered by ACME 株式会社") {
		t.Errorf("got request %s %s, want refused with the reason recorded", q.Outcome, q.Result)
	}
	mixed := newReq("0322222222")
	res, b = e.send("po", http.MethodPost, "/api/v1/requests/"+mixed+"/disclose", nil)
	if res.StatusCode != 200 {
		t.Fatalf("mixed disclosure: got %d %s", res.StatusCode, b)
	}
	files := zipFiles(t, b)
	if _, ok := files["recordings/"+ids[2]+".wav"]; !ok {
		t.Errorf("own recording not disclosed: %v", keysOf(files))
	}
	if _, ok := files["recordings/"+ids[3]+".wav"]; !ok {
		t.Errorf("initech's recording (disclosure: answer) not disclosed: %v", keysOf(files))
	}
	if _, ok := files["recordings/"+ids[1]+".wav"]; ok {
		t.Error("acme's recording disclosed")
	}
	var m struct {
		Withheld []struct {
			Client     string `json:"client"`
			Recordings int    `json:"recordings"`
		} `json:"withheld"`
	}
	json.Unmarshal(files["manifest.json"], &m)
	if len(m.Withheld) != 1 || m.Withheld[0].Client != "acme" || m.Withheld[0].Recordings != 1 {
		t.Errorf("got withheld %+v, want acme's one recording", m.Withheld)
	}
	e.get("po", "/api/v1/requests/"+mixed, 200, &q)
	if q.Outcome != "answered" || !strings.Contains(string(q.Result), `"withheld"`) {
		t.Errorf("got %s %s, want answered with the withheld part recorded", q.Outcome, q.Result)
	}
	// Third parties never get a client's recording from us.
	res, b = e.send("po", http.MethodPost, "/api/v1/requests/provisions", map[string]any{"recipient": "x", "legal_basis": "y", "ids": []string{ids[0]}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(string(b), "client acme") {
		t.Errorf("provision of acme's recording: got %d %s, want 409", res.StatusCode, b)
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var _ = catalog.StateStored

// mustFS is an fs store in a new folder.
func mustFS(t testing.TB) storage.Store {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// zipFiles reads a ZIP held in b: file name → content.
func zipFiles(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
	return out
}

// newContractService is the contract-end service of an env whose store
// is the S3 bucket named bucket, returning into other buckets by open.
func newContractService(o *Options, bucket string, open func(bucket string) (storage.Store, error)) (*contract.Service, error) {
	return contract.New(contract.Options{Catalog: o.Catalog, Store: o.Store, Keys: o.Keys, Bucket: bucket,
		Target: func(_ context.Context, b string) (storage.Store, error) { return open(b) }})
}
