package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Options configure a benchmark run.
type Options struct {
	Calls    int           // concurrent calls to hold
	Rate     float64       // new calls per second while ramping up
	Hold     time.Duration // each call's length, from its INVITE to its BYE
	Kirokud  string        // kirokud binary
	Dir      string        // working folder: config, notice, data, log
	RTPPorts string        // kirokud's sip.rtp_ports, e.g. "20000-32767"
	// SocketBuffer is asked for as SO_RCVBUF and SO_SNDBUF of the two RTP
	// sockets (forced past net.core.rmem_max when running as root).
	SocketBuffer int
	// WaitQuiet, when positive, is how long to wait before starting for the
	// machine to be quiet (other processes below QuietCores busy): the
	// machine may be shared and a noisy neighbour skews every figure.
	WaitQuiet time.Duration
	// HeapProfile, when set, is a file the heap profile of kirokud is
	// written to at the end of the steady window (all calls up): kirokud
	// then serves its profiles on its control listener (control.pprof).
	HeapProfile string
	Log         io.Writer // progress lines; nil for none
}

// QuietCores is the machine's busy cores under which WaitQuiet starts.
const QuietCores = 0.3

// Settling times around the steady window in which CPU and memory are
// measured: after the last call is bridged, and before the first BYE.
const (
	settleAfterRamp = time.Second
	stopBeforeBye   = 500 * time.Millisecond
	idleWindow      = 2 * time.Second
	manifestWait    = 30 * time.Second
)

type runner struct {
	opts       Options
	line       string
	kirokudSIP netip.AddrPort
	calls      []*call

	caller struct {
		*sipUA
		dialogs *sipgo.DialogClientCache
	}
	agent struct {
		*sipUA
		dialogs *sipgo.DialogServerCache
	}
	callerRTP, agentRTP *rtpSide
	strayInvites        atomic.Uint64
	phase               atomic.Int32
}

// Run starts kirokud from opts.Kirokud in opts.Dir, drives opts.Calls calls
// through it and returns the figures. It stops kirokud before returning;
// ctx bounds the whole run.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Calls <= 0 || opts.Rate <= 0 || opts.Hold <= 0 {
		return nil, fmt.Errorf("calls, rate and hold must be positive")
	}
	if opts.SocketBuffer <= 0 {
		opts.SocketBuffer = 16 << 20
	}
	res := &Result{Options: opts}
	r := &runner{opts: opts, line: lineNumber}
	if opts.WaitQuiet > 0 {
		res.Waited, res.QuietBusy = waitQuiet(ctx, opts.WaitQuiet)
		r.logf("waited %.0fs for the machine to quiet down: %.2f cores busy", res.Waited.Seconds(), res.QuietBusy)
	}
	var err error
	if res.NoFile, err = raiseNoFile(); err != nil {
		r.logf("open-file limit stays at %d: %v", res.NoFile, err)
	}
	if err := r.open(); err != nil {
		return nil, errors.Join(err, r.close())
	}
	defer r.close()
	res.RcvBuf, res.SndBuf = r.callerRTP.rcvBuf, r.callerRTP.sndBuf

	d, err := startKirokud(ctx, opts, r.agent.addr)
	if err != nil {
		return nil, err
	}
	res.KirokudLog = d.logPath
	defer d.stop()
	r.kirokudSIP = d.sip
	if err := r.waitReady(ctx, d); err != nil {
		return nil, err
	}
	r.logf("kirokud ready (pid %d, sip %s); measuring idle for %s", d.pid(), d.sip, idleWindow+time.Second)
	idle, err := r.measureIdle(ctx, d, res)
	if err != nil {
		return nil, err
	}
	drops0, _ := udpDrops()
	if err := r.drive(ctx, d, res, drops0); err != nil {
		return nil, err
	}
	r.collectCalls(res)

	r.logf("waiting for %d manifests to be final", res.Bridged)
	res.Manifests, err = waitManifests(ctx, filepath.Join(opts.Dir, "data"), r.kirokuIDs(), manifestWait)
	if err != nil {
		r.logf("manifests: %v", err)
	}
	if end, err := takeSample(d.pid()); err == nil {
		res.UDP = udpDelta(idle.udp, end.udp)
	}
	if drops, err := udpDrops(); err == nil {
		res.Drops.add(r.sockets(d), drops0, drops, false)
	}
	res.KirokudExit = d.stop()
	res.summarize()
	return res, nil
}

