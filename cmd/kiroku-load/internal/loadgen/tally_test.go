package loadgen

import (
	"testing"
	"time"
)

func TestHeldThrough(t *testing.T) {
	// A 1 s window holds 50 frames each way.
	up0 := []bool{true, true, true, false, true}
	up1 := []bool{true, true, true, true, false}
	a := [][2]uint64{{0, 0}, {100, 100}, {0, 0}, {0, 0}, {0, 0}}
	b := [][2]uint64{
		{60, 50},   // held, everything relayed (and a backlog: no more than due counts)
		{130, 125}, // held: at least half each way
		{50, 10},   // up, but the agent's audio stopped
		{50, 50},   // bridged during the window: not counted
		{50, 50},   // hung up during the window: not counted
	}
	up, held, delivered := heldThrough(up0, up1, a, b, time.Second)
	if up != 3 || held != 2 {
		t.Errorf("got %d up, %d held; want 3 up, 2 held", up, held)
	}
	if want := (100.0 + 55 + 60) / 300; delivered != want {
		t.Errorf("got %.4f of the frames delivered, want %.4f", delivered, want)
	}
	if up, held, d := heldThrough(nil, nil, nil, nil, time.Second); up != 0 || held != 0 || d != 0 {
		t.Errorf("got %d %d %v for no calls, want zeros", up, held, d)
	}
}
