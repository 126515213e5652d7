package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSRTPGiven(t *testing.T) {
	c, err := Load("testdata/srtp/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{SRTPRequired, DefaultTrunkSRTP} {
		if got := c.SIP.Trunks[i].SRTP; got != want {
			t.Errorf("trunk %d: got srtp %q, want %q", i, got, want)
		}
	}
	for i, want := range []string{SRTPRequired, DefaultDownstreamSRTP} {
		if got := c.Lines[i].DownstreamSRTP; got != want {
			t.Errorf("line %d: got downstream_srtp %q, want %q", i, got, want)
		}
	}
	dir, _ := filepath.Abs("testdata/srtp")
	if got, want := c.SIP.TLS.DownstreamCA, filepath.Join(dir, "certs/agents-ca.pem"); got != want {
		t.Errorf("got downstream_ca %q, want %q", got, want)
	}
}

func TestSRTPInvalid(t *testing.T) {
	_, err := Load("testdata/srtp/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	want := []string{
		`invalid.yaml:4: sip.trunks[0].srtp: "mandatory" is not off, optional or required`,
		`invalid.yaml:8: lines[0].downstream_srtp: an echo: line has no downstream leg to encrypt`,
		`invalid.yaml:9: lines[1].downstream_srtp: "yes" is not off, optional or required`,
	}
	got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/srtp/", ""), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
