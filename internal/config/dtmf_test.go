package config

import (
	"slices"
	"strings"
	"testing"
)

func TestDTMFMethods(t *testing.T) {
	c, err := Load("testdata/dtmf/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{{DTMFRFC4733, DTMFInfo}, DefaultDTMFMethods, {DTMFInband}} {
		if got := c.Lines[i].DTMFMethods; !slices.Equal(got, want) {
			t.Errorf("line %d: got dtmf_methods %q, want %q", i, got, want)
		}
	}
	for _, c := range []struct {
		line   Line
		method string
		want   bool
	}{
		{Line{DTMFMethods: []string{DTMFRFC4733, DTMFInfo}}, DTMFInband, false},
		{Line{DTMFMethods: []string{DTMFRFC4733, DTMFInfo}}, DTMFInfo, true},
		{Line{DTMFMethods: DefaultDTMFMethods}, DTMFInband, true},
		{Line{DTMFMethods: DefaultDTMFMethods}, "sip-info", false},
		{Line{}, DTMFInband, true},
	} {
		if got := c.line.Counts(c.method); got != c.want {
			t.Errorf("%q counts %q: got %v, want %v", c.line.DTMFMethods, c.method, got, c.want)
		}
	}
}

func TestDTMFMethodsInvalid(t *testing.T) {
	_, err := Load("testdata/dtmf/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	want := []string{
		`invalid.yaml:8: lines[0].dtmf_methods[0]: "rfc2833" is not rfc4733, info or inband`,
		`invalid.yaml:9: lines[1].dtmf_methods: must name at least one of rfc4733, info, inband (leave it out for all three)`,
		`invalid.yaml:10: lines[2].dtmf_methods[1]: "info" is listed twice`,
	}
	got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/dtmf/", ""), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
