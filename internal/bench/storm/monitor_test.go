package storm

import (
	"runtime"
	"sync"
	"time"
)

// monitor samples kirokud every 200 ms: CPU ticks, RSS, threads, and the
// drops of each of its UDP sockets (kept at their highest, so a socket
// closed at its call's end still counts).
type monitor struct {
	pid     int
	sipPort int
	quit    chan struct{}
	done    chan struct{}

	mu          sync.Mutex
	marks       map[string]sample
	peakRSS     uint64
	peakThreads uint64
	base        map[uint64]uint64 // drops of each socket at start
	drops       map[uint64]uint64 // highest drops seen of each socket
	kind        map[uint64]int    // 0 rtp, 1 the SIP listener, 2 another SIP socket
	first, last sample
	inodes      map[uint64]bool // kirokud's sockets at the last scan of its fds
	scanned     time.Time
}

// fdScanEvery spaces the scans of kirokud's open files. A scan reads a
// link per file (thousands in a storm) and cost the generator's process
// an eighth of its CPU when done every sample. Between scans a socket on
// a port of kirokud's RTP range is taken as kirokud's (nothing else here
// binds that range), and its SIP sockets live for the whole run.
const fdScanEvery = 2 * time.Second

type sample struct {
	at    time.Time
	ticks uint64
	rss   uint64
}

const rtpLo, rtpHi = 20000, 32767

func startMonitor(pid, sipPort int) *monitor {
	m := &monitor{pid: pid, sipPort: sipPort, quit: make(chan struct{}), done: make(chan struct{}),
		marks: map[string]sample{}, base: map[uint64]uint64{}, drops: map[uint64]uint64{}, kind: map[uint64]int{}}
	m.first = m.take(true)
	go m.loop()
	return m
}

func (m *monitor) loop() {
	defer close(m.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			m.take(false)
			return
		case <-t.C:
			m.take(false)
		}
	}
}

// take reads one sample; the first one's drops are the baseline.
func (m *monitor) take(first bool) sample {
	s := sample{at: time.Now()}
	s.ticks, _ = procStat(m.pid)
	rss, threads, err := procStatus(m.pid)
	s.rss = rss
	m.mu.Lock()
	defer m.mu.Unlock()
	if first || s.at.Sub(m.scanned) >= fdScanEvery {
		if inodes, err := socketInodes(m.pid); err == nil {
			m.inodes, m.scanned = inodes, s.at
		}
	}
	socks, _ := udpSockets()
	if err == nil {
		m.peakRSS = max(m.peakRSS, rss)
		m.peakThreads = max(m.peakThreads, threads)
	}
	for _, so := range socks {
		if !m.inodes[so.inode] && (so.port < rtpLo || so.port > rtpHi) {
			continue
		}
		if _, seen := m.drops[so.inode]; !seen {
			if first {
				m.base[so.inode] = so.drops
			}
			k := 0
			switch {
			case so.port == m.sipPort:
				k = 1
			case so.port < rtpLo || so.port > rtpHi:
				k = 2
			}
			m.kind[so.inode] = k
		}
		m.drops[so.inode] = max(m.drops[so.inode], so.drops)
	}
	if err == nil {
		m.last = s
	}
	return s
}

func (m *monitor) mark(name string) {
	s := m.take(false)
	m.mu.Lock()
	m.marks[name] = s
	m.mu.Unlock()
}

func (m *monitor) stop() {
	close(m.quit)
	<-m.done
}

type report struct {
	dropsListener, dropsOtherSIP, dropsRTP uint64
	steady                                 time.Duration
	steadyCores                            float64
	steadyRSS, idleRSS, peakRSS            uint64
	peakThreads                            uint64
	totalCPU                               time.Duration
}

func (m *monitor) report() report {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r report
	for ino, d := range m.drops {
		n := d - min(d, m.base[ino])
		switch m.kind[ino] {
		case 1:
			r.dropsListener += n
		case 2:
			r.dropsOtherSIP += n
		default:
			r.dropsRTP += n
		}
	}
	a, b := m.marks["steady-start"], m.marks["steady-end"]
	if !a.at.IsZero() && !b.at.IsZero() {
		r.steady = b.at.Sub(a.at)
		r.steadyCores = float64(b.ticks-a.ticks) / 100 / r.steady.Seconds()
		r.steadyRSS = b.rss
	}
	r.idleRSS = m.marks["idle"].rss
	r.peakRSS, r.peakThreads = m.peakRSS, m.peakThreads
	r.totalCPU = time.Duration(m.last.ticks-m.first.ticks) * 10 * time.Millisecond
	return r
}

func (r report) milliCoresPerCall(calls int) float64 { return 1000 * r.steadyCores / float64(calls) }

func (r report) rssPerCall(rss uint64, calls int) float64 {
	if rss < r.idleRSS {
		return 0
	}
	return float64(rss-r.idleRSS) / float64(calls)
}

func runtimeCPUs() int { return runtime.NumCPU() }
