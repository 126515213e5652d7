package sip

import (
	"errors"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/media"
)

// TestListen: a supervisor listening to a bridged call hears the
// caller's tone on the left as the recording gets it, and the listener's
// channel closes when the call ends; a call still in its notice (no
// consent decision, nothing recorded) and an unknown id cannot be
// listened to.
func TestListen(t *testing.T) {
	b := bridge(t, 3*time.Second)
	if _, err := b.env.srv.Listen("no-such-call"); !errors.Is(err, ErrNoCall) {
		t.Errorf("unknown call: got %v, want ErrNoCall", err)
	}
	var l *media.Listener
	waitFor(t, "the recording to start", 5*time.Second, func() bool {
		var err error
		l, err = b.env.srv.Listen(b.call.ID)
		return err == nil
	})
	if l.Rate() != 8000 {
		t.Errorf("got rate %d, want 8000", l.Rate())
	}
	go b.callerPeer.sendTone(b.call.CallerRTP, 440, 2*time.Second, nil)
	var pcm []byte
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for c := range l.C {
			pcm = append(pcm, c...)
		}
	}()
	mustSucceed(t, b.caller)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the listener was not ended with the call")
	}
	left := make([]int16, len(pcm)/4)
	for i := range left {
		left[i] = int16(uint16(pcm[4*i]) | uint16(pcm[4*i+1])<<8)
	}
	if len(left) < 8000 || !dominant(left, 440, 1000) {
		t.Errorf("heard %d frames, 440 Hz power %.0f: want over a second of the caller's tone", len(left), power(left, 440))
	}
	if l.Dropped() != 0 {
		t.Errorf("got %d bytes dropped for a listener that kept up", l.Dropped())
	}
}

// TestListenNotRecorded: a call whose caller has not been notified yet
// is not recorded, so it cannot be listened to.
func TestListenNotRecorded(t *testing.T) {
	env := startServer(t, envOptions{notice: 2 * time.Second})
	peer := newRTPPeer(t)
	p := caller(t, env, "uac.xml", echoLine, peer, 2*time.Second, nil)
	ci := env.waitCall(t, "notice")
	if _, err := env.srv.Listen(ci.ID); !errors.Is(err, ErrNotRecording) {
		t.Errorf("call in its notice: got %v, want ErrNotRecording", err)
	}
	mustSucceed(t, p)
}
