package main

import (
	"bytes"
	"strings"
	"testing"
)

// runEnv runs kirokuctl with env as its whole environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// TestHelp: -h, --help, help and help COMMAND exit 0 and print, on
// standard output, the usage or that command's own flags; a command's
// -h is its help; -version prints the version.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"-h", []string{"-h"}, []string{"commands:", "recordings search", "-tz ZONE"}, nil},
		{"--help", []string{"--help"}, []string{"commands:"}, nil},
		{"help", []string{"help"}, []string{"commands:", "incident report"}, nil},
		{"help of a command", []string{"help", "recordings", "search"},
			[]string{"usage: kirokuctl recordings search [flags]", "  recordings search [-from T]", "[-caller N]", "-agent-id string", "-all", "global flags"},
			[]string{"commands:", "-server string", "hold set"}},
		{"a command's -h", []string{"recordings", "search", "-h"}, []string{"usage: kirokuctl recordings search [flags]", "-min-duration string"}, []string{"commands:"}},
		{"a command's --help after its flags", []string{"recordings", "download", "x", "-reason", "r", "--help"}, []string{"-reason string", "-out string"}, nil},
		{"a group", []string{"help", "hold"}, []string{"hold set ID -reason R", "hold clear ID -reason R"}, []string{"recordings"}},
		{"a requests command", []string{"help", "requests", "create"}, []string{"usage: kirokuctl requests create [flags]", "-verification string"}, nil},
		{"incident report", []string{"help", "incident", "report"}, []string{"-format string", "json or csv"}, nil},
		{"-version", []string{"-version"}, []string{"kirokuctl dev"}, nil},
		{"--version", []string{"--version"}, []string{"kirokuctl dev"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runEnv(t, nil, tc.args...)
			if code != exitOK || stderr != "" {
				t.Fatalf("got exit %d, stderr %q; want 0 and nothing on stderr", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output holds %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestUsageErrors: a mistake on the command line exits 2 with the one
// problem and where help is, not the whole usage.
func TestUsageErrors(t *testing.T) {
	env := map[string]string{"KIROKU_TOKEN": tok("sup")} // no server is reached: each fails first
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag of a command", []string{"recordings", "search", "-nosuch"},
			[]string{"kirokuctl: recordings search: flag provided but not defined: -nosuch", "kirokuctl help recordings search shows its flags"}},
		{"unknown global flag", []string{"-nosuch", "whoami"}, []string{"kirokuctl: flag provided but not defined: -nosuch", "kirokuctl help lists the commands"}},
		{"unknown command", []string{"recordings", "delete"}, []string{`unknown command "recordings delete"`, "kirokuctl help recordings shows its flags"}},
		{"no command", nil, []string{"no command"}},
		{"help of no command", []string{"help", "nosuch"}, []string{`no command "nosuch"`}},
		{"missing argument", []string{"recordings", "show"}, []string{"recordings show takes one recording id", "kirokuctl help recordings show"}},
		{"bad time zone", []string{"recordings", "search", "-tz", "Mars/Olympus"}, []string{`-tz "Mars/Olympus" is not a time zone`}},
		{"bad time", []string{"audit", "list", "-from", "yesterday"}, []string{`-from "yesterday" is not a time`, "2026-11-05[T09:30[:00]]"}},
		{"bad incident format", []string{"incident", "report", "-actor", "a", "-format", "xml"}, []string{`-format "xml" is not json or csv`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runEnv(t, env, tc.args...)
			if code != exitUsage || out != "" {
				t.Fatalf("got exit %d, output %q; want 2 and nothing on standard output", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if lines := strings.Count(stderr, "\n"); lines > 2 || strings.Contains(stderr, "commands:") {
				t.Errorf("got %d lines on stderr, want the problem and a pointer to help, not the usage:\n%s", lines, stderr)
			}
		})
	}
}
