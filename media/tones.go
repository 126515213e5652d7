package media

import (
	"math"
	"sync"
)

// Ringback returns one 3-second cadence of the Japanese ringback tone
// (呼出音): 400 Hz amplitude-modulated by 16 Hz, one second on and two
// off, at PromptRate. It is played to a caller who is already answered (for the
// notice) while the agent's side rings. Every call shares the one
// cadence, made once (48 KB, which each ringing call used to allocate
// anew): callers read it and must not change it.
func Ringback() []int16 { return ringback() }

var ringback = sync.OnceValue(func() []int16 {
	pcm := make([]int16, 3*PromptRate)
	for i := range PromptRate {
		t := float64(i) / PromptRate
		env := 0.5 + 0.5*math.Sin(2*math.Pi*16*t)
		pcm[i] = int16(6000 * env * math.Sin(2*math.Pi*400*t))
	}
	return pcm
})