func (r *runner) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, "kiroku-load: "+format+"\n", args...)
	}
}

// measureIdle samples kirokud at rest: after a second, over idleWindow.
func (r *runner) measureIdle(ctx context.Context, d *kirokud, res *Result) (sample, error) {
	if err := sleepCtx(ctx, time.Second); err != nil {
		return sample{}, err
	}
	idle0, err := takeSample(d.pid())
	if err != nil {
		return sample{}, err
	}
	if err := sleepCtx(ctx, idleWindow); err != nil {
		return sample{}, err
	}
	idle1, err := takeSample(d.pid())
	if err != nil {
		return sample{}, err
	}
	res.Idle = span(idle0, idle1)
	return idle1, nil
}

// drive ramps the calls up, measures the steady window, and returns once
// every call has ended and the RTP sides are closed.
func (r *runner) drive(ctx context.Context, d *kirokud, res *Result, drops0 map[int]uint64) error {
	peak := newPeakSampler(d.pid())
	defer peak.stop()
	ramp0, err := takeSample(d.pid())
	if err != nil {
		return err
	}
	r.callerRTP.start()
	r.agentRTP.start()
	r.logf("ramping %d calls at %.0f/s, each held %s", r.opts.Calls, r.opts.Rate, r.opts.Hold)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range r.calls {
		if err := sleepUntil(ctx, start.Add(time.Duration(float64(i)/r.opts.Rate*float64(time.Second)))); err != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.callerLeg(ctx, c)
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()

	steadyFrom, steadyTo, ok := r.steadyWindow(ctx, start, allDone)
	if ramp1, err := takeSample(d.pid()); err == nil {
		res.Ramp = span(ramp0, ramp1)
		res.rampFrom, res.rampTo = ramp0.at, ramp1.at
	}
	if ok {
		r.logf("steady: measuring %.1fs with %d calls bridged", steadyTo.Sub(steadyFrom).Seconds(), r.bridgedCount())
		r.measureSteady(ctx, d, res, steadyFrom, steadyTo, drops0)
	} else {
		r.logf("no steady window: the hold time is too short for the ramp (or calls failed to bridge)")
	}
	r.phase.Store(phaseEnd)
	r.logf("hanging up")
	select {
	case <-allDone:
	case <-ctx.Done():
		return fmt.Errorf("calls did not end: %w", ctx.Err())
	}
	// Packets relayed at the very end are still on their way for a moment.
	_ = sleepCtx(ctx, 300*time.Millisecond)
	res.PeakRSSKiB = peak.stop()
	if err := errors.Join(r.callerRTP.close(), r.agentRTP.close()); err != nil {
		r.logf("closing rtp sockets: %v", err)
	}
	return nil
}

// measureSteady samples kirokud at both ends of the steady window, and
// which calls carried audio both ways through it.
func (r *runner) measureSteady(ctx context.Context, d *kirokud, res *Result, from, to time.Time, drops0 map[int]uint64) {
	if sleepUntil(ctx, from) != nil {
		return
	}
	s0, err := takeSample(d.pid())
	if err != nil {
		return
	}
	snap0, up0 := r.relayedSnapshot(), r.upNow()
	r.phase.Store(phaseSteady)
	if sleepUntil(ctx, to) != nil {
		return
	}
	s1, err := takeSample(d.pid())
	if r.opts.HeapProfile != "" {
		if err := d.heapProfile(ctx, r.opts.HeapProfile); err != nil {
			r.logf("heap profile: %v", err)
		} else {
			r.logf("heap profile of kirokud with %d calls up written to %s", r.bridgedCount(), r.opts.HeapProfile)
		}
	}
	r.phase.Store(phaseEnd)
	if drops, err := udpDrops(); err == nil {
		res.Drops.add(r.sockets(d), drops0, drops, true)
	}
	if err == nil {
		res.Steady = span(s0, s1)
		res.Up, res.Held, res.Delivered = heldThrough(up0, r.upNow(), snap0, r.relayedSnapshot(), s1.at.Sub(s0.at))
	}
}

func (r *runner) open() error {
	var err error
	if r.callerRTP, err = listenRTPSide("caller", toneFrame(callerHz), toneFrame(agentHz), r.opts.SocketBuffer, &r.phase); err != nil {
		return err
	}
	if r.agentRTP, err = listenRTPSide("agent", toneFrame(agentHz), toneFrame(callerHz), r.opts.SocketBuffer, &r.phase); err != nil {
		return err
	}
	if r.caller.sipUA, err = newSIPUA("caller"); err != nil {
		return err
	}
	r.caller.dialogs = sipgo.NewDialogClientCache(r.caller.cli, r.caller.contact)
	r.caller.srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if err := r.caller.dialogs.ReadBye(req, tx); err != nil {
			respond(tx, req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
	})
	if r.agent.sipUA, err = newSIPUA("agent"); err != nil {
		return err
	}
	r.agent.dialogs = sipgo.NewDialogServerCache(r.agent.cli, r.agent.contact)
	r.agent.srv.OnInvite(r.agentInvite)
	r.agent.srv.OnAck(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) { _ = r.agent.dialogs.ReadAck(req, tx) })
	r.agent.srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if err := r.agent.dialogs.ReadBye(req, tx); err != nil {
			respond(tx, req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
	})
	r.calls = make([]*call, r.opts.Calls)
	for i := range r.calls {
		r.calls[i] = newCall(i)
	}
	return errors.Join(r.caller.serve(), r.agent.serve())
}

