package loadgen

// seqTracker counts one received RTP stream by sequence number, as RFC
// 3550 (appendix A.3) does: what was expected is the span from the first
// sequence number to the highest one (extended across wraps), what was
// lost is the expected count minus the received count. kirokud rewrites
// sequence numbers by a constant offset per source, so a packet missing
// anywhere on the way (our send, kirokud's receive, its relay, our
// receive) leaves a gap here.
type seqTracker struct {
	started  bool
	first    uint64 // extended sequence number of the first packet
	highest  uint64 // extended highest sequence number seen
	received uint64
	late     uint64 // packets that came after a higher one (reordered or duplicated)
	gaps     uint64 // forward jumps of more than one: bursts of loss
}

// add counts a packet with sequence number seq and returns how many
// packets it shows missing (the size of the gap it jumps, if any).
func (t *seqTracker) add(seq uint16) (missing uint64) {
	t.received++
	if !t.started {
		t.started = true
		t.first, t.highest = uint64(seq)|1<<32, uint64(seq)|1<<32 // room below for early stragglers
		return 0
	}
	cur := uint16(t.highest)
	d := seq - cur
	switch {
	case d == 0:
		t.late++ // a duplicate of the highest
	case d < 0x8000: // forward, possibly across a wrap
		if d > 1 {
			t.gaps++
			missing = uint64(d) - 1
		}
		t.highest += uint64(d)
	default: // behind the highest: reordered, or a duplicate
		t.late++
		back := uint64(cur - seq)
		if ext := t.highest - back; ext < t.first {
			t.first = ext // an earlier packet than the first one seen
		}
	}
	return missing
}

// expected is how many packets the span of sequence numbers holds.
func (t *seqTracker) expected() uint64 {
	if !t.started {
		return 0
	}
	return t.highest - t.first + 1
}

// lost is expected minus received, never below zero (duplicates count as
// received and can push it under).
func (t *seqTracker) lost() uint64 {
	e := t.expected()
	if t.received >= e {
		return 0
	}
	return e - t.received
}
