package storm

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// The run's shape, from the environment (the Makefile's N, RATE, HOLD
// and DISK_LOAD): N calls started at RATE a second, each held HOLD.
type shape struct {
	calls    int
	rate     int
	hold     time.Duration
	diskLoad bool
	// cpuQuota, when above 0, limits kirokud to that many cores of CPU
	// time (STORM_CPU_QUOTA): past its capacity with generators that are not.
	cpuQuota float64
	// maxCalls, when above 0, is kirokud's sip.max_calls (STORM_MAX_CALLS;
	// default: room for every call of the storm).
	maxCalls int
	// nice, when not 0, is the niceness kirokud runs at (STORM_NICE, such
	// as -10: ahead of the generators for the CPU; below 0 needs root).
	// On a machine that carries both, the generators' CPU is kirokud's
	// shortage, which a node of its own does not have.
	nice int
}

func shapeFromEnv(b *testing.B) shape {
	s := shape{calls: 800, rate: 200, hold: 30 * time.Second}
	if v := os.Getenv("STORM_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("STORM_N=%q: want a positive number of calls", v)
		}
		s.calls = n
	}
	if v := os.Getenv("STORM_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("STORM_RATE=%q: want a positive rate", v)
		}
		s.rate = n
	}
	if v := os.Getenv("STORM_HOLD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			b.Fatalf("STORM_HOLD=%q: want a duration of at least 5s", v)
		}
		s.hold = d
	}
	s.diskLoad = os.Getenv("STORM_DISK_LOAD") == "1"
	if v := os.Getenv("STORM_MAX_CALLS"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("STORM_MAX_CALLS=%q: want a positive number of calls", v)
		}
		s.maxCalls = n
	}
	if v := os.Getenv("STORM_NICE"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -20 || n > 19 {
			b.Fatalf("STORM_NICE=%q: want a niceness from -20 to 19", v)
		}
		s.nice = n
	}
	if v := os.Getenv("STORM_CPU_QUOTA"); v != "" && v != "0" {
		q, err := strconv.ParseFloat(v, 64)
		if err != nil || q < 0.05 || q > 64 {
			b.Fatalf("STORM_CPU_QUOTA=%q: want cores of CPU time from 0.05, such as 0.3", v)
		}
		s.cpuQuota = q
	}
	return s
}

// configTemplate is kirokud's configuration: one line, a short notice and
// opt-out window, the agent SIPp as its downstream, recordings stored in
// versitygw. Placeholders: SIP port, max_calls, the rate limit (rate,
// burst, rate, burst), control port, whether it serves profiles (only
// with STORM_PROFILE: profiling samples the heap every 4 KiB, which costs
// CPU and memory the figures would count), agent address, S3 endpoint,
// bucket, region.
const configTemplate = `# written by the storm benchmark
sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: storm, cidrs: ["127.0.0.1/32"]}]
  max_calls: %d
  rtp_ports: 20000-32767
  rate_limit: {per_source: {rate: %d, burst: %d}, global: {rate: %d, burst: %d}}
  drain_timeout: 5s
  answer_timeout: 10s
  retry_after: 5s
data_dir: data
log: {format: json, level: warn}
control: {listen: "127.0.0.1:%d", pprof: %t}
purposes:
  - {name: cs-quality, description: storm benchmark, retention: 90d, listeners: [supervisor]}
lines:
  - {number: "0120000000", purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: 200ms, downstream: "sip:agent@%s"}
storage:
  backend: s3
  s3: {endpoint: %q, bucket: %q, region: %q}
`

