package loadgen

import (
	"slices"
	"time"
)

func (r *runner) bridgedCount() int {
	n := 0
	for _, c := range r.calls {
		select {
		case <-c.bridged:
			n++
		default:
		}
	}
	return n
}

// relayedSnapshot reads every stream's relayed count: caller then agent
// side per call.
func (r *runner) relayedSnapshot() [][2]uint64 {
	out := make([][2]uint64, len(r.calls))
	for i, c := range r.calls {
		c.mu.Lock()
		cs, as := c.callerRTP, c.agentRTP
		c.mu.Unlock()
		if cs != nil {
			out[i][0] = cs.relayed.Load()
		}
		if as != nil {
			out[i][1] = as.relayed.Load()
		}
	}
	return out
}

// upNow reports which calls are up: bridged, not hung up, not failed.
func (r *runner) upNow() []bool {
	up := make([]bool, len(r.calls))
	for i, c := range r.calls {
		c.mu.Lock()
		up[i] = !c.bridgedAt.IsZero() && c.hangupAt.IsZero() && c.endedAt.IsZero() && c.failure == ""
		c.mu.Unlock()
	}
	return up
}

// heldThrough counts the calls up at both ends of a window of length d,
// and of those the calls whose audio crossed kirokud both ways through it
// (at least half the frames that fit in it, each way), and the share of
// those frames that arrived (at most all of them).
func heldThrough(up0, up1 []bool, a, b [][2]uint64, d time.Duration) (up, held int, delivered float64) {
	frames := float64(d) / float64(framePeriod)
	var got float64
	for i := range a {
		if !up0[i] || !up1[i] {
			continue
		}
		up++
		n0, n1 := float64(b[i][0]-a[i][0]), float64(b[i][1]-a[i][1])
		// A backlog from before the window may drain in it: count no
		// direction above what was due.
		got += min(n0, frames) + min(n1, frames)
		if n0 >= frames/2 && n1 >= frames/2 {
			held++
		}
	}
	if up > 0 && frames > 0 {
		delivered = got / (2 * frames * float64(up))
	}
	return up, held, delivered
}

func (r *runner) kirokuIDs() []string {
	var ids []string
	for _, c := range r.calls {
		c.mu.Lock()
		if c.kirokuID != "" {
			ids = append(ids, c.kirokuID)
		}
		c.mu.Unlock()
	}
	return ids
}

// collectCalls adds up the calls' timings, failures and RTP counts; the
// RTP sides are closed, so their receive counts are final.
func (r *runner) collectCalls(res *Result) {
	res.Failures = map[string]int{}
	var answer, bridge []time.Duration
	var firstBridge, lastBridge time.Time
	for _, c := range r.calls {
		c.mu.Lock()
		if !c.inviteAt.IsZero() {
			res.Attempted++
		}
		if c.failure != "" {
			res.Failures[c.failure]++
		}
		if !c.answeredAt.IsZero() {
			answer = append(answer, c.answeredAt.Sub(c.inviteAt))
		}
		if !c.bridgedAt.IsZero() {
			if from := maxTime(c.bridgedAt, res.rampFrom); from.Before(res.rampTo) {
				res.RampCallSeconds += res.rampTo.Sub(from).Seconds()
			}
			res.Bridged++
			bridge = append(bridge, c.bridgedAt.Sub(c.inviteAt))
			if firstBridge.IsZero() || c.bridgedAt.Before(firstBridge) {
				firstBridge = c.bridgedAt
			}
			lastBridge = maxTime(lastBridge, c.bridgedAt)
		}
		for side, st := range []*stream{c.agentRTP, c.callerRTP} {
			// side 0: caller -> agent, counted at the agent's socket.
			if st == nil {
				continue
			}
			dir := &res.Direction[side]
			dir.Relayed += st.rx.received
			dir.Lost += st.rx.lost()
			dir.Late += st.rx.late
			dir.Gaps += st.rx.gaps
		}
		if c.callerRTP != nil {
			res.Direction[0].Sent += c.callerRTP.sent.Load()
		}
		if c.agentRTP != nil {
			res.Direction[1].Sent += c.agentRTP.sent.Load()
		}
		c.mu.Unlock()
	}
	if res.Bridged > 1 {
		res.SetupSpan = lastBridge.Sub(firstBridge)
		res.SetupRate = float64(res.Bridged-1) / res.SetupSpan.Seconds()
	}
	res.AnswerP50, res.AnswerP99 = percentiles(answer)
	res.BridgeP50, res.BridgeP99 = percentiles(bridge)
	// Direction 0 (caller to agent) is received on the agent side.
	res.Transit = [2][phases]histogram{r.agentRTP.transit, r.callerRTP.transit}
	res.Direction[0].LostByPhase, res.Direction[1].LostByPhase = r.agentRTP.lost, r.callerRTP.lost
	res.KernelStamps = r.callerRTP.stamped && r.agentRTP.stamped
	res.SenderLate = [2][phases]histogram{r.callerRTP.late, r.agentRTP.late}
	res.Stray = r.callerRTP.stray.Load() + r.agentRTP.stray.Load()
	res.SendErrors = r.callerRTP.sendErrs.Load() + r.agentRTP.sendErrs.Load()
	res.StrayInvites = r.strayInvites.Load()
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*99/100)]
}
