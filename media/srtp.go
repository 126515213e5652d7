package media

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SDES (RFC 4568) keys SRTP through a=crypto lines of the SDP, so keys
// travel in the signalling: they are only secret when SIP runs over TLS.

// Crypto is one a=crypto attribute: a tag the answer refers to, a suite
// and the sender's master key and salt (concatenated).
type Crypto struct {
	Tag   int
	Suite string
	Key   []byte // master key || master salt
}

// suite is an SDES crypto-suite name and its SRTP protection profile.
type suite struct {
	name    string
	profile srtp.ProtectionProfile
}

// suites are the crypto suites Kiroku takes, in the order it offers and
// prefers them: RFC 4568, RFC 6188 and RFC 7714 names.
var suites = []suite{
	{"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80},
	{"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm},
	{"AEAD_AES_256_GCM", srtp.ProtectionProfileAeadAes256Gcm},
	{"AES_256_CM_HMAC_SHA1_80", srtp.ProtectionProfileAes256CmHmacSha1_80},
	{"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32},
	{"AES_256_CM_HMAC_SHA1_32", srtp.ProtectionProfileAes256CmHmacSha1_32},
}

// DefaultSuite is the suite Kiroku offers: RFC 4568's mandatory one.
const DefaultSuite = "AES_CM_128_HMAC_SHA1_80"

// ErrNoCrypto is returned when none of the offered crypto lines is usable.
var ErrNoCrypto = errors.New("no supported SRTP crypto suite (" + suiteNames() + ")")

func suiteNames() string {
	var n []string
	for _, s := range suites {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

func lookupSuite(name string) (suite, bool) {
	for _, s := range suites {
		if s.name == name {
			return s, true
		}
	}
	return suite{}, false
}

// keyLen is the master key plus salt length of a suite.
func (s suite) keyLen() int {
	k, _ := s.profile.KeyLen()
	salt, _ := s.profile.SaltLen()
	return k + salt
}

// NewCrypto makes a fresh random master key and salt for a suite.
func NewCrypto(tag int, suiteName string) (Crypto, error) {
	s, ok := lookupSuite(suiteName)
	if !ok {
		return Crypto{}, fmt.Errorf("%w: unknown crypto suite %q", ErrSDP, suiteName)
	}
	key := make([]byte, s.keyLen())
	if _, err := rand.Read(key); err != nil {
		return Crypto{}, fmt.Errorf("srtp key: %w", err)
	}
	return Crypto{Tag: tag, Suite: s.name, Key: key}, nil
}

// String is the attribute's value as it goes into SDP (after "a=crypto:").
// It holds the key: never log it.
func (c Crypto) String() string {
	return strconv.Itoa(c.Tag) + " " + c.Suite + " inline:" + base64.StdEncoding.EncodeToString(c.Key)
}

// parseCrypto reads an a=crypto value. ok is false for a line Kiroku
// cannot use (unknown suite, several keys, an MKI, session parameters),
// which an offerer may legitimately send among others; a line it can use
// but that is malformed is an error.
func parseCrypto(v string) (c Crypto, ok bool, err error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return c, false, fmt.Errorf("%w: malformed crypto attribute", ErrSDP)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return c, false, fmt.Errorf("%w: bad crypto tag %q", ErrSDP, trunc(f[0]))
	}
	s, known := lookupSuite(f[1])
	if !known || len(f) > 3 || strings.Contains(f[2], ";") {
		return c, false, nil // another suite, session parameters or several keys
	}
	method, info, _ := strings.Cut(f[2], ":")
	if !strings.EqualFold(method, "inline") {
		return c, false, nil
	}
	b64, params, _ := strings.Cut(info, "|")
	if strings.Count(params, "|") > 0 || strings.Contains(params, ":") {
		return c, false, nil // an MKI: not supported
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil || len(key) != s.keyLen() {
		return c, false, fmt.Errorf("%w: crypto %d: key is not %d bytes of base64", ErrSDP, tag, s.keyLen())
	}
	return Crypto{Tag: tag, Suite: s.name, Key: key}, true, nil
}

// IsSecureProto reports whether an m= line's transport is SRTP (RTP/SAVP,
// RTP/SAVPF).
func IsSecureProto(proto string) bool {
	return strings.EqualFold(proto, "RTP/SAVP") || strings.EqualFold(proto, "RTP/SAVPF")
}

// IsRTPProto reports whether Kiroku speaks an m= line's transport: RTP or
// SDES-keyed SRTP, with or without feedback. DTLS-SRTP (UDP/TLS/RTP/SAVP)
// and anything else is not.
func IsRTPProto(proto string) bool {
	return IsSecureProto(proto) || strings.EqualFold(proto, "RTP/AVP") || strings.EqualFold(proto, "RTP/AVPF")
}

// srtpPair is an endpoint's SRTP state: one context decrypting what the
// peer sends (its key), one encrypting what we send (ours). Their
// buffers live here, allocated only for SRTP legs, so that a plain leg
// costs no more memory than before SRTP existed.
type srtpPair struct {
	local, remote Crypto
	in            *opener
	out           *sealer
}

// opener decrypts on the endpoint's reader goroutine only.
type opener struct {
	ctx *srtp.Context
	buf [1500]byte
	hdr rtp.Header
}

// sealer encrypts for whichever goroutine sends; senders hold mu while
// the sealed packet (in buf) goes out.
type sealer struct {
	mu  sync.Mutex
	ctx *srtp.Context
	buf [1500]byte
	hdr rtp.Header
}

func newSRTPPair(local, remote Crypto) (*srtpPair, error) {
	in, err := newContext(remote)
	if err != nil {
		return nil, err
	}
	out, err := newContext(local)
	if err != nil {
		return nil, err
	}
	return &srtpPair{local: local, remote: remote, in: &opener{ctx: in}, out: &sealer{ctx: out}}, nil
}

func newContext(c Crypto) (*srtp.Context, error) {
	s, ok := lookupSuite(c.Suite)
	if !ok || len(c.Key) != s.keyLen() {
		return nil, fmt.Errorf("srtp: unusable key for suite %q", c.Suite)
	}
	k, _ := s.profile.KeyLen()
	ctx, err := srtp.CreateContext(c.Key[:k], c.Key[k:], s.profile, srtp.SRTPReplayProtection(256))
	if err != nil {
		return nil, fmt.Errorf("srtp: %w", err)
	}
	return ctx, nil
}
