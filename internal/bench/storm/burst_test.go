package storm

import (
	"testing"
	"time"
)

// TestBurstNoDrops: a burst of 600 calls at 150/s from SIPp, answered by
// a SIPp agent, loses no datagram on kirokud's SIP sockets — the
// listener, and the one its INVITEs, ACKs and BYEs to the agent go out
// from and whose answers come back to (once a socket bound to 0.0.0.0
// with the default 208 KiB buffer, which dropped 152–327 datagrams in
// such a burst). The calls are short: what is tested is the burst of
// set-ups and of hang-ups, not holding them (make bench-storm does).
func TestBurstNoDrops(t *testing.T) {
	bin := buildKirokud(t, t.TempDir())
	res := storm(t, shape{calls: 600, rate: 150, hold: 3 * time.Second}, bin, nil)
	if n := res.drops.dropsListener; n != 0 {
		t.Errorf("kirokud's SIP listener dropped %d datagrams in the burst", n)
	}
	if n := res.drops.dropsOtherSIP; n != 0 {
		t.Errorf("kirokud's other SIP sockets (the agent side) dropped %d datagrams in the burst", n)
	}
	// What the burst did to the calls is reported, not asserted: on a
	// machine shared with the rest of the tests SIPp itself is what
	// falls behind first. Every call kirokud took must still be indexed.
	t.Logf("caller legs ok %d, agent legs ok %d, refused %d, indexed %d, stored with audio %d, spool emptied %v",
		res.callerOK, res.agentOK, res.refused, res.indexed, res.withAudio, res.spoolEmptied)
	if !res.spoolEmptied {
		t.Error("the spool did not empty after the burst")
	}
	if res.indexed+res.refused < res.callerOK {
		t.Errorf("%d calls ok on the caller's side, but only %d indexed and %d refused", res.callerOK, res.indexed, res.refused)
	}
}
