package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/configs"
)

func TestLoadGood(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := c.SIP
	wantListeners := []Listener{{"udp", "192.0.2.1", 5060}, {"tcp", "2001:db8::1", 5080}}
	if !slices.Equal(s.Listeners, wantListeners) {
		t.Errorf("got listeners %v, want %v", s.Listeners, wantListeners)
	}
	if got, want := s.Listeners[1].Addr(), "[2001:db8::1]:5080"; got != want {
		t.Errorf("got Addr %q, want %q", got, want)
	}
	wantPrefixes := [][]netip.Prefix{
		{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:100::/48")},
		{netip.MustParsePrefix("203.0.113.7/32"), netip.MustParsePrefix("203.0.113.0/24")},
	}
	for i, want := range wantPrefixes {
		if got := s.Trunks[i].Prefixes; !slices.Equal(got, want) {
			t.Errorf("trunk %d: got prefixes %v, want %v", i, got, want)
		}
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Source", c.Source, "testdata/good.yaml"},
		{"DataDir", c.DataDir, filepath.Join(dir, "data")},
		{"MediaIP", s.MediaIP, "192.0.2.2"},
		{"MaxCalls", s.MaxCalls, 50},
		{"RTPPortMin", s.RTPPortMin, 30000},
		{"RTPPortMax", s.RTPPortMax, 30999},
		{"DrainTimeout", s.DrainTimeout, Duration(2 * time.Minute)},
		{"AnswerTimeout", s.AnswerTimeout, Duration(20 * time.Second)},
		{"RetryAfter", s.RetryAfter, Duration(90 * time.Second)},
		{"Log", c.Log, Log{Level: "debug", Format: "json"}},
		{"Purposes[1].Retention", c.Purposes[1].Retention, Retention{N: 1, Unit: 'y'}},
		{"Lines[0].Number", c.Lines[0].Number, "0120000000"},
		{"Lines[1].Number", c.Lines[1].Number, "05012345678"},
		{"Lines[0].Notice", c.Lines[0].Notice, filepath.Join(dir, "prompts", "notice.wav")},
		{"Lines[0].OptOutDigit", c.Lines[0].OptOutDigit, "#"},
		{"Lines[0].OptOutWait", c.Lines[0].OptOutWait, Duration(5 * time.Second)},
		{"Lines[1].OptOutWait", c.Lines[1].OptOutWait, DefaultOptOutWait},
		{"Lines[1].Downstream", c.Lines[1].Downstream, "sips:desk@pbx.example.com"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	raw, err := os.ReadFile("testdata/prompts/notice.wav")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	p := c.Lines[0].Prompt
	if p == nil {
		t.Fatal("got nil Prompt, want the loaded notice")
	}
	if p.Name != "notice.wav" || p.SHA256 != hex.EncodeToString(sum[:]) || len(p.PCM) != 1600 || p.Duration != 200*time.Millisecond {
		t.Errorf("got prompt %q %s, %d samples, %v; want notice.wav %x, 1600 samples, 200ms",
			p.Name, p.SHA256, len(p.PCM), p.Duration, sum)
	}
	if c.Lines[1].Prompt != p {
		t.Errorf("got a second Prompt for the same notice, want it shared")
	}
}

func TestDefaultsApplied(t *testing.T) {
	c, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := c.SIP
	checks := []struct {
		name      string
		got, want any
	}{
		{"DataDir", c.DataDir, filepath.Join(dir, "kiroku-data")},
		{"Log", c.Log, Log{Level: "info", Format: "auto"}},
		{"MediaIP", s.MediaIP, "127.0.0.1"},
		{"MaxCalls", s.MaxCalls, 1000},
		{"RTPPorts", s.RTPPorts, "20000-29999"},
		{"RTPPortMin", s.RTPPortMin, 20000},
		{"RTPPortMax", s.RTPPortMax, 29999},
		{"DrainTimeout", s.DrainTimeout, Duration(60 * time.Second)},
		{"AnswerTimeout", s.AnswerTimeout, Duration(30 * time.Second)},
		{"RetryAfter", s.RetryAfter, Duration(30 * time.Second)},
		{"Trunks", len(s.Trunks), 0},
		{"OptOutWait", c.Lines[0].OptOutWait, Duration(3 * time.Second)},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestDefault(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatalf("Default: got error %v, want nil", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "embedded defaults" {
		t.Errorf("got Source %q, want %q", c.Source, "embedded defaults")
	}
	if want := filepath.Join(wd, "kiroku-data"); c.DataDir != want {
		t.Errorf("got DataDir %q, want %q", c.DataDir, want)
	}
	l, ok := c.Line("+81120000000")
	if !ok {
		t.Fatal("got no line for +81120000000, want the demo line")
	}
	if l.Prompt == nil || l.Prompt.Name != "notice-ja.wav" || len(l.Prompt.PCM) == 0 {
		t.Errorf("got prompt %+v, want notice-ja.wav loaded", l.Prompt)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: got %v, want nil", err)
	}
	want, err := configs.FS.ReadFile(configs.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	got := DefaultYAML()
	if !bytes.Equal(got, want) {
		t.Errorf("DefaultYAML: got %d bytes, want the %d of %s", len(got), len(want), configs.DefaultFile)
	}
	got[0] = '!'
	if DefaultYAML()[0] == '!' {
		t.Error("DefaultYAML: got shared bytes, want a copy")
	}
}

// TestLoadOnDisk loads a configuration written next to generated notices,
// with an absolute notice path and one leading out of its directory.
func TestLoadOnDisk(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc", "share"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	notice := makeWAV(t, 8000, 1, 800)
	abs := filepath.Join(root, "share", "abs.wav")
	for _, p := range []string{abs, filepath.Join(root, "share", "rel.wav")} {
		if err := os.WriteFile(p, notice, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	yaml := `sip: {listen: ["tcp://[::1]:0"]}
data_dir: /var/lib/kiroku
purposes: [{name: cs, retention: 12w}]
lines:
  - {number: "0120000001", purpose: cs, notice: ` + abs + `, downstream: "echo:"}
  - {number: "0120000002", purpose: cs, notice: ../share/rel.wav, downstream: "echo:"}
`
	path := filepath.Join(root, "etc", "kiroku.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"DataDir", c.DataDir, "/var/lib/kiroku"},
		{"MediaIP", c.SIP.MediaIP, "::1"},
		{"Listener", c.SIP.Listeners[0], Listener{"tcp", "::1", 0}},
		{"Notice 0", c.Lines[0].Notice, abs},
		{"Notice 1", c.Lines[1].Notice, filepath.Join(root, "share", "rel.wav")},
		{"Prompt 1", c.Lines[1].Prompt.Duration, 100 * time.Millisecond},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if err := os.Remove(abs); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	want := path + `:5: lines[0].notice: cannot read "` + abs + `": file does not exist`
	if err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("got error %v, want one naming %s", err, path)
	}
}

func TestLookups(t *testing.T) {
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	lines := []struct {
		dialled string
		want    string // Number of the line found, "" for none
	}{
		{"0120000000", "0120000000"},
		{"sip:+81120000000@192.0.2.1;user=phone", "0120000000"},
		{"tel:+81-120-000-000", "0120000000"},
		{"050-1234-5678", "05012345678"},
		{"0120000001", ""},
		{"", ""},
	}
	for _, tt := range lines {
		t.Run("line "+tt.dialled, func(t *testing.T) {
			var got string
			if l, ok := c.Line(tt.dialled); ok {
				got = l.Number
			}
			if got != tt.want {
				t.Errorf("got line %q, want %q", got, tt.want)
			}
		})
	}
	trunks := []struct {
		addr string
		want string // trunk name, "" for none
	}{
		{"198.51.100.9", "carrier-a"},
		{"::ffff:198.51.100.9", "carrier-a"},
		{"2001:db8:100:1::5", "carrier-a"},
		{"203.0.113.7", "carrier-b"},
		{"203.0.113.200", "carrier-b"},
		{"192.0.2.1", ""},
		{"fe80::1%eth0", ""},
	}
	for _, tt := range trunks {
		t.Run("trunk "+tt.addr, func(t *testing.T) {
			var got string
			if tr, ok := c.Trunk(netip.MustParseAddr(tt.addr)); ok {
				got = tr.Name
			}
			if got != tt.want {
				t.Errorf("got trunk %q, want %q", got, tt.want)
			}
		})
	}
	if p, ok := c.Purpose("compliance"); !ok || p.Retention.String() != "1y" {
		t.Errorf("Purpose(compliance): got %+v, %v; want retention 1y", p, ok)
	}
	if _, ok := c.Purpose("sales"); ok {
		t.Error("Purpose(sales): got a purpose, want none")
	}
}

func TestValidateBuilt(t *testing.T) {
	c := &Config{
		SIP: SIP{Listen: []string{"udp://0.0.0.0:5060"}, MaxCalls: 1, RTPPorts: "20000-20001", AnswerTimeout: Duration(time.Second)},
		Log: Log{Level: "info", Format: "auto"},
		Lines: []Line{
			{Number: "0120 000 000", Purpose: "cs", Notice: "n.wav", Downstream: "sip:a@b"},
		},
	}
	want := "sip.media_ip: not set, and the first listener's host 0.0.0.0 cannot be advertised in SDP; set sip.media_ip\n" +
		`lines[0].purpose: "cs" is not a defined purpose`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if c.Lines[0].Number != "0120000000" {
		t.Errorf("got number %q, want it normalised to 0120000000", c.Lines[0].Number)
	}
}
