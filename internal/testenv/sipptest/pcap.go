package sipptest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// PcapPacket is one UDP datagram of a capture.
type PcapPacket struct {
	// At is when the packet leaves, counted from the capture's start;
	// SIPp's play_pcap_audio keeps these gaps.
	At time.Duration
	// Payload is the UDP payload, for SIPp a whole RTP packet.
	Payload []byte
}

// Paced returns payloads as capture packets interval apart, the first
// at start: Paced(0, 20*time.Millisecond, pkts) for G.711 frames.
func Paced(start, interval time.Duration, payloads [][]byte) []PcapPacket {
	out := make([]PcapPacket, len(payloads))
	for i, p := range payloads {
		out[i] = PcapPacket{At: start + time.Duration(i)*interval, Payload: p}
	}
	return out
}

// The capture's layout mirrors /usr/share/sip-tester/*.pcap: a classic
// little-endian libpcap file (version 2.4, microseconds, snaplen
// 65535) of Ethernet frames (SIPp 3.6 reads only Ethernet and Linux
// cooked captures, not raw IP) holding IPv4 UDP datagrams.
const (
	pcapMagic       = 0xa1b2c3d4
	pcapSnapLen     = 65535
	linkTypeEther   = 1
	etherHeaderLen  = 14
	ipv4HeaderLen   = 20
	udpHeaderLen    = 8
	etherTypeIPv4   = 0x0800
	ipProtoUDP      = 17
	maxUDPPayload   = 65535 - ipv4HeaderLen - udpHeaderLen
	pcapSrcPort     = 40000 // SIPp sends from its media port instead
	pcapDstPort     = 40002 // and to the port of the answer's SDP
	pcapRecordHdLen = 16
)

// pcapEpoch is the capture's start: fixed, so that a capture is a
// function of its packets.
var pcapEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// WritePcap writes pkts to path as a capture that SIPp's
// play_pcap_audio replays: UDP from 127.0.0.1:40000 to 127.0.0.1:40002,
// with valid IP and UDP checksums. SIPp keeps the payload and the gaps
// between packets, and swaps the ports for its media port and the port
// that the far side's SDP names.
func WritePcap(path string, pkts []PcapPacket) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write pcap: %w", err)
	}
	w := bufio.NewWriter(f)
	err = writePcap(w, pkts)
	if err == nil {
		err = w.Flush()
	}
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("write pcap %s: %w", path, err)
	}
	return nil
}

func writePcap(w io.Writer, pkts []PcapPacket) error {
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], pcapMagic)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(hdr[20:], linkTypeEther)
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for i, p := range pkts {
		if len(p.Payload) > maxUDPPayload {
			return fmt.Errorf("packet %d: %d bytes, above %d", i, len(p.Payload), maxUDPPayload)
		}
		if p.At < 0 {
			return fmt.Errorf("packet %d: negative time %v", i, p.At)
		}
		frame := udpFrame(uint16(i), p.Payload)
		var rec [pcapRecordHdLen]byte
		ts := pcapEpoch.Add(p.At)
		binary.LittleEndian.PutUint32(rec[0:], uint32(ts.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ts.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
	}
	return nil
}

// udpFrame returns an Ethernet frame of an IPv4 UDP datagram from
// 127.0.0.1:pcapSrcPort to 127.0.0.1:pcapDstPort.
func udpFrame(id uint16, payload []byte) []byte {
	b := make([]byte, etherHeaderLen+ipv4HeaderLen+udpHeaderLen+len(payload))
	// Ethernet: zero MAC addresses, as loopback has none.
	binary.BigEndian.PutUint16(b[12:], etherTypeIPv4)

	ip := b[etherHeaderLen:]
	ip[0] = 0x45 // version 4, 5 words of header
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HeaderLen+udpHeaderLen+len(payload)))
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // don't fragment
	ip[8] = 64                                 // TTL
	ip[9] = ipProtoUDP
	copy(ip[12:16], []byte{127, 0, 0, 1})
	copy(ip[16:20], []byte{127, 0, 0, 1})
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum16(ip[:ipv4HeaderLen])))

	udp := ip[ipv4HeaderLen:]
	udpLen := udpHeaderLen + len(payload)
	binary.BigEndian.PutUint16(udp[0:], pcapSrcPort)
	binary.BigEndian.PutUint16(udp[2:], pcapDstPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
	copy(udp[udpHeaderLen:], payload)
	// The checksum covers a pseudo-header of the addresses, protocol and
	// length; 0 means none in UDP over IPv4, so a computed 0 is sent as
	// 0xffff.
	s := sum16(ip[12:20]) + ipProtoUDP + uint32(udpLen) + sum16(udp[:udpLen])
	ck := ^fold(s)
	if ck == 0 {
		ck = 0xffff
	}
	binary.BigEndian.PutUint16(udp[6:], ck)
	return b
}

// sum16 adds b up as big-endian 16-bit words, an odd last byte padded
// with zero.
func sum16(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

// fold folds the carries of a one's complement sum into 16 bits.
func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
