package sip

import (
	"context"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// flow is what a call does once its consent is decided, until it ends: the
// call flow of its line. Each kind of downstream is one flow value, chosen
// when the call is admitted on its line; a new kind (transfer, SIPREC) is
// a new value here, not a branch in the call. run returns the end reason.
type flow interface {
	run(ctx context.Context, c *call) string
}

// echoDownstream is the downstream of the built-in echo agent.
const echoDownstream = "echo:"

// flowFor is the flow of a line's downstream.
func flowFor(line *config.Line) flow {
	if line.Downstream == echoDownstream {
		return echoFlow{}
	}
	return bridgeFlow{targets: line.Targets()}
}

// bridgeFlow reaches the first downstream of the line's group that answers
// and bridges the caller to it.
type bridgeFlow struct{ targets []config.Downstream }

func (f bridgeFlow) run(ctx context.Context, c *call) string { return c.dialGroup(ctx, f.targets) }

// echoFlow returns the caller's audio and keys to them: the built-in agent
// of the embedded defaults, recorded as a real agent would be.
type echoFlow struct{}

func (echoFlow) run(ctx context.Context, c *call) string {
	if reason := c.answerPending(); reason != "" {
		return reason
	}
	start := time.Now()
	tap := c.startRecording(start, nil)
	if c.rec != nil {
		c.rec.SetCodecs(c.a.audio.Codec.Name(), c.a.audio.Codec.Name())
	}
	c.inEp.Echo(tap)
	c.bridged()
	<-ctx.Done()
	c.inEp.Echo(nil)
	c.stopRecording(time.Now())
	return c.hangupReason(ctx)
}
