package media

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Format is an RTP payload format as SDP names it: a payload type bound
// to an encoding name and clock rate. Audio formats are backed by a Codec
// once negotiated; telephone-event is a format without one.
type Format struct {
	PT   uint8
	Name string
	Rate int
}

// TelephoneEvent is RFC 4733 at 8 kHz; 101 is only our offered number,
// the peer's own number is always honoured.
var TelephoneEvent = Format{PT: 101, Name: "telephone-event", Rate: 8000}

// Directions of an SDP media stream (RFC 3264).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// ErrSDP is wrapped by every SDP parsing and negotiation error.
var ErrSDP = errors.New("sdp")

// Description is the audio part of a session description: where the peer
// wants RTP, which formats it takes and in which direction.
//
// Parsing is deliberately lenient about line order, which real PBXs do not
// always keep, and strict about what Kiroku needs (c=, one audio m= line,
// numeric ports and payload types).
type Description struct {
	Addr      netip.Addr
	Port      int
	Proto     string
	Direction string
	Formats   []Format // audio formats in the peer's order of preference
	DTMF      Format   // telephone-event; Name is empty when not offered
	Ptime     int
	// Crypto holds the stream's a=crypto lines that Kiroku can use (SDES
	// SRTP), in the sender's order of preference.
	Crypto []Crypto
}

// Secure reports whether the stream is SRTP by its transport (RTP/SAVP).
// An RTP/AVP stream with crypto lines offers SRTP only as a best effort.
func (d *Description) Secure() bool { return IsSecureProto(d.Proto) }

// PickCrypto returns the first of the description's crypto lines Kiroku
// takes: the answerer honours the offerer's order (RFC 4568).
func (d *Description) PickCrypto() (Crypto, bool) {
	if len(d.Crypto) == 0 {
		return Crypto{}, false
	}
	return d.Crypto[0], true
}

// CryptoTag returns the crypto line with the given tag (an answer's
// choice among the lines we offered).
func (d *Description) CryptoTag(tag int) (Crypto, bool) {
	for _, c := range d.Crypto {
		if c.Tag == tag {
			return c, true
		}
	}
	return Crypto{}, false
}

// HasDTMF reports whether the description carries RFC 4733 events.
func (d *Description) HasDTMF() bool { return d.DTMF.Name != "" }

// RemoteAddr is the address and port RTP is sent to, invalid when the
// stream is on hold the old way (c=0.0.0.0) or disabled (port 0).
func (d *Description) RemoteAddr() netip.AddrPort {
	if d.Port == 0 || !d.Addr.IsValid() || d.Addr.IsUnspecified() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(d.Addr, uint16(d.Port))
}

