package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc times: 100 on every Linux port
// that Go supports.
const clockTicks = 100

// sample is a reading of kirokud, of this process and of the machine at
// one moment.
type sample struct {
	at       time.Time
	kTicks   uint64 // kirokud utime+stime, in clock ticks
	kRSS     uint64 // kirokud VmRSS, KiB
	self     time.Duration
	cpuBusy  uint64 // machine, clock ticks not idle or iowait
	cpuTotal uint64
	udp      map[string]uint64 // /proc/net/snmp Udp counters
}

// takeSample reads everything a sample holds; a reading that fails is
// returned as an error (kirokud exited, /proc missing).
func takeSample(pid int) (sample, error) {
	s := sample{at: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("sample kirokud: %w", err)
	}
	if s.kTicks, err = parseStatTicks(b); err != nil {
		return s, fmt.Errorf("sample kirokud: %w", err)
	}
	if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err != nil {
		return s, fmt.Errorf("sample kirokud: %w", err)
	}
	if s.kRSS, err = parseStatusKiB(b, "VmRSS"); err != nil {
		return s, fmt.Errorf("sample kirokud: %w", err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err = os.ReadFile("/proc/stat"); err == nil {
		s.cpuBusy, s.cpuTotal, _ = parseCPULine(b)
	}
	if b, err = os.ReadFile("/proc/net/snmp"); err == nil {
		s.udp, _ = parseSNMP(b, "Udp")
	}
	return s, nil
}

// parseStatTicks returns utime+stime from a /proc/<pid>/stat line. The
// command name may hold spaces and parentheses, so fields are counted from
// the last ')'.
func parseStatTicks(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name, want at least 13", len(f))
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return u + s, nil
}

// parseStatusKiB reads a "Key:   123 kB" line of /proc/<pid>/status.
func parseStatusKiB(b []byte, key string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status %s: %w", key, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("status: no %s", key)
}

// parseCPULine reads the machine's "cpu" line of /proc/stat: busy is
// every tick not idle or waiting for I/O.
func parseCPULine(b []byte) (busy, total uint64, err error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: no cpu line")
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, nil
}

// parseSNMP reads one protocol's counters from /proc/net/snmp, where a
// header line of names is followed by a line of values.
func parseSNMP(b []byte, proto string) (map[string]uint64, error) {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		p, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || p != proto {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		out := make(map[string]uint64, len(f))
		for i, v := range f {
			if i < len(names) {
				n, _ := strconv.ParseUint(v, 10, 64)
				out[names[i]] = n
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("snmp: no %s counters", proto)
}

// cores is the CPU time between two tick counts as a number of cores.
func cores(ticks0, ticks1 uint64, d time.Duration) float64 {
	if d <= 0 || ticks1 < ticks0 {
		return 0
	}
	return float64(ticks1-ticks0) / clockTicks / d.Seconds()
}

// raiseNoFile lifts the soft open-file limit to the hard one; children
// started afterwards (kirokud) inherit it, because setting it explicitly
// stops Go from restoring the original limit in children.
func raiseNoFile() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return l.Cur, fmt.Errorf("setrlimit: %w", err)
	}
	return l.Cur, nil
}

// udpDrops reads /proc/net/udp and returns each bound port's drop count
// (packets the kernel dropped on that socket: a full receive buffer).
func udpDrops() (map[int]uint64, error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return nil, fmt.Errorf("udp drops: %w", err)
	}
	return parseUDPDrops(b)
}

func parseUDPDrops(b []byte) (map[int]uint64, error) {
	out := map[int]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // the header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 {
			continue
		}
		_, port, ok := strings.Cut(f[1], ":")
		p, err1 := strconv.ParseUint(port, 16, 16)
		d, err2 := strconv.ParseUint(f[len(f)-1], 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return out, fmt.Errorf("udp drops: bad line %q", sc.Text())
		}
		out[int(p)] += d
	}
	return out, sc.Err()
}

// peakSampler reads kirokud's RSS every half second for its peak.
type peakSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak atomic.Uint64
	once sync.Once
}

func newPeakSampler(pid int) *peakSampler {
	p := &peakSampler{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				if kib, err := parseStatusKiB(b, "VmRSS"); err == nil && kib > p.peak.Load() {
					p.peak.Store(kib)
				}
			}
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// stop ends the sampler and returns the peak; it is idempotent.
func (p *peakSampler) stop() uint64 {
	p.once.Do(func() { close(p.done); p.wg.Wait() })
	return p.peak.Load()
}

// machineBusy reads the machine's busy cores over d.
func machineBusy(ctx context.Context, d time.Duration) (float64, error) {
	b0, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	if err := sleepCtx(ctx, d); err != nil {
		return 0, err
	}
	b1, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	busy0, total0, err0 := parseCPULine(b0)
	busy1, total1, err1 := parseCPULine(b1)
	if err := errors.Join(err0, err1); err != nil || total1 <= total0 {
		return 0, err
	}
	return float64(busy1-busy0) / float64(total1-total0) * float64(runtime.NumCPU()), nil
}

// waitQuiet waits, at most max, until the machine is less busy than
// QuietCores over a second; it returns how long it waited and the last
// reading.
func waitQuiet(ctx context.Context, max time.Duration) (time.Duration, float64) {
	start := time.Now()
	for {
		busy, err := machineBusy(ctx, time.Second)
		if err != nil || busy < QuietCores || time.Since(start) >= max {
			return time.Since(start), busy
		}
	}
}
