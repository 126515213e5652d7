package sip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCPUThrottleRead: the bandwidth counts are found in cgroup v1's cpu
// controller (alone or with cpuacct), in v2, and where both are mounted
// (v2's file without counts); none without a cpu.stat that has them.
func TestCPUThrottleRead(t *testing.T) {
	const stat1 = "nr_periods 120\nnr_throttled 30\nthrottled_time 1000\n"
	const stat2 = "usage_usec 5\nnr_periods 80\nnr_throttled 8\nthrottled_usec 9\n"
	for _, c := range []struct {
		name   string
		cgroup string
		files  map[string]string
		p, th  uint64
		ok     bool
	}{
		{"v1 cpu", "4:memory:/x\n1:cpu:/kiroku\n0::/\n", map[string]string{"sys/fs/cgroup/cpu/kiroku/cpu.stat": stat1}, 120, 30, true},
		{"v1 cpu,cpuacct", "3:cpu,cpuacct:/system.slice/kirokud.service\n", map[string]string{"sys/fs/cgroup/cpu,cpuacct/system.slice/kirokud.service/cpu.stat": stat1}, 120, 30, true},
		{"v2", "0::/system.slice/kirokud.service\n", map[string]string{"sys/fs/cgroup/system.slice/kirokud.service/cpu.stat": stat2}, 80, 8, true},
		{"hybrid", "1:cpu:/\n0::/\n", map[string]string{"sys/fs/cgroup/unified/cpu.stat": "usage_usec 5\n", "sys/fs/cgroup/cpu/cpu.stat": stat1}, 120, 30, true},
		{"no counts", "0::/\n", map[string]string{"sys/fs/cgroup/cpu.stat": "usage_usec 5\n"}, 0, 0, false},
		{"no cgroup file", "", nil, 0, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if c.cgroup != "" {
				write(t, filepath.Join(root, "proc/self/cgroup"), c.cgroup)
			}
			for p, s := range c.files {
				write(t, filepath.Join(root, p), s)
			}
			p, th, ok := cpuThrottle{root: root}.read()
			if p != c.p || th != c.th || ok != c.ok {
				t.Errorf("got %d %d %v, want %d %d %v", p, th, ok, c.p, c.th, c.ok)
			}
		})
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cpuSpentServer starts a server whose scheduler figures the test sets
// by hand, and returns it with its metrics and an OPTIONS ping's first
// line.
func cpuSpentServer(t *testing.T) (env *testEnv, reg *prometheus.Registry, options func() string) {
	t.Helper()
	reg = prometheus.NewRegistry()
	env = startServer(t, envOptions{obs: NewMetrics(reg)})
	options = func() string {
		return udpExchange(t, env.udp, request("OPTIONS", echoLine+"@"+env.udp, "127.0.0.1:5999", map[string]string{"Content-Type": "-"}, ""))
	}
	env.srv.sched.pinned.Store(true)
	return env, reg, options
}

// TestOverloadCPUThrottled: a node whose CPU quota ran out in most of
// the last second while it carries calls enough to be the cause refuses
// a new INVITE 503 Overloaded, counted, and answers OPTIONS 503; with
// few calls, or throttled in fewer periods than the bound (50 %), it
// takes the call.
func TestOverloadCPUThrottled(t *testing.T) {
	env, reg, options := cpuSpentServer(t)
	env.srv.sched.throttled.Store(900_000) // 90 % of the periods
	env.srv.active.Add(minCallsThrottled)  // calls it carries
	res := udpResponse(t, env.udp, request("INVITE", echoLine+"@"+env.udp, "127.0.0.1:5999", nil, goodSDP), time.Second)
	if got, _, _ := strings.Cut(res, "\r\n"); got != "SIP/2.0 503 Overloaded" || !strings.Contains(res, "\r\nRetry-After: ") {
		t.Errorf("INVITE, quota spent: got %q, want 503 Overloaded with Retry-After", res)
	}
	if got := counter(t, reg, "kiroku_sip_overloaded_total", "reject"); got != 1 {
		t.Errorf("kiroku_sip_overloaded_total{action=reject}: got %v, want 1", got)
	}
	if got := options(); got != "SIP/2.0 503 Overloaded" {
		t.Errorf("OPTIONS, quota spent: got %q, want 503 Overloaded", got)
	}
	if env.srv.setups.pending() != 0 {
		t.Errorf("the refused INVITE holds a set-up place (%d)", env.srv.setups.pending())
	}

	env.srv.sched.throttled.Store(400_000) // 40 %: under the bound
	if got := options(); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS, throttled 40 %%: got %q, want 200 OK", got)
	}
	env.srv.active.Add(-minCallsThrottled)
	env.srv.sched.throttled.Store(900_000) // few calls: not theirs
	if got := options(); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS, throttled with no call: got %q, want 200 OK", got)
	}
	p := caller(t, env, "uac.xml", echoLine, newRTPPeer(t), time.Second, nil)
	mustSucceed(t, p)
}

// TestOverloadSchedWait: a node whose goroutines waited for a CPU longer
// than sip.overload.max_sched_wait (median over the last second) while it
// carries calls enough to be the cause refuses a new INVITE 503
// Overloaded and answers OPTIONS 503, without any CPU quota; under the
// bound, or with few calls, it takes the call.
func TestOverloadSchedWait(t *testing.T) {
	env, reg, options := cpuSpentServer(t)
	env.srv.sched.throttled.Store(0) // no quota
	env.srv.sched.wait.Store(int64(800 * time.Millisecond))
	env.srv.active.Add(minCallsThrottled)
	res := udpResponse(t, env.udp, request("INVITE", echoLine+"@"+env.udp, "127.0.0.1:5999", nil, goodSDP), time.Second)
	if got, _, _ := strings.Cut(res, "\r\n"); got != "SIP/2.0 503 Overloaded" || !strings.Contains(res, "\r\nRetry-After: ") {
		t.Errorf("INVITE, goroutines waiting 800 ms: got %q, want 503 Overloaded with Retry-After", res)
	}
	if got := counter(t, reg, "kiroku_sip_overloaded_total", "reject"); got != 1 {
		t.Errorf("kiroku_sip_overloaded_total{action=reject}: got %v, want 1", got)
	}
	if got := options(); got != "SIP/2.0 503 Overloaded" {
		t.Errorf("OPTIONS, goroutines waiting 800 ms: got %q, want 503 Overloaded", got)
	}
	env.srv.sched.wait.Store(int64(200 * time.Millisecond)) // under the default 300 ms
	if got := options(); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS, waiting 200 ms: got %q, want 200 OK", got)
	}
	env.srv.active.Add(-minCallsThrottled)
	env.srv.sched.wait.Store(int64(800 * time.Millisecond)) // few calls: not theirs
	p := caller(t, env, "uac.xml", echoLine, newRTPPeer(t), time.Second, nil)
	mustSucceed(t, p)
}
