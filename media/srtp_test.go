package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/pion/rtp"
)

func TestParseCrypto(t *testing.T) {
	key30 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 30))
	key28 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 28))
	for _, tc := range []struct {
		name, v string
		ok      bool
		suite   string
		err     string
	}{
		{"rfc 4568 default", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, true, "AES_CM_128_HMAC_SHA1_80", ""},
		{"with lifetime", "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31", true, "AES_CM_128_HMAC_SHA1_32", ""},
		{"gcm", "3 AEAD_AES_128_GCM inline:" + key28, true, "AEAD_AES_128_GCM", ""},
		{"unpadded base64", "1 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(key30, "="), true, "AES_CM_128_HMAC_SHA1_80", ""},
		{"mki skipped", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4", false, "", ""},
		{"mki without lifetime skipped", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:4", false, "", ""},
		{"several keys skipped", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";inline:" + key30, false, "", ""},
		{"session parameters skipped", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", false, "", ""},
		{"unknown suite skipped", "1 F8_128_HMAC_SHA1_80 inline:" + key30, false, "", ""},
		{"wrong key length", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key28, false, "", "key is not 30 bytes"},
		{"bad base64", "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", false, "", "key is not 30 bytes"},
		{"bad tag", "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, false, "", "bad crypto tag"},
		{"too short", "1 AES_CM_128_HMAC_SHA1_80", false, "", "malformed crypto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, err := parseCrypto(tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrSDP) {
					t.Fatalf("got error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok || c.Suite != tc.suite {
				t.Fatalf("got %+v ok=%v err=%v, want suite %q ok=%v", c, ok, err, tc.suite, tc.ok)
			}
		})
	}
}

func TestSDPCryptoRoundTrip(t *testing.T) {
	c1, err := NewCrypto(1, DefaultSuite)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := NewCrypto(2, "AEAD_AES_256_GCM")
	if err != nil {
		t.Fatal(err)
	}
	l := Local{Addr: loopback, Port: 4000, Formats: []Format{fmtPCMU}, Proto: "RTP/SAVP", Crypto: []Crypto{c1, c2}}
	d, err := ParseSDP(l.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Secure() || d.Proto != "RTP/SAVP" {
		t.Errorf("got proto %q, want RTP/SAVP", d.Proto)
	}
	if len(d.Crypto) != 2 || !sameCrypto(d.Crypto[0], c1) || !sameCrypto(d.Crypto[1], c2) || d.Crypto[1].Tag != 2 {
		t.Errorf("got crypto %+v, want the two lines offered", d.Crypto)
	}
	if got, ok := d.CryptoTag(2); !ok || !sameCrypto(got, c2) {
		t.Errorf("CryptoTag(2) = %+v %v", got, ok)
	}
	// A crypto line of another stream is not ours.
	video := string(l.Marshal()) + "m=video 4002 RTP/SAVP 96\r\na=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:" +
		base64.StdEncoding.EncodeToString(make([]byte, 30)) + "\r\n"
	if d, err := ParseSDP([]byte(video)); err != nil || len(d.Crypto) != 2 {
		t.Errorf("with a video stream: got %d crypto lines, err %v; want 2", len(d.Crypto), err)
	}
	// A malformed key on our stream is an error, not a silent downgrade.
	bad := strings.Replace(string(l.Marshal()), "inline:", "inline:AAAA", 1)
	if _, err := ParseSDP([]byte(bad)); err == nil {
		t.Error("a malformed key was accepted")
	}
	for proto, want := range map[string]bool{"RTP/AVP": true, "RTP/AVPF": true, "RTP/SAVP": true, "RTP/SAVPF": true,
		"UDP/TLS/RTP/SAVP": false, "UDP/TLS/RTP/SAVPF": false, "udp": false} {
		if got := IsRTPProto(proto); got != want {
			t.Errorf("IsRTPProto(%q) = %v, want %v", proto, got, want)
		}
	}
}

// TestSRTPEndpoint puts an endpoint on SRTP against a peer using pion's
// contexts directly: what the peer encrypts reaches the handler as plain
// RTP, what the endpoint sends the peer can decrypt, and a forged or
// replayed packet is dropped and counted.
func TestSRTPEndpoint(t *testing.T) {
	for _, suite := range []string{DefaultSuite, "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM", "AEAD_AES_256_GCM", "AES_256_CM_HMAC_SHA1_80"} {
		t.Run(suite, func(t *testing.T) {
			e := openEP(t, testPorts(t, 1))
			peer := newPeer(t)
			ours, err := NewCrypto(1, suite)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := NewCrypto(1, suite)
			if err != nil {
				t.Fatal(err)
			}
			e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu, DTMF: telEv101})
			if err := e.SetSRTP(ours, theirs); err != nil {
				t.Fatal(err)
			}
			e.Echo(nil)
			enc, err := newContext(theirs) // the peer encrypts with its key
			if err != nil {
				t.Fatal(err)
			}
			dec, err := newContext(ours) // and decrypts with ours
			if err != nil {
				t.Fatal(err)
			}
			s := stream{ssrc: 0x1234}
			var sentPkts [][]byte
			for i := range 5 {
				plain := s.audio(0, byte(i+1))
				sp, err := enc.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(sp, plain[12:]) {
					t.Fatal("payload went out in the clear")
				}
				sentPkts = append(sentPkts, sp)
				peer.send(t, e.Addr(), sp)
				got := peer.next(t)
				back, err := dec.DecryptRTP(nil, got, nil)
				if err != nil {
					t.Fatalf("packet %d: peer cannot decrypt our echo: %v", i, err)
				}
				h, ok := parseRTP(back)
				if !ok || !bytes.Equal(back[h.payload:h.end], plain[12:]) {
					t.Fatalf("packet %d: echo payload differs", i)
				}
			}
			// A replay, a flipped bit and plain RTP are all dropped.
			forged := bytes.Clone(sentPkts[4])
			forged[20] ^= 1
			peer.send(t, e.Addr(), sentPkts[2])
			peer.send(t, e.Addr(), forged)
			peer.send(t, e.Addr(), s.audio(0, 9))
			waitFor(t, "three packets refused", func() bool { return e.Stats().Unauthenticated == 3 })
			if st := e.Stats(); st.Received != 5 || st.Rejected != 3 {
				t.Errorf("got %+v, want 5 received and 3 rejected", st)
			}
		})
	}
}

// TestSetSRTPRekey keeps a direction's state when its key is unchanged and
// takes a new key when a re-INVITE brings one.
func TestSetSRTPRekey(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	a, _ := NewCrypto(1, DefaultSuite)
	b, _ := NewCrypto(1, DefaultSuite)
	c, _ := NewCrypto(1, DefaultSuite)
	if err := e.SetSRTP(a, b); err != nil {
		t.Fatal(err)
	}
	first := e.srtp.Load()
	if err := e.SetSRTP(a, b); err != nil || e.srtp.Load() != first {
		t.Fatal("same keys replaced the contexts")
	}
	if err := e.SetSRTP(a, c); err != nil {
		t.Fatal(err)
	}
	now := e.srtp.Load()
	if now.out != first.out || now.in == first.in {
		t.Error("a new remote key must replace only the inbound context")
	}
	if err := e.SetSRTP(Crypto{Suite: DefaultSuite, Key: []byte{1}}, c); err == nil {
		t.Error("a short key was accepted")
	}
	if _, _, ok := e.SRTP(); !ok {
		t.Error("SRTP() says plain after SetSRTP")
	}
}

// BenchmarkSRTPPacket is the cost SRTP adds to one relayed packet: the
// receiving leg's decryption and the sending leg's encryption, without
// sockets. One op is one 20 ms PCMU packet.
func BenchmarkSRTPPacket(b *testing.B) {
	for _, suite := range []string{DefaultSuite, "AEAD_AES_128_GCM"} {
		b.Run(suite, func(b *testing.B) {
			k1, _ := NewCrypto(1, suite)
			k2, _ := NewCrypto(1, suite)
			in, err := newSRTPPair(k1, k1)
			if err != nil {
				b.Fatal(err)
			}
			out, err := newSRTPPair(k2, k2)
			if err != nil {
				b.Fatal(err)
			}
			s := stream{ssrc: 0xfeed}
			sealed := make([][]byte, 1024)
			for i := range sealed {
				if sealed[i], err = in.out.ctx.EncryptRTP(nil, s.audio(0, 0x55), nil); err != nil {
					b.Fatal(err)
				}
			}
			var enc [1500]byte
			var eh rtp.Header
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%len(sealed) == 0 {
					b.StopTimer() // fresh sequence numbers past the replay window
					for j := range sealed {
						sealed[j], _ = in.out.ctx.EncryptRTP(nil, s.audio(0, 0x55), nil)
					}
					b.StartTimer()
				}
				p, err := decrypt(in, sealed[i%len(sealed)])
				if err != nil {
					b.Fatal(err)
				}
				if _, err := out.out.ctx.EncryptRTP(enc[:0], p, &eh); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
