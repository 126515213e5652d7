package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestTimeZone: -tz, else KIROKU_TZ, is the zone of the times printed
// (named in each) and of a time given without an offset; a bad zone is
// a usage error.
func TestTimeZone(t *testing.T) {
	k := startKirokud(t)
	code, out, stderr := k.ctl(t, "sup", "recordings", "search", "-o", "json")
	var res struct {
		Recordings []struct {
			ID        string    `json:"id"`
			StartedAt time.Time `json:"started_at"`
		} `json:"recordings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || len(res.Recordings) != 2 {
		t.Fatalf("search: exit %d, %v\n%s%s", code, err, out, stderr)
	}
	started := map[string]time.Time{}
	for _, r := range res.Recordings {
		started[r.ID] = r.StartedAt
	}
	first := started[k.ids[0]]
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	kiritimati, _ := time.LoadLocation("Pacific/Kiritimati") // UTC+14: a wall time there is far from UTC's

	base := map[string]string{"KIROKU_SERVER": k.url, "KIROKU_TOKEN": tok("sup")}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for a, b := range base {
			env[a] = b
		}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"-tz UTC", base, []string{"-tz", "UTC"}, first.UTC().Format("2006-01-02 15:04:05") + " UTC"},
		{"KIROKU_TZ", with("KIROKU_TZ", "Asia/Tokyo"), nil, first.In(tokyo).Format("2006-01-02 15:04:05") + " JST"},
		{"-tz over KIROKU_TZ", with("KIROKU_TZ", "Asia/Tokyo"), []string{"-tz", "UTC"}, first.UTC().Format("2006-01-02 15:04:05") + " UTC"},
	} {
		t.Run("output/"+tc.name, func(t *testing.T) {
			code, out, stderr := runEnv(t, tc.env, append([]string{"recordings", "search"}, tc.args...)...)
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want a STARTED of %q:\n%s%s", code, tc.want, out, stderr)
			}
		})
	}

	// Between the two recordings, as a wall time of Kiritimati.
	between := first.Add(30 * time.Second).In(kiritimati).Format("2006-01-02T15:04:05")
	for _, tc := range []struct {
		name      string
		env       map[string]string
		args      []string
		want, not []string
	}{
		{"read in -tz", base, []string{"-tz", "Pacific/Kiritimati"}, []string{k.ids[1]}, []string{k.ids[0]}},
		{"read in KIROKU_TZ", with("KIROKU_TZ", "Pacific/Kiritimati"), nil, []string{k.ids[1]}, []string{k.ids[0]}},
		{"read in another zone: 14 hours later, after both", base, []string{"-tz", "UTC"}, nil, []string{k.ids[0], k.ids[1]}},
		{"an offset wins over the zone", base, []string{"-tz", "UTC", "-from", first.Add(30 * time.Second).In(tokyo).Format(time.RFC3339)}, []string{k.ids[1]}, []string{k.ids[0]}},
	} {
		t.Run("input/"+tc.name, func(t *testing.T) {
			args := append([]string{"recordings", "search", "-from", between}, tc.args...)
			code, out, stderr := runEnv(t, tc.env, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, stderr)
			}
			for _, id := range tc.want {
				if !strings.Contains(out, id) {
					t.Errorf("-from %s: %s missing:\n%s", between, id, out)
				}
			}
			for _, id := range tc.not {
				if strings.Contains(out, id) {
					t.Errorf("-from %s: %s listed:\n%s", between, id, out)
				}
			}
		})
	}
	if code, _, stderr := runEnv(t, with("KIROKU_TZ", "Nowhere/Land"), "recordings", "search"); code != exitUsage || !strings.Contains(stderr, `-tz "Nowhere/Land"`) {
		t.Errorf("a bad KIROKU_TZ: exit %d %q, want 2 naming it", code, stderr)
	}
}

// TestIncidentTable: incident report prints a table by default (the
// recordings an actor touched, with what was done), JSON with -o json or
// -format json, CSV with -format csv.
func TestIncidentTable(t *testing.T) {
	k := startKirokud(t)
	if code, out, stderr := k.ctl(t, "sup", "recordings", "download", k.ids[0], "-reason", "check", "-out", t.TempDir()+"/a.wav"); code != 0 {
		t.Fatalf("download: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := k.ctl(t, "po", "incident", "report", "-actor", "sup", "-tz", "UTC")
	if code != 0 || !strings.HasPrefix(out, "window: ") || !strings.Contains(out, "RECORDING") || !strings.Contains(out, k.ids[0]) || !strings.Contains(out, " UTC") {
		t.Fatalf("incident report: exit %d, want a table naming %s with UTC times\n%s%s", code, k.ids[0], out, stderr)
	}
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, k.ids[0]) {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) < 4 || f[len(f)-3] != "yes" {
		t.Errorf("got row %q, want EXPORTED yes (a download)", row)
	}
	for _, args := range [][]string{{"-o", "json"}, {"-format", "json"}} {
		code, out, _ := k.ctl(t, "po", append([]string{"incident", "report", "-actor", "sup"}, args...)...)
		var r struct {
			Recordings []struct{ ID string } `json:"recordings"`
		}
		if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || len(r.Recordings) != 1 {
			t.Errorf("%v: exit %d, %v: %s", args, code, err, out)
		}
	}
	if code, out, _ := k.ctl(t, "po", "incident", "report", "-actor", "sup", "-format", "csv"); code != 0 || strings.Contains(out, "RECORDING  ") || !strings.Contains(out, k.ids[0]) {
		t.Errorf("-format csv: exit %d\n%s", code, out)
	}
	if code, _, stderr := k.ctl(t, "po", "incident", "report", "-actor", "sup", "-out", "x.json"); code != exitUsage || !strings.Contains(stderr, "-format") {
		t.Errorf("-out without -format: exit %d %q, want a usage error", code, stderr)
	}
}
