package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAssertedIdentityEndToEnd: through kirokud, a call whose carrier
// trunk is trusted to assert identity (identity: pai), with From
// anonymous, P-Asserted-Identity +81312345678 and Privacy: id, is stored
// under 0312345678: a privacy officer finds it by that number and a
// disclosure request for it holds it, while a supervisor sees the caller
// as withheld. From a trunk not trusted (identity: from) the same
// headers are ignored: the call is stored under anonymous and nothing
// is found by the number. The number never reaches kirokud's log.
func TestAssertedIdentityEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		identity   string
		supSees    string // the caller as a supervisor's search shows it
		foundByNum bool
	}{
		{"pai", "withheld", true},
		{"from", "anonymous", false},
	} {
		t.Run(tc.identity, func(t *testing.T) {
			d := prepare(t, "5s", "0120000001")
			path := filepath.Join(d.dir, "kiroku.yaml")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			y := strings.Replace(string(b), `trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]`,
				`trunks: [{name: test, cidrs: ["127.0.0.0/8"], identity: `+tc.identity+`}]`, 1)
			y = strings.Replace(y, "listeners: [supervisor]", "listeners: [supervisor, privacy-officer]", 1)
			y += "api:\n  listen: \"127.0.0.1:0\"\n  tokens:\n"
			for name, role := range map[string]string{"sup": "supervisor", "po": "privacy-officer"} {
				sum := sha256.Sum256([]byte(apiToken(name)))
				y += fmt.Sprintf("    - {name: %s, roles: [%s], sha256: %s}\n", name, role, hex.EncodeToString(sum[:]))
			}
			if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
				t.Fatal(err)
			}
			d.start(t)
			api := apiURL(t, d)
			p := d.call(t, "uac_identity.xml", "0120000001", time.Second,
				map[string]string{"caller": "anonymous", "pai": "+81312345678", "privacy": "id"})
			wantSuccess(t, p)
			d.waitLog(t, `"msg":"recording stored"`)

			type list struct {
				Recordings []struct {
					ID       string `json:"id"`
					Caller   string `json:"caller"`
					Withheld bool   `json:"caller_withheld"`
				} `json:"recordings"`
			}
			var sup list
			code, body, err := apiJSON(t.Context(), api, "sup", http.MethodGet, "/api/v1/recordings?line=0120000001", nil)
			if json.Unmarshal(body, &sup); err != nil || code != 200 || len(sup.Recordings) != 1 {
				t.Fatalf("supervisor search: got %d %s (%v)", code, body, err)
			}
			if got := sup.Recordings[0].Caller; got != tc.supSees {
				t.Errorf("supervisor sees caller %q, want %q", got, tc.supSees)
			}
			id := sup.Recordings[0].ID

			var po list
			code, body, err = apiJSON(t.Context(), api, "po", http.MethodGet, "/api/v1/recordings?caller=0312345678", nil)
			if json.Unmarshal(body, &po); err != nil || code != 200 {
				t.Fatalf("privacy officer search: got %d %s (%v)", code, body, err)
			}
			if found := len(po.Recordings) == 1 && po.Recordings[0].ID == id && po.Recordings[0].Caller == "0312345678"; found != tc.foundByNum {
				t.Errorf("privacy officer's search by 0312345678: got %+v, want found %v", po.Recordings, tc.foundByNum)
			}
			if tc.foundByNum {
				code, body, err = apiJSON(t.Context(), api, "po", http.MethodPost, "/api/v1/requests", map[string]any{
					"kind": "disclosure", "callers": []string{"03-1234-5678"}, "verification": "本人確認書類 照合", "requester": "本人"})
				var req struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(body, &req); err != nil || code != http.StatusCreated {
					t.Fatalf("disclosure request: got %d %s (%v)", code, body, err)
				}
				code, body, err = apiJSON(t.Context(), api, "po", http.MethodPost, "/api/v1/requests/"+req.ID+"/disclose", nil)
				if err != nil || code != 200 {
					t.Fatalf("disclose: got %d %s (%v)", code, body, err)
				}
				zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, f := range zr.File {
					names = append(names, f.Name)
				}
				if !strings.Contains(strings.Join(names, " "), id) {
					t.Errorf("disclosure holds %v, want the recording %s", names, id)
				}
			}
			if log := d.log.String(); strings.Contains(log, "312345678") {
				i := strings.Index(log, "312345678")
				t.Errorf("kirokud's log has the caller's number unmasked: …%s…", log[max(0, i-200):min(len(log), i+50)])
			}
		})
	}
}
