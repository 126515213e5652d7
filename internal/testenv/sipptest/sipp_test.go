package sipptest

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBinary(t *testing.T) {
	t.Run("found", func(t *testing.T) {
		if got := Binary(t); !strings.HasSuffix(got, "/sipp") {
			t.Errorf("got %q, want a path ending in /sipp", got)
		}
	})
	t.Run("missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		ft := &fatalRecorder{TB: t}
		func() {
			defer func() { _ = recover() }()
			Binary(ft)
		}()
		if !strings.Contains(ft.msg, "make test") {
			t.Errorf("got message %q, want it to say that `make test` installs sipp", ft.msg)
		}
	})
}

func TestBuildArgs(t *testing.T) {
	t.Parallel()
	p := &Process{dir: "/d", port: 5070, mediaPort: 6000}
	got := p.buildArgs(Options{
		Scenario:  "/s/uac.xml",
		Remote:    "127.0.0.1:5060",
		Keys:      map[string]string{"rtp_port": "4000", "dialled": "800"},
		Rate:      5,
		Duration:  1500 * time.Millisecond,
		Timeout:   1500 * time.Millisecond,
		ExtraArgs: []string{"-aa"},
	}, "t1")
	for _, want := range [][]string{
		{"127.0.0.1:5060", "-sf", "/s/uac.xml"},
		{"-t", "t1"},
		{"-i", "127.0.0.1", "-mi", "127.0.0.1", "-ci", "127.0.0.1"},
		{"-p", "5070", "-mp", "6000", "-m", "1"},
		{"-timeout", "2", "-timeout_error"},
		{"-r", "5"},
		{"-d", "1500"},
		{"-key", "dialled", "800", "-key", "rtp_port", "4000", "-aa"},
	} {
		if !containsRun(got, want) {
			t.Errorf("args %q lack %q", got, want)
		}
	}
}

// containsRun reports whether sub appears in s as consecutive elements.
func containsRun(s, sub []string) bool {
	for i := range len(s) - len(sub) + 1 {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func TestLastScreenCounts(t *testing.T) {
	t.Parallel()
	screen, err := os.ReadFile("testdata/screen.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		re   *regexp.Regexp
		want int
	}{
		{"successful", successfulRE, 1},
		{"failed", failedRE, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := lastCount(string(screen), tt.re)
			if !ok || n != tt.want {
				t.Errorf("got %d, %v; want %d, true", n, ok, tt.want)
			}
		})
	}
}

func TestStopIdleServer(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Scenario: Scenario(t, "uas_busy.xml")})
	p.Stop()
	p.Stop() // again: a no-op
	r := p.Wait(t.Context())
	// SIPp 3.6 exits 0 here, not the 99 ("no call processed") its help
	// promises.
	if r.ExitCode != 0 || r.Successful != 0 || r.Failed != 0 {
		t.Errorf("got exit %d, %d successful, %d failed; want 0, 0, 0\n%s", r.ExitCode, r.Successful, r.Failed, r.Log)
	}
	if err := r.Err(); err != nil {
		t.Errorf("got %v, want no error", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Scenario: Scenario(t, "uas_busy.xml"), Timeout: time.Second})
	r := p.Wait(t.Context())
	if r.ExitCode != 255 {
		t.Errorf("got exit %d, want 255\n%s", r.ExitCode, r.Log)
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("got error %v, want one saying it timed out", err)
	}
}

func TestWaitContext(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Scenario: Scenario(t, "uas_busy.xml")})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	r := p.Wait(ctx)
	if r.ExitCode != -1 || !strings.Contains(r.Log, "killed") {
		t.Errorf("got exit %d, want -1 and a log saying killed\n%s", r.ExitCode, r.Log)
	}
	if again := p.Wait(t.Context()); again.ExitCode != -1 {
		t.Errorf("second Wait: got exit %d, want -1", again.ExitCode)
	}
}

func TestMissingKey(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Scenario: Scenario(t, "uac.xml"), Remote: "127.0.0.1:9"})
	r := p.Wait(t.Context())
	if r.ExitCode != 1 || !strings.Contains(r.Log, "Unsupported keyword 'dialled'") {
		t.Errorf("got exit %d, want 1 and a log naming the key\n%s", r.ExitCode, r.Log)
	}
	if r.Successful != -1 {
		t.Errorf("got %d successful, want -1: no screen", r.Successful)
	}
}
