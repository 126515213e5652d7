package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// teardownCalls is how many calls TestKill9Teardown has up when kirokud
// is killed: the 20 of the fault report (the test takes about 4 s; the
// restart tears them down at once, teardownParallel at a time).
const teardownCalls = 20

// TestKill9Teardown: kirokud killed with calls bridged to an agent; the
// restarted daemon sends a BYE on both legs of each (SIPp caller and
// SIPp agent each wait for it and answer 200) within 10 s, and the
// manifests say the calls were interrupted and torn down.
func TestKill9Teardown(t *testing.T) {
	d := prepare(t, "5s")
	agent := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas.xml"),
		Keys:     map[string]string{"rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))},
		Calls:    teardownCalls,
		Timeout:  60 * time.Second,
	})
	y := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
  rtp_ports: 35000-35999
  drain_timeout: 5s
data_dir: data
log: {format: json, level: debug}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor]}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: 200ms, downstream: "sip:agent@%s"}
`, d.port, agent.Addr())
	if err := os.WriteFile(filepath.Join(d.dir, "kiroku.yaml"), []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	caller := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac_wait_bye.xml"),
		Remote:   "127.0.0.1:" + strconv.Itoa(d.port),
		Keys:     map[string]string{"dialled": "0120000001", "caller": "0312345678", "rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))},
		Calls:    teardownCalls,
		Timeout:  60 * time.Second,
	})
	spoolDir := filepath.Join(d.dir, "data", "spool")
	waitFor(t, "every call's both dialogs kept", func() bool {
		files, _ := filepath.Glob(filepath.Join(spoolDir, "*.dialog"))
		both := 0
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), `"side":"caller"`) && strings.Contains(string(b), `"side":"agent"`) {
				both++
			}
		}
		return both == teardownCalls
	})
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil

	restarted := time.Now()
	again := d.restart(t)
	ctx, cancel := context.WithDeadline(t.Context(), restarted.Add(10*time.Second))
	defer cancel()
	for name, p := range map[string]*sipptest.Process{"caller": caller, "agent": agent} {
		r := p.Wait(ctx)
		if r.ExitCode != 0 || r.Successful != teardownCalls {
			t.Errorf("%s SIPp: exit %d, %d calls ended by a BYE within 10 s of the restart, want 0 and %d\n%s", name, r.ExitCode, r.Successful, teardownCalls, r.Log)
		}
	}
	waitFor(t, "the interrupted calls' manifests finished", func() bool {
		n := 0
		for _, m := range again.manifests(t) {
			if m.State == spool.StateSpooled || m.State == spool.StateDone {
				n++
			}
		}
		return n == teardownCalls
	})
	for _, m := range again.manifests(t) {
		if m.EndReason != "interrupted" || m.Teardown == nil || len(m.Teardown.Legs) != 2 {
			t.Errorf("call %s: got end %q teardown %+v, want interrupted, torn down on both legs", m.ID, m.EndReason, m.Teardown)
			continue
		}
		for _, l := range m.Teardown.Legs {
			if l.Status != 200 {
				t.Errorf("call %s: %s leg's BYE got %d (%s), want 200", m.ID, l.Side, l.Status, l.Error)
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(spoolDir, "*.dialog")); len(left) != 0 {
		t.Errorf("dialogs still kept after the teardown: %v", left)
	}
}