// BenchmarkStorm runs one storm (whatever b.N is: run it with
// -benchtime 1x) and prints its figures.
func BenchmarkStorm(b *testing.B) {
	sh := shapeFromEnv(b)
	bin := os.Getenv("STORM_KIROKUD")
	if bin == "" {
		bin = buildKirokud(b, b.TempDir(), "-trimpath")
	}
	res := storm(b, sh, bin, b)
	b.ReportMetric(float64(res.callerOK), "caller-ok")
	b.ReportMetric(float64(res.agentOK), "agent-ok")
	b.ReportMetric(float64(res.drops.dropsListener+res.drops.dropsOtherSIP), "sip-drops")
	b.ReportMetric(float64(res.withAudio), "stored")
	b.ReportMetric(float64(res.refused), "refused")
	b.ReportMetric(res.agentP99ms, "agent-p99-ms")
}

// result is what a storm's test needs of its figures.
type result struct {
	callerOK, agentOK  int
	drops              report
	withAudio, indexed int
	refused            int
	agentP99ms         float64
	spoolEmptied       bool
}

// storm runs one storm of shape sh against the kirokud binary bin and
// prints its figures; b, when not nil, has its timer run for the storm
// only.
func storm(tb testing.TB, sh shape, bin string, b *testing.B) result {
	ctx := tb.Context()
	dir := tb.TempDir()
	srv := s3test.Start(tb)

	callerRTP, err := newRTPPeer()
	if err != nil {
		tb.Fatal(err)
	}
	agentRTP, err := newRTPPeer()
	if err != nil {
		tb.Fatal(err)
	}
	rtpCtx, stopRTP := context.WithCancel(ctx)
	defer stopRTP()
	go callerRTP.run(rtpCtx)
	go agentRTP.run(rtpCtx)

	runFor := time.Duration(sh.calls/sh.rate)*time.Second + sh.hold + 90*time.Second
	agent := sipptest.Start(tb, sipptest.Options{
		Scenario: sipptest.Scenario(tb, "uas.xml"), Calls: sh.calls, Timeout: runFor,
		Keys:      map[string]string{"rtp_port": strconv.Itoa(agentRTP.port())},
		ExtraArgs: []string{"-buff_size", "4194304", "-max_recv_loops", "10000"},
	})

	sipPort := sipptest.FreePort(tb, "udp")
	if err := writeNotice(filepath.Join(dir, "notice.wav")); err != nil {
		tb.Fatal(err)
	}
	burst := sh.calls
	controlPort := sipptest.FreePort(tb, "tcp")
	controlAddr := "127.0.0.1:" + strconv.Itoa(controlPort)
	maxCalls := sh.calls + sh.calls/2 + 10
	if sh.maxCalls > 0 {
		maxCalls = sh.maxCalls
	}
	cfg := fmt.Sprintf(configTemplate, sipPort, maxCalls, 2*sh.rate, burst, 2*sh.rate, burst,
		controlPort, os.Getenv("STORM_PROFILE") != "", agent.Addr(), srv.Endpoint, srv.Bucket, srv.Region)
	if err := os.WriteFile(filepath.Join(dir, "kiroku.yaml"), []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	k := startKirokud(tb, bin, dir, sh.nice, []string{s3.EnvAccessKey + "=" + srv.AccessKey, s3.EnvSecretKey + "=" + srv.SecretKey})
	sipAddr := "127.0.0.1:" + strconv.Itoa(sipPort)
	if err := waitOptions(ctx, sipAddr, 20*time.Second); err != nil {
		tb.Fatalf("%v\n%s", err, k.log())
	}

	if sh.cpuQuota > 0 {
		unlimit, err := limitCPU(k.pid(), sh.cpuQuota)
		if err != nil {
			tb.Fatal(err)
		}
		defer unlimit() // after k.stop below: the group goes once kirokud has exited
	}
	var load *diskLoad
	if sh.diskLoad {
		load = startDiskLoad(filepath.Join(dir, "data"))
	}
	mon := startMonitor(k.pid(), sipPort)
	time.Sleep(2 * time.Second) // idle RSS and CPU before the storm
	mon.mark("idle")

	if b != nil {
		b.ResetTimer()
	}
	start := time.Now()
	// kirokud's scheduler waits (kiroku_sched_wait_seconds), read twice a
	// second through the storm: the highest median and 99th percentile.
	var schedMu sync.Mutex
	var schedP50, schedP99, throttled float64
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		for schedCtx.Err() == nil {
			if text, err := scrape(controlAddr); err == nil {
				schedMu.Lock()
				schedP50 = max(schedP50, counterSum(text, "kiroku_sched_wait_seconds", "quantile", "0.5"))
				schedP99 = max(schedP99, counterSum(text, "kiroku_sched_wait_seconds", "quantile", "0.99"))
				throttled = max(throttled, counterSum(text, "kiroku_cpu_throttled_ratio", "", ""))
				schedMu.Unlock()
			}
			select {
			case <-schedCtx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	caller := sipptest.Start(tb, sipptest.Options{
		Scenario: sipptest.Scenario(tb, "uac.xml"), Remote: sipAddr,
		Calls: sh.calls, Rate: sh.rate, Duration: sh.hold, Timeout: runFor,
		Keys:      map[string]string{"dialled": "0120000000", "caller": "0312345678", "rtp_port": strconv.Itoa(callerRTP.port())},
		ExtraArgs: []string{"-l", strconv.Itoa(sh.calls), "-buff_size", "4194304", "-max_recv_loops", "10000"},
	})
	// The steady window: every call started and set up, none ended yet.
	rampEnd := start.Add(time.Duration(float64(sh.calls)/float64(sh.rate)*float64(time.Second)) + 3*time.Second)
	if dir := os.Getenv("STORM_PROFILE"); dir != "" {
		// Where kirokud's CPU goes while the calls are being set up.
		go func() {
			secs := max(int(time.Until(rampEnd).Seconds()), 1)
			if err := saveProfile(controlAddr, fmt.Sprintf("profile?seconds=%d", secs), filepath.Join(dir, "cpu-ramp.pb.gz")); err != nil {
				fmt.Printf("  profile cpu-ramp not saved: %v\n", err)
			}
		}()
	}
	steadyEnd := start.Add(sh.hold - time.Second)
	if rampEnd.Before(steadyEnd) {
		sleepUntil(rampEnd)
		mon.mark("steady-start")
		sleepUntil(steadyEnd)
		mon.mark("steady-end")
		if dir := os.Getenv("STORM_PROFILE"); dir != "" {
			// The heap and goroutines with every call up, for `go tool pprof`.
			for _, p := range []string{"heap", "goroutine", "allocs"} {
				if err := saveProfile(controlAddr, p, filepath.Join(dir, p+".pb.gz")); err != nil {
					fmt.Printf("  profile %s not saved: %v\n", p, err)
				}
			}
		}
	}
	wctx, cancel := context.WithTimeout(ctx, runFor)
	cres := caller.Wait(wctx)
	ares := agent.Wait(wctx)
	cancel()
	if b != nil {
		b.StopTimer()
	}
	if load != nil {
		load.stop()
	}
	stopSched()
	<-schedDone
	stored := waitSpoolEmpty(filepath.Join(dir, "data"), 120*time.Second)
	mon.stop()
	stopRTP()
	metricsText, scrapeErr := scrape(controlAddr)
	k.stop()

	recs := readCatalog(tb, filepath.Join(dir, "data", "catalog.db"))
	lat := latencies(caller.Messages(), agent.Messages(), recs)

	r := mon.report()
	load1, _ := os.ReadFile("/proc/loadavg")
	quota := "none"
	if sh.cpuQuota > 0 {
		quota = fmt.Sprintf("%.2f cores", sh.cpuQuota)
	}
	fmt.Printf("storm: %d calls at %d/s held %s, disk load %v, kirokud's CPU quota %s, niceness %d, max_calls %d, %d CPUs, load average at the end %s\n", sh.calls, sh.rate, sh.hold, sh.diskLoad, quota, sh.nice, maxCalls, runtimeCPUs(), strings.Join(strings.Fields(string(load1))[:3], " "))
	fmt.Printf("  caller leg ok            %d (sipp: %d successful, %d failed, exit %d)\n", cres.Successful, cres.Successful, cres.Failed, cres.ExitCode)
	fmt.Printf("  agent leg ok             %d (sipp: %d successful, %d failed, exit %d)\n", ares.Successful, ares.Successful, ares.Failed, ares.ExitCode)
	fmt.Printf("  failed calls             caller side %d, agent side %d (of %d)\n", sh.calls-max(cres.Successful, 0), sh.calls-max(ares.Successful, 0), sh.calls)
	fmt.Printf("  datagrams dropped        sip listener %d, other sip sockets %d, rtp %d\n", r.dropsListener, r.dropsOtherSIP, r.dropsRTP)
	fmt.Printf("  set-up INVITE→200        p50 %s p99 %s (%d calls)\n", ms(lat.answer.p(50)), ms(lat.answer.p(99)), len(lat.answer))
	fmt.Printf("  caller's BYE→200         p50 %s p99 %s (%d calls)\n", ms(lat.bye.p(50)), ms(lat.bye.p(99)), len(lat.bye))
	fmt.Printf("  set-up INVITE→agent      p50 %s p99 %s (%d calls; the 500 ms notice and 200 ms opt-out window included)\n", ms(lat.agent.p(50)), ms(lat.agent.p(99)), len(lat.agent))
	refused := refusals(caller.Messages())
	nRefused := 0
	var refusedBy []string
	for line, n := range refused {
		nRefused += n
		refusedBy = append(refusedBy, fmt.Sprintf("%d× %s", n, line))
	}
	sort.Strings(refusedBy)
	fmt.Printf("  refused by kirokud       %d %v; admitted %d\n", nRefused, refusedBy, sh.calls-nRefused)
	fmt.Printf("  admitted calls           caller leg ok %d, agent leg ok %d of %d admitted\n", cres.Successful, ares.Successful, sh.calls-nRefused)
	if scrapeErr != nil {
		fmt.Printf("  kirokud metrics          not read: %v\n", scrapeErr)
	} else {
		for _, stage := range []string{"answer", "agent"} {
			p50, n := quantile(metricsText, "kiroku_sip_setup_stage_seconds", "stage", stage, 0.5)
			p99, _ := quantile(metricsText, "kiroku_sip_setup_stage_seconds", "stage", stage, 0.99)
			fmt.Printf("  kirokud's own %-6s     p50 %.1f ms p99 %.1f ms (%d calls; kiroku_sip_setup_stage_seconds, bucket-interpolated)\n", stage, p50*1e3, p99*1e3, int(n))
		}
		cp50, cn := quantile(metricsText, "kiroku_spool_commit_seconds", "", "", 0.5)
		cp99, _ := quantile(metricsText, "kiroku_spool_commit_seconds", "", "", 0.99)
		fmt.Printf("  kirokud's spool commits  p50 %.1f ms p99 %.1f ms, %d of %d batches over 250 ms (kiroku_spool_commit_seconds, bucket-interpolated)\n",
			cp50*1e3, cp99*1e3, int(cn-bucketCount(metricsText, "kiroku_spool_commit_seconds", "0.25")), int(cn))
		fmt.Printf("  kirokud overloaded       %d (kiroku_sip_overloaded_total)\n", int(counterSum(metricsText, "kiroku_sip_overloaded_total", "", "")))
		fmt.Printf("  kirokud's sched wait     highest median %.1f ms, highest p99 %.1f ms (kiroku_sched_wait_seconds over a second, read twice a second)\n", schedP50*1e3, schedP99*1e3)
		fmt.Printf("  kirokud's CPU throttled  highest %.0f %% of a second's periods (kiroku_cpu_throttled_ratio)\n", throttled*100)
	}
	own := readOwnTimes(recs)
	fmt.Printf("  kirokud's clock          INVITE→agent INVITE p50 %s p99 %s (%d calls; manifests), of which\n", ms(own.toAgent.p(50)), ms(own.toAgent.p(99)), len(own.toAgent))
	for _, st := range []struct {
		name string
		d    durations
	}{{"INVITE→the caller's ACK", own.acked}, {"ACK→the notice's start", own.toNotice}, {"the notice as played", own.notice}, {"notice's end→agent INVITE", own.afterNotice}} {
		fmt.Printf("    %-26s p50 %s p99 %s\n", st.name, ms(st.d.p(50)), ms(st.d.p(99)))
	}
	fmt.Printf("  recordings opened late   %d waited over a second for their file (p50 %s, max %s); %d lost audio past the recorder's ring (manifests: open_wait_ms, overrun)\n",
		len(own.openLate), ms(own.openLate.p(50)), ms(own.openLate.p(100)), own.overrun)
	fmt.Printf("  kirokud CPU per call     %.2f millicores (steady window %.1fs, %.2f cores); whole run %.1f CPU-s\n",
		r.milliCoresPerCall(sh.calls), r.steady.Seconds(), r.steadyCores, r.totalCPU.Seconds())
	fmt.Printf("  kirokud RSS per call     %.1f KiB at steady end, %.1f KiB at peak (idle %d KiB, peak %d KiB)\n",
		r.rssPerCall(r.steadyRSS, sh.calls), r.rssPerCall(r.peakRSS, sh.calls), r.idleRSS, r.peakRSS)
	fmt.Printf("  kirokud threads          peak %d\n", r.peakThreads)
	withAudio := 0
	for _, r := range recs {
		if r.ObjectKey != "" {
			withAudio++
		}
	}
	fmt.Printf("  recordings stored        %d with audio of %d calls (%d indexed; spool emptied: %v)\n", withAudio, sh.calls, len(recs), stored)
	for _, o := range outcomes(recs) {
		fmt.Printf("  catalog rows             %s\n", o)
	}
	fmt.Printf("  rtp packets              caller side sent %d recv %d, agent side sent %d recv %d\n",
		callerRTP.sent.Load(), callerRTP.recv.Load(), agentRTP.sent.Load(), agentRTP.recv.Load())
	if load != nil {
		fmt.Printf("  disk load                %d MiB written, %d fsyncs\n", load.written.Load()>>20, load.syncs.Load())
	}
	for _, side := range []struct {
		name string
		p    *sipptest.Process
	}{{"caller", caller}, {"agent", agent}} {
		for _, e := range topErrors(side.p.Errors(), 3) {
			fmt.Printf("  %-6s sipp error      %s\n", side.name, e)
		}
	}
	if dir := os.Getenv("STORM_LOGS"); dir != "" {
		// SIPp's own traces of both sides, kept for reading the failures.
		for _, side := range []struct {
			name string
			p    *sipptest.Process
		}{{"caller", caller}, {"agent", agent}} {
			os.WriteFile(filepath.Join(dir, side.name+"-errors.log"), []byte(side.p.Errors()), 0o644)     //nolint:errcheck,gosec // diagnostics
			os.WriteFile(filepath.Join(dir, side.name+"-messages.log"), []byte(side.p.Messages()), 0o644) //nolint:errcheck,gosec // diagnostics
		}
		// The manifests of the calls that recorded a silent channel.
		var silent []json.RawMessage
		for _, r := range recs {
			if len(r.SilentChannels) > 0 {
				silent = append(silent, json.RawMessage(r.Manifest))
			}
		}
		if b, err := json.MarshalIndent(silent, "", "  "); err == nil {
			os.WriteFile(filepath.Join(dir, "silent-manifests.json"), b, 0o644) //nolint:errcheck,gosec // diagnostics
		}
		if b, err := os.ReadFile(k.logPath); err == nil {
			os.WriteFile(filepath.Join(dir, "kirokud.log"), b, 0o644) //nolint:errcheck,gosec // diagnostics
		}
		fmt.Printf("  sipp traces and kirokud's log in %s\n", dir)
	}
	return result{callerOK: cres.Successful, agentOK: ares.Successful, drops: r, withAudio: withAudio, indexed: len(recs),
		refused: nRefused, agentP99ms: float64(lat.agent.p(99)) / 1e6, spoolEmptied: stored}
}

// topErrors counts SIPp's aborted calls by what was expected and what
// came instead, most frequent first.
func topErrors(log string, n int) []string {
	re := regexp.MustCompile(`while expecting '([^']*)' \(index (\d+)\), received '([^\r\n]*)`)
	count := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		count[fmt.Sprintf("expecting %s (index %s), got %q", m[1], m[2], m[3])]++
	}
	if other := strings.Count(log, "Dead call") + strings.Count(log, "timeout"); len(count) == 0 && other > 0 {
		count["dead calls or timeouts"] = other
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return count[keys[i]] > count[keys[j]] })
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%d× %s", count[k], k))
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// buildKirokud compiles kirokud with flags ("-trimpath" and no cgo, as
// `make build` does; none: as `go vet` compiled the packages, so that a
// test's build comes from the cache).
func buildKirokud(b testing.TB, dir string, flags ...string) string {
	bin := filepath.Join(dir, "kirokud")
	args := append(append([]string{"build"}, flags...), "-o", bin, "github.com/kiroku-voice/kiroku/cmd/kirokud")
	cmd := exec.Command("go", args...)
	if len(flags) > 0 {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build kirokud: %v\n%s", err, out)
	}
	return bin
}

type kirokud struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	once    sync.Once
}

func startKirokud(b testing.TB, bin, dir string, nice int, env []string) *kirokud {
	logPath := filepath.Join(dir, "kirokud.log")
	lf, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "kiroku.yaml"))
	if nice != 0 {
		// nice execs kirokud: the pid is kirokud's, and every thread it
		// makes has the niceness.
		cmd = exec.Command("nice", "-n", strconv.Itoa(nice), bin, "-config", filepath.Join(dir, "kiroku.yaml"))
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		b.Fatal(err)
	}
	k := &kirokud{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(k.done) }()
	b.Cleanup(k.stop)
	return k
}

