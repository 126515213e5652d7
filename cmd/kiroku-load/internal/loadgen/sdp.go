package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// sdpBody is the offer (caller) or answer (agent) of one side: PCMU and
// telephone-event at the side's shared RTP port.
func sdpBody(id uint64, port int) []byte {
	return fmt.Appendf(nil, "v=0\r\n"+
		"o=kiroku-load %d %d IN IP4 127.0.0.1\r\n"+
		"s=-\r\n"+
		"c=IN IP4 127.0.0.1\r\n"+
		"t=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\n"+
		"a=rtpmap:0 PCMU/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-15\r\n"+
		"a=ptime:20\r\n"+
		"a=sendrecv\r\n", id, id, port)
}

// sdpAddr reads where a description wants its audio: the c= address (the
// audio stream's own, else the session's) and the first audio m= port.
func sdpAddr(body []byte) (netip.AddrPort, error) {
	var sess, media string
	port, inAudio := -1, false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		ln := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(ln, "m="):
			f := strings.Fields(ln[2:])
			inAudio = port < 0 && len(f) >= 2 && f[0] == "audio"
			if inAudio {
				p, err := strconv.Atoi(f[1])
				if err != nil {
					return netip.AddrPort{}, fmt.Errorf("sdp: bad audio port %q", f[1])
				}
				port = p
			}
		case strings.HasPrefix(ln, "c="):
			f := strings.Fields(ln[2:])
			if len(f) < 3 {
				return netip.AddrPort{}, fmt.Errorf("sdp: bad c= line %q", ln)
			}
			if inAudio {
				media = f[2]
			} else if port < 0 {
				sess = f[2]
			}
		}
	}
	if media == "" {
		media = sess
	}
	if port <= 0 || port > 65535 || media == "" {
		return netip.AddrPort{}, fmt.Errorf("sdp: no audio address and port")
	}
	ip, err := netip.ParseAddr(media)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("sdp: connection address: %w", err)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}
