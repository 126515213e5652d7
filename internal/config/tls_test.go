package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSIPTLSGiven(t *testing.T) {
	c, err := Load("testdata/tls/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if l := c.SIP.Listeners[1]; l != (Listener{Network: "tls", Host: "127.0.0.1", Port: 5061}) {
		t.Errorf("got listener %+v, want tls 127.0.0.1:5061", l)
	}
	dir, _ := filepath.Abs("testdata/tls")
	want := SIPTLS{Cert: filepath.Join(dir, "certs/kiroku.pem"), Key: filepath.Join(dir, "certs/kiroku.key"), ClientCA: "/etc/kiroku/ca.pem"}
	if c.SIP.TLS != want {
		t.Errorf("got %+v, want %+v", c.SIP.TLS, want)
	}
	if cn := c.SIP.Trunks[0].TLSClientCN; cn != "pbx.example" {
		t.Errorf("got tls_client_cn %q, want pbx.example", cn)
	}
}

func TestSIPTLSInvalid(t *testing.T) {
	_, err := Load("testdata/tls/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	want := []string{
		`invalid.yaml:1: sip.tls.cert: required by the tls:// listener`,
		`invalid.yaml:4: sip.trunks[0].tls_client_cn: needs sip.tls.client_ca to check certificates against`,
	}
	got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/tls/", ""), "\n")
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
		}
	}
}
