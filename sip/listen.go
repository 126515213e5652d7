package sip

import (
	"errors"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// ErrEnded is Listen's answer for a call whose recording has just ended.
var ErrEnded = errors.New("call's recording has ended")

// Listen subscribes to the recording of call id as it is written: only
// a call whose caller was notified and did not opt out is recorded, so
// only such a call can be listened to (ErrNotRecording otherwise,
// ErrNoCall for no call). The listener hears what the recording holds —
// silence while it is paused — and its channel is closed when the call
// ends; the caller closes it when it leaves first.
func (s *Server) Listen(id string) (*media.Listener, error) {
	var c *call
	s.legs.Range(func(_, v any) bool {
		if l := v.(*leg); l.c.id == id {
			c = l.c
			return false
		}
		return true
	})
	if c == nil {
		return nil, ErrNoCall
	}
	c.mu.Lock()
	rec, decision := c.rec, c.manifest.Consent.Decision
	c.mu.Unlock()
	if rec == nil || decision != spool.Notified {
		return nil, ErrNotRecording
	}
	l, err := rec.Listen()
	if errors.Is(err, media.ErrRecordingEnded) {
		return nil, ErrEnded
	}
	return l, err
}
