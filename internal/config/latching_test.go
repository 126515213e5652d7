package config

import (
	"strings"
	"testing"
)

func TestLatchingGiven(t *testing.T) {
	c, err := Load("testdata/latching/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{LatchingLearn, DefaultLatching} {
		if got := c.SIP.Trunks[i].MediaLatching; got != want {
			t.Errorf("trunk %d: got media_latching %q, want %q", i, got, want)
		}
		if got := c.Lines[i].DownstreamLatching; got != want {
			t.Errorf("line %d: got downstream_latching %q, want %q", i, got, want)
		}
	}
}

func TestLatchingInvalid(t *testing.T) {
	_, err := Load("testdata/latching/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	want := []string{
		`invalid.yaml:4: sip.trunks[0].media_latching: "symmetric" is not strict or learn`,
		`invalid.yaml:8: lines[0].downstream_latching: "Learn" is not strict or learn`,
	}
	got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/latching/", ""), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