func (k *kirokud) pid() int { return k.cmd.Process.Pid }

func (k *kirokud) log() string {
	b, _ := os.ReadFile(k.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop ends kirokud with SIGTERM, SIGKILL after 10 s.
func (k *kirokud) stop() {
	k.once.Do(func() {
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(10 * time.Second):
			_ = k.cmd.Process.Kill()
			<-k.done
		}
	})
}

// waitOptions sends OPTIONS until kirokud answers 200.
func waitOptions(ctx context.Context, addr string, limit time.Duration) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	deadline := time.Now().Add(limit)
	buf := make([]byte, 4096)
	for i := 0; time.Now().Before(deadline); i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-storm-%d\r\nFrom: <sip:storm@%s>;tag=s%d\r\nTo: <sip:%s>\r\nCall-ID: storm-ready-%d\r\nCSeq: %d OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			addr, local, i, local, i, addr, i, i+1)
		_, _ = c.Write([]byte(msg))
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
	}
	return fmt.Errorf("kirokud never answered OPTIONS 200 on %s within %s", addr, limit)
}

// waitSpoolEmpty waits until the spool holds no manifest (every call
// stored or given up) and says whether it got there.
func waitSpoolEmpty(dataDir string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(dataDir, "spool", "*.json"))
		if len(m) == 0 {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return false
}

func readCatalog(b testing.TB, path string) []*catalog.Recording {
	c, err := catalog.Open(context.Background(), path)
	if err != nil {
		b.Fatalf("open catalog: %v", err)
	}
	defer c.Close()
	recs, err := c.List(context.Background(), catalog.Filter{Limit: 1 << 20})
	if err != nil {
		b.Fatalf("list catalog: %v", err)
	}
	return recs
}
