package loadgen

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets of the benchmark on the 2-core reference machine (issue
// "Dual-channel recording…", DESIGN.md's performance budget).
const (
	TargetCalls        = 500
	TargetLossPercent  = 0.1
	TargetRSSPerCall   = 128 // KiB
	TargetSetupsPerSec = 100
	TargetMilliCores   = 1.7 // per call: rtpengine's figure, DESIGN.md's goal
)

// Window is what kirokud, this process and the machine did between two
// samples.
type Window struct {
	Duration     time.Duration
	KirokudCores float64
	SelfCores    float64 // the load generator
	MachineCores float64 // every process, kirokud and the generator included
	RSSStartKiB  uint64
	RSSEndKiB    uint64
}

func span(a, b sample) Window {
	d := b.at.Sub(a.at)
	w := Window{Duration: d, KirokudCores: cores(a.kTicks, b.kTicks, d), RSSStartKiB: a.kRSS, RSSEndKiB: b.kRSS}
	if d > 0 {
		w.SelfCores = (b.self - a.self).Seconds() / d.Seconds()
	}
	if tot := b.cpuTotal - a.cpuTotal; tot > 0 && b.cpuTotal > a.cpuTotal {
		w.MachineCores = float64(b.cpuBusy-a.cpuBusy) / float64(tot) * float64(runtime.NumCPU())
	}
	return w
}

// DirStats is the RTP of one direction through kirokud, counted at the
// receiving side by sequence number.
type DirStats struct {
	Sent    uint64 // frames the sending side sent (from its 200 OK on)
	Relayed uint64 // frames of the sender's tone that kirokud delivered
	Lost    uint64 // gaps in kirokud's sequence numbers among them
	Late    uint64 // reordered or duplicated
	Gaps    uint64 // bursts of loss
	// LostByPhase is Lost by the phase in which each gap showed.
	LostByPhase [phases]uint64
}

// LossPercent is lost over lost+relayed.
func (d DirStats) LossPercent() float64 {
	if d.Relayed+d.Lost == 0 {
		return 0
	}
	return 100 * float64(d.Lost) / float64(d.Relayed+d.Lost)
}

// Result is what a run measured.
type Result struct {
	Options Options

	Waited    time.Duration // waiting for a quiet machine (Options.WaitQuiet)
	QuietBusy float64       // the machine's busy cores when the run started

	NoFile         uint64 // open-file limit kirokud inherited
	RcvBuf, SndBuf int    // effective buffers of the RTP sockets
	KirokudLog     string
	KirokudExit    error

	Idle Window // kirokud started, no call
	Ramp Window // first INVITE to the last call bridged
	// RampCallSeconds is how long calls were bridged during the ramp,
	// added up: the relay work kirokud did besides setting calls up.
	RampCallSeconds  float64
	rampFrom, rampTo time.Time
	Steady           Window  // every call bridged, none hung up
	Up               int     // calls bridged through the steady window (SIP)
	Held             int     // of those, calls with audio both ways through it
	Delivered        float64 // share of the frames due in the window that kirokud relayed

	PeakRSSKiB uint64

	Attempted, Bridged   int
	Failures             map[string]int
	SetupRate            float64 // bridged calls per second, first to last bridge
	SetupSpan            time.Duration
	AnswerP50, AnswerP99 time.Duration // INVITE to 200 OK at the caller
	BridgeP50, BridgeP99 time.Duration // INVITE to the agent leg's ACK (notice + opt-out wait included)

	Direction [2]DirStats // 0: caller to agent, 1: agent to caller
	// Transit is, per direction and phase, each relayed packet's time from
	// our send to its arrival on the other side (the kernel's receive stamp
	// when KernelStamps): kirokud's relay latency plus two loopback hops.
	Transit      [2][phases]histogram
	KernelStamps bool
	// SenderLate is how late the generator's 2 ms send ticks ran, per side
	// (caller, agent) and phase.
	SenderLate   [2][phases]histogram
	Stray        uint64 // RTP from ports of no call
	SendErrors   uint64
	StrayInvites uint64

	Manifests ManifestStats
	Drops     SocketDrops
	UDP       map[string]int64 // /proc/net/snmp Udp deltas over the calls (whole machine)

	MilliCoresPerCall float64
	RSSPerCallKiB     float64
}

// SocketDrops are packets the kernel dropped on full receive buffers, by
// socket (from /proc/net/udp).
type SocketDrops struct {
	KirokudSIP   uint64
	KirokudRTP   uint64 // counted before hang-up, while the legs' sockets exist
	GeneratorSIP uint64
	GeneratorRTP uint64
}

// add takes the drops of a snapshot against the baseline: kirokud's RTP
// sockets only from the snapshot taken while calls are up (rtp), the
// long-lived sockets from the latest.
func (d *SocketDrops) add(p socketPorts, base, now map[int]uint64, rtp bool) {
	delta := func(port int) uint64 {
		if now[port] < base[port] {
			return now[port]
		}
		return now[port] - base[port]
	}
	if rtp {
		d.KirokudRTP = 0
		for port := p.rtpLo; port <= p.rtpHi; port++ {
			d.KirokudRTP += now[port]
		}
	}
	d.KirokudSIP = delta(p.kirokudSIP)
	d.GeneratorSIP = delta(p.generatorSIP[0]) + delta(p.generatorSIP[1])
	d.GeneratorRTP = delta(p.generatorRTP[0]) + delta(p.generatorRTP[1])
}

func udpDelta(a, b map[string]uint64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range b {
		out[k] = int64(v) - int64(a[k])
	}
	return out
}

func (r *Result) summarize() {
	if r.Up > 0 {
		r.MilliCoresPerCall = 1000 * r.Steady.KirokudCores / float64(r.Up)
		r.RSSPerCallKiB = (float64(r.Steady.RSSEndKiB) - float64(r.Idle.RSSEndKiB)) / float64(r.Up)
	}
}

// Print writes the figures as a table.
func (r *Result) Print(w io.Writer) {
	o := r.Options
	p := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-34s %s\n", name, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "kiroku-load: %d calls at %.0f/s held %s, %d CPUs, rtp sockets rcvbuf %d KiB sndbuf %d KiB, nofile %d\n",
		o.Calls, o.Rate, o.Hold, runtime.NumCPU(), r.RcvBuf>>10, r.SndBuf>>10, r.NoFile)
	if o.WaitQuiet > 0 {
		p("waited for a quiet machine", "%.0fs: %.2f cores busy at the start (want < %.1f)", r.Waited.Seconds(), r.QuietBusy, QuietCores)
	}
	p("calls set up per second", "%.1f  (%d of %d bridged in %.2fs; INVITE→200 p50 %s p99 %s; INVITE→agent ACK p50 %s p99 %s)",
		r.SetupRate, r.Bridged, r.Attempted, r.SetupSpan.Seconds(), ms(r.AnswerP50), ms(r.AnswerP99), ms(r.BridgeP50), ms(r.BridgeP99))
	p("concurrent calls held", "%d  (of %d up through the steady window of %.1fs, with audio both ways; %.2f %% of the frames due relayed in it)",
		r.Held, r.Up, r.Steady.Duration.Seconds(), 100*r.Delivered)
	p("kirokud cores used", "%.3f  (idle %.3f; during the ramp %.3f: ≈ %.1f ms CPU per call set-up, the relay of calls already up taken out)",
		r.Steady.KirokudCores, r.Idle.KirokudCores, r.Ramp.KirokudCores, r.SetupMs())
	p("kirokud CPU per call", "%.2f millicores", r.MilliCoresPerCall)
	p("kirokud RSS per call", "%.1f KiB above idle  (idle %s, steady %s, peak %s)",
		r.RSSPerCallKiB, mib(r.Idle.RSSEndKiB), mib(r.Steady.RSSEndKiB), mib(r.PeakRSSKiB))
	p("load generator cores used", "%.3f  (during the ramp %.3f)", r.Steady.SelfCores, r.Ramp.SelfCores)
	p("machine cores busy", "%.3f of %d, of which other processes %.3f  (idle phase %.3f; ramp %.3f)",
		r.Steady.MachineCores, runtime.NumCPU(), max(r.Steady.MachineCores-r.Steady.KirokudCores-r.Steady.SelfCores, 0),
		r.Idle.MachineCores, r.Ramp.MachineCores)
	for i, name := range []string{"RTP caller→agent", "RTP agent→caller"} {
		d := r.Direction[i]
		p(name, "relayed %d  lost %d (%.4f %%; ramp %d, steady %d, hang-up %d)  late %d  loss bursts %d  (sent %d)",
			d.Relayed, d.Lost, d.LossPercent(), d.LostByPhase[phaseRamp], d.LostByPhase[phaseSteady], d.LostByPhase[phaseEnd], d.Late, d.Gaps, d.Sent)
		for ph, pn := range phaseNames {
			p("  transit, "+pn, "%s", r.Transit[i][ph].String())
		}
	}
	for i, name := range []string{"generator send lateness, caller", "generator send lateness, agent"} {
		p(name, "")
		for ph, pn := range phaseNames {
			p("  "+pn, "%s", r.SenderLate[i][ph].String())
		}
	}
	m := r.Manifests
	p("recordings produced / expected", "%d / %d  (manifests final %d: %d in the spool, %d already stored; not final %d; write errors %d)",
		m.Recorded, r.Bridged, m.Read, m.FromSpool, m.FromStore, m.Missing, m.Errors)
	p("recording gaps (manifests)", "%d ms total  (packets %d, lost %d, late %d, resyncs %d; audio %.0fs)",
		m.GapMs, m.Packets, m.Lost, m.Late, m.Resyncs, m.Duration)
	dr := r.Drops
	p("socket drops (full buffers)", "kirokud SIP %d  kirokud RTP %d  generator SIP %d  generator RTP %d",
		dr.KirokudSIP, dr.KirokudRTP, dr.GeneratorSIP, dr.GeneratorRTP)
	if len(r.UDP) > 0 {
		p("kernel UDP errors (whole machine)", "RcvbufErrors %d  SndbufErrors %d  InErrors %d  NoPorts %d",
			r.UDP["RcvbufErrors"], r.UDP["SndbufErrors"], r.UDP["InErrors"], r.UDP["NoPorts"])
	}
	if r.Stray+r.SendErrors+r.StrayInvites > 0 {
		p("generator oddities", "stray RTP %d  send errors %d  stray INVITEs %d", r.Stray, r.SendErrors, r.StrayInvites)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "  failures:\n")
		for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
			fmt.Fprintf(w, "    %5d  %s\n", r.Failures[k], k)
		}
	}
	if len(m.Ends) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m.Ends)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, m.Ends[k]))
		}
		p("end reasons (manifests)", "%s", strings.Join(parts, ", "))
	}
	if r.KirokudExit != nil {
		p("kirokud exit", "%v", r.KirokudExit)
	}
	fmt.Fprintf(w, "targets (2-core machine, generator included):\n")
	loss := max(r.Direction[0].LossPercent(), r.Direction[1].LossPercent())
	t := func(name string, ok bool, format string, args ...any) {
		verdict := "met"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  %-34s %-6s %s\n", name, verdict, fmt.Sprintf(format, args...))
	}
	t(fmt.Sprintf("≥ %d concurrent recorded calls", TargetCalls), r.Held >= TargetCalls && m.Recorded >= r.Held && r.Delivered >= 0.99,
		"%d held, %d recorded, %.2f %% of frames relayed in time", r.Held, m.Recorded, 100*r.Delivered)
	t(fmt.Sprintf("< %.1f %% RTP loss", TargetLossPercent), loss < TargetLossPercent && r.Up > 0, "%.4f %% worst direction", loss)
	t(fmt.Sprintf("≤ %d KiB RSS per call", TargetRSSPerCall), r.Up > 0 && r.RSSPerCallKiB <= TargetRSSPerCall, "%.1f KiB", r.RSSPerCallKiB)
	t(fmt.Sprintf("≥ %d call set-ups per second", TargetSetupsPerSec), r.SetupRate >= TargetSetupsPerSec, "%.1f/s (offered %.0f/s)", r.SetupRate, o.Rate)
	t(fmt.Sprintf("≤ %.1f millicores per call (design)", TargetMilliCores), r.Up > 0 && r.MilliCoresPerCall <= TargetMilliCores, "%.2f", r.MilliCoresPerCall)
}

// SetupMs is kirokud's CPU time per call set up: its CPU during the ramp
// less what relaying the calls already bridged cost at the steady rate.
func (r *Result) SetupMs() float64 {
	if r.Bridged == 0 {
		return 0
	}
	cpu := r.Ramp.KirokudCores*r.Ramp.Duration.Seconds() - r.MilliCoresPerCall/1000*r.RampCallSeconds
	return max(cpu, 0) * 1000 / float64(r.Bridged)
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
}

func mib(kib uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