// ParseSDP reads the first audio stream of an SDP body.
func ParseSDP(body []byte) (*Description, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrSDP)
	}
	var (
		d                  Description
		sessAddr, medAddr  string
		inAudio, seenAudio bool
		seenMedia          bool
		fmts               []string
		rtpmap             = map[string]string{}
		sessDir            string
		sawVersion         bool
	)
	for ln := range strings.SplitSeq(string(body), "\n") {
		ln = strings.TrimRight(ln, "\r")
		if ln == "" {
			continue
		}
		if len(ln) < 2 || ln[1] != '=' {
			return nil, fmt.Errorf("%w: malformed line %q", ErrSDP, trunc(ln))
		}
		key, val := ln[0], ln[2:]
		if key == 'v' {
			sawVersion = true
		}
		if key == 'm' {
			inAudio, seenMedia = false, true
			if seenAudio {
				continue
			}
			f := strings.Fields(val)
			if len(f) < 4 {
				return nil, fmt.Errorf("%w: malformed m= line %q", ErrSDP, trunc(val))
			}
			if f[0] != "audio" {
				continue
			}
			port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || port < 0 || port > 65535 {
				return nil, fmt.Errorf("%w: bad port in m= line %q", ErrSDP, trunc(val))
			}
			inAudio, seenAudio = true, true
			d.Port, d.Proto, fmts = port, f[2], f[3:]
			continue
		}
		if !inAudio && seenMedia {
			continue // lines of a stream we do not use
		}
		switch key {
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 || f[0] != "IN" {
				return nil, fmt.Errorf("%w: malformed c= line %q", ErrSDP, trunc(val))
			}
			addr := strings.SplitN(f[2], "/", 2)[0]
			if inAudio {
				medAddr = addr
			} else {
				sessAddr = addr
			}
		case 'a':
			name, value, _ := strings.Cut(val, ":")
			switch name {
			case SendRecv, SendOnly, RecvOnly, Inactive:
				if inAudio {
					d.Direction = name
				} else {
					sessDir = name
				}
			case "rtpmap":
				if inAudio {
					pt, enc, ok := strings.Cut(value, " ")
					if ok {
						rtpmap[pt] = strings.TrimSpace(enc)
					}
				}
			case "ptime":
				if inAudio {
					d.Ptime, _ = strconv.Atoi(strings.TrimSpace(value))
				}
			case "crypto":
				if inAudio {
					c, ok, err := parseCrypto(value)
					if err != nil {
						return nil, err
					}
					if ok {
						d.Crypto = append(d.Crypto, c)
					}
				}
			}
		}
	}
	if !sawVersion {
		return nil, fmt.Errorf("%w: no v= line", ErrSDP)
	}
	if !seenAudio {
		return nil, fmt.Errorf("%w: no audio stream", ErrSDP)
	}
	addr := medAddr
	if addr == "" {
		addr = sessAddr
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: no connection address", ErrSDP)
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: connection address %q is not an IP address", ErrSDP, trunc(addr))
	}
	d.Addr = ip.Unmap()
	if d.Direction == "" {
		d.Direction = sessDir
	}
	if d.Direction == "" {
		d.Direction = SendRecv
	}
	for _, f := range fmts {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 127 {
			return nil, fmt.Errorf("%w: bad payload type %q", ErrSDP, trunc(f))
		}
		pt := uint8(n)
		enc, mapped := rtpmap[f]
		var name string
		var rate int
		if mapped {
			parts := strings.Split(enc, "/")
			name = parts[0]
			if len(parts) > 1 {
				rate, _ = strconv.Atoi(parts[1])
			} else {
				rate = defaultRate(name) // a sloppy rtpmap without the rate
			}
		} else if c, ok := staticCodec(pt); ok {
			// Static payload types may come without rtpmap.
			name, rate = c.Name(), c.ClockRate()
		}
		c := Format{PT: pt, Name: name, Rate: rate}
		switch {
		case strings.EqualFold(name, TelephoneEvent.Name) && rate == TelephoneEvent.Rate && !d.HasDTMF():
			c.Name = TelephoneEvent.Name
			d.DTMF = c
		case name != "":
			d.Formats = append(d.Formats, c)
		}
	}
	return &d, nil
}

// AnswerDirection is the direction that answers an offered one.
func AnswerDirection(offered string) string {
	switch offered {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// Local describes our side of a stream for an offer or an answer.
type Local struct {
	Addr      netip.Addr
	Port      int
	Formats   []Format
	DTMF      Format // empty Name: no telephone-event
	Direction string
	SessionID uint64
	Version   uint64
	// Proto is the m= line's transport; empty is RTP/AVP. An answer
	// repeats the offer's.
	Proto string
	// Crypto are our a=crypto lines (SDES): the ones we offer, or the one
	// we answer with.
	Crypto []Crypto
}

// Marshal writes the SDP body of our side.
func (l *Local) Marshal() []byte {
	ipver := "IP4"
	if l.Addr.Is6() {
		ipver = "IP6"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "v=0\r\no=kiroku %d %d IN %s %s\r\ns=kiroku\r\nc=IN %s %s\r\nt=0 0\r\n",
		l.SessionID, l.Version, ipver, l.Addr, ipver, l.Addr)
	proto := l.Proto
	if proto == "" {
		proto = "RTP/AVP"
	}
	fmt.Fprintf(&b, "m=audio %d %s", l.Port, proto)
	for _, c := range l.Formats {
		fmt.Fprintf(&b, " %d", c.PT)
	}
	if l.DTMF.Name != "" {
		fmt.Fprintf(&b, " %d", l.DTMF.PT)
	}
	b.WriteString("\r\n")
	for _, c := range l.Formats {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", c.PT, c.Name, c.Rate)
	}
	if l.DTMF.Name != "" {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\na=fmtp:%d 0-16\r\n", l.DTMF.PT, TelephoneEvent.Name, l.DTMF.Rate, l.DTMF.PT)
	}
	dir := l.Direction
	if dir == "" {
		dir = SendRecv
	}
	fmt.Fprintf(&b, "a=ptime:%d\r\na=%s\r\n", ptime, dir)
	for _, c := range l.Crypto {
		b.WriteString("a=crypto:" + c.String() + "\r\n")
	}
	return b.Bytes()
}

// defaultRate is the clock rate of a registered codec or telephone-event
// named without one.
func defaultRate(name string) int {
	for _, r := range registered {
		if strings.EqualFold(r.codec.Name(), name) {
			return r.codec.ClockRate()
		}
	}
	return TelephoneEvent.Rate
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