// close releases the sockets and user agents; it may run twice.
func (r *runner) close() error {
	var errs []error
	for _, s := range []*rtpSide{r.callerRTP, r.agentRTP} {
		if s != nil {
			errs = append(errs, s.close())
		}
	}
	for _, u := range []*sipUA{r.caller.sipUA, r.agent.sipUA} {
		if u != nil {
			errs = append(errs, u.close())
		}
	}
	return errors.Join(errs...)
}

// socketPorts names the ports of each kind of socket in a run.
type socketPorts struct {
	kirokudSIP   int
	rtpLo, rtpHi int // kirokud's RTP range
	generatorSIP [2]int
	generatorRTP [2]int
}

func (r *runner) sockets(d *kirokud) socketPorts {
	lo, hi, _ := portRange(r.opts.RTPPorts)
	return socketPorts{kirokudSIP: int(d.sip.Port()), rtpLo: lo, rtpHi: hi,
		generatorSIP: [2]int{int(r.caller.addr.Port()), int(r.agent.addr.Port())},
		generatorRTP: [2]int{r.callerRTP.port, r.agentRTP.port}}
}

// waitReady polls kirokud with OPTIONS until it answers 200.
func (r *runner) waitReady(ctx context.Context, d *kirokud) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		octx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		code, err := r.caller.options(octx, d.sip)
		cancel()
		if err == nil && code == sipmsg.StatusOK {
			return nil
		}
		if d.exited() {
			return fmt.Errorf("kirokud exited at start; see %s", d.logPath)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("kirokud never answered OPTIONS on %s (last: %d %v); see %s", d.sip, code, err, d.logPath)
		}
		_ = sleepCtx(ctx, 100*time.Millisecond)
	}
}

// steadyWindow waits until every call has been bridged or has failed and
// returns the window from then (plus a settling second) to just before the
// first call hangs up.
func (r *runner) steadyWindow(ctx context.Context, start time.Time, allDone <-chan struct{}) (from, to time.Time, ok bool) {
	firstBye := start.Add(r.opts.Hold)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		settled, last := true, time.Time{}
		for _, c := range r.calls {
			c.mu.Lock()
			switch {
			case !c.bridgedAt.IsZero():
				last = maxTime(last, c.bridgedAt)
			case c.failure == "" && !c.inviteAt.IsZero() && c.endedAt.IsZero():
				settled = false
			case c.inviteAt.IsZero():
				settled = false // not started yet
			}
			c.mu.Unlock()
		}
		if settled {
			from, to = last.Add(settleAfterRamp), firstBye.Add(-stopBeforeBye)
			return from, to, !last.IsZero() && to.Sub(from) >= time.Second
		}
		if time.Now().After(firstBye) {
			return from, to, false
		}
		select {
		case <-ctx.Done():
			return from, to, false
		case <-allDone:
		case <-t.C:
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	return sleepUntil(ctx, time.Now().Add(d))
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
