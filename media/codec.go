package media

import (
	"fmt"
	"strings"
)

// Codec is an audio encoding a leg can speak. It is chosen once per leg,
// when the leg's SDP is negotiated, and travels with the leg's Peer; the
// relay, the recorder and the notice player ask it for what they need
// instead of comparing names. A codec's coding state (ADPCM's predictor)
// belongs to one stream: whoever decodes or encodes a stream holds its own
// Decoder or Encoder from the codec, made again when the leg's codec
// changes.
type Codec interface {
	// Name is the encoding name of the SDP rtpmap ("PCMU").
	Name() string
	// ClockRate is the RTP clock rate in Hz, of the rtpmap and of the
	// packets' timestamps.
	ClockRate() int
	// SampleRate is the rate of the linear samples its Decoder returns and
	// its Encoder takes. It is ClockRate but for G.722, whose 16 kHz audio
	// runs on an 8 kHz RTP clock (RFC 3551 section 4.5.2).
	SampleRate() int
	// FrameSamples is the number of linear samples in one packet of ptime
	// 20 ms, the packet size Kiroku sends and offers.
	FrameSamples() int
	// NewDecoder and NewEncoder return the coder of one stream.
	NewDecoder() Decoder
	NewEncoder() Encoder
}

// Decoder turns one stream's payloads into linear 16-bit samples. Decode
// appends to dst and allocates nothing when dst has the room (the relay
// and the recorder pass buffers they own).
type Decoder interface {
	Decode(dst []int16, payload []byte) []int16
}

// Encoder turns one stream's linear samples into payloads, appending to dst.
type Encoder interface {
	Encode(dst []byte, pcm []int16) []byte
}

// frameTicks is one 20 ms packet of c in RTP timestamp units.
func frameTicks(c Codec) int { return c.ClockRate() * ptime / 1000 }

// ptime is the packet duration Kiroku sends and offers, in ms.
const ptime = 20

// maxFrameSamples bounds FrameSamples for the stack buffers of the notice
// player: 20 ms at 48 kHz.
const maxFrameSamples = 48000 * ptime / 1000

// The codecs Kiroku speaks, in the order it offers them.
var (
	// PCMU is G.711 μ-law (RFC 3551 static payload type 0).
	PCMU Codec = &g711{name: "PCMU", dec: &ulawToLinear, enc: EncodeULaw}
	// PCMA is G.711 A-law (RFC 3551 static payload type 8).
	PCMA Codec = &g711{name: "PCMA", dec: &alawToLinear, enc: EncodeALaw}
)

// registered is the codec registry: every codec Kiroku negotiates, with
// the payload type it offers it under (RFC 3551's static number, or a
// dynamic one for codecs that have none). A new codec is one line here,
// its implementation, and its name in the configuration's list.
var registered = []struct {
	codec Codec
	pt    uint8
}{
	{PCMU, 0},
	{PCMA, 8},
	{G722, 9},
}

// Codecs returns the names of the registered codecs, in offer order.
func Codecs() []string {
	names := make([]string, len(registered))
	for i, r := range registered {
		names[i] = r.codec.Name()
	}
	return names
}

// LookupCodec returns the registered codec with the encoding name (case
// insensitive, as SDP names are) and clock rate.
func LookupCodec(name string, rate int) (Codec, bool) {
	for _, r := range registered {
		if strings.EqualFold(r.codec.Name(), name) && r.codec.ClockRate() == rate {
			return r.codec, true
		}
	}
	return nil, false
}

// staticCodec returns the codec of a static payload type, for an SDP that
// lists it without an rtpmap.
func staticCodec(pt uint8) (Codec, bool) {
	for _, r := range registered {
		if r.pt == pt && pt < 96 {
			return r.codec, true
		}
	}
	return nil, false
}

// Audio is a leg's negotiated audio: the payload type its peer uses and
// the codec behind it.
type Audio struct {
	PT    uint8
	Codec Codec
}

// Format is the audio as an SDP payload format.
func (a Audio) Format() Format {
	if a.Codec == nil {
		return Format{PT: a.PT}
	}
	return Format{PT: a.PT, Name: a.Codec.Name(), Rate: a.Codec.ClockRate()}
}

// Negotiate picks the first format of the description whose codec is
// registered; a description with none is an error (never decoded as some
// default codec).
func Negotiate(d *Description) (Audio, error) {
	for _, f := range d.Formats {
		if c, ok := LookupCodec(f.Name, f.Rate); ok {
			return Audio{PT: f.PT, Codec: c}, nil
		}
	}
	return Audio{}, fmt.Errorf("%w: no common codec (we take %s)", ErrSDP, strings.Join(Codecs(), ", "))
}

// Choose picks the audio of a new offer on a leg in progress (a
// re-INVITE): the leg's current codec when the offer still lists it, so
// that a hold or a refresh changes nothing, else the offer's first
// registered codec the relay can translate to and from other's (the other
// leg's; nil when there is none). No codec outside the offer is ever
// chosen: an offer with none usable is an error, and the leg stays as it
// was.
func Choose(d *Description, current, other Codec) (Audio, error) {
	var first *Audio
	for _, f := range d.Formats {
		c, ok := LookupCodec(f.Name, f.Rate)
		if !ok || (other != nil && !Translatable(c, other)) {
			continue
		}
		if c == current {
			return Audio{PT: f.PT, Codec: c}, nil
		}
		if first == nil {
			first = &Audio{PT: f.PT, Codec: c}
		}
	}
	if first == nil {
		if other != nil {
			return Audio{}, fmt.Errorf("%w: no codec the other leg's %s can be translated to (we take %s)", ErrSDP, other.Name(), strings.Join(Codecs(), ", "))
		}
		return Audio{}, fmt.Errorf("%w: no common codec (we take %s)", ErrSDP, strings.Join(Codecs(), ", "))
	}
	return *first, nil
}

// Offer lists the formats to offer a leg whose audio is relayed to and
// from a leg speaking first: first itself, then every other registered
// codec the relay can translate to and from it.
func Offer(first Codec) []Format {
	out := make([]Format, 0, len(registered))
	for _, r := range registered {
		if r.codec == first {
			out = append([]Format{{PT: r.pt, Name: r.codec.Name(), Rate: r.codec.ClockRate()}}, out...)
		} else if first == nil || Translatable(first, r.codec) {
			out = append(out, Format{PT: r.pt, Name: r.codec.Name(), Rate: r.codec.ClockRate()})
		}
	}
	return out
}

// Translatable reports whether the relay can carry audio between legs
// speaking a and b: every pair of registered codecs, G.711's two laws by
// table and the others through linear audio (see transcoder).
func Translatable(a, b Codec) bool {
	return a != nil && b != nil
}
