package sip

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// rawInvite is an INVITE whose CSeq sipgo cannot parse, with the headers
// that identify its transaction in long or compact form.
func rawInvite(compact bool, eol string) string {
	via, from, to, callID := "Via", "From", "To", "Call-ID"
	if compact {
		via, from, to, callID = "v", "f", "t", "i"
	}
	return strings.Join([]string{
		"INVITE sip:0120000000@127.0.0.1:5060 SIP/2.0",
		via + ": SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-guard-1;rport",
		"Max-Forwards: 70",
		from + ": <sip:0312345678@127.0.0.1>;tag=caller-1",
		to + ": <sip:0120000000@127.0.0.1>",
		callID + ": guard-1@127.0.0.1",
		"CSeq: x INVITE",
		"Contact: <sip:0312345678@127.0.0.1:5999>",
		"Content-Type: application/sdp",
		"Content-Length: 4",
		"",
		"v=0",
	}, eol)
}

func TestBadRequest(t *testing.T) {
	reason := errors.New(`parse "CSeq": bad sequence number`)
	for _, c := range []struct {
		name string
		raw  string
		keep []string // header lines the 400 must carry
	}{
		{"long header names", rawInvite(false, "\r\n"), []string{
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-guard-1;rport",
			"From: <sip:0312345678@127.0.0.1>;tag=caller-1",
			"To: <sip:0120000000@127.0.0.1>",
			"Call-ID: guard-1@127.0.0.1",
			"CSeq: x INVITE",
		}},
		{"compact header names", rawInvite(true, "\r\n"), []string{
			"v: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-guard-1;rport",
			"f: <sip:0312345678@127.0.0.1>;tag=caller-1",
			"t: <sip:0120000000@127.0.0.1>",
			"i: guard-1@127.0.0.1",
			"CSeq: x INVITE",
		}},
		{"LF line ends", rawInvite(false, "\n"), []string{
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-guard-1;rport",
			"Call-ID: guard-1@127.0.0.1",
		}},
		{"two Vias kept in order", strings.Replace(rawInvite(false, "\r\n"), "Max-Forwards: 70",
			"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-proxy\r\nMax-Forwards: 70", 1), []string{
			"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-guard-1;rport\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-proxy",
		}},
		{"lower-case names, space before colon", "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nvia : SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-2\r\ncall-id: o-1\r\ncseq: 1 OPTIONS\r\n\r\n", []string{
			"via : SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-2",
			"call-id: o-1",
			"cseq: 1 OPTIONS",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := badRequest([]byte(c.raw), reason)
			if res == nil {
				t.Fatal("got nil, want a 400")
			}
			s := string(res)
			if !strings.HasPrefix(s, "SIP/2.0 400 Bad Request\r\n") {
				t.Errorf("got status line %q, want SIP/2.0 400 Bad Request", strings.SplitN(s, "\r\n", 2)[0])
			}
			for _, ln := range c.keep {
				if !strings.Contains(s, "\r\n"+ln+"\r\n") && !strings.Contains(s, "\r\n"+ln+";tag=") {
					t.Errorf("got\n%s\nwant it to carry %q", s, ln)
				}
			}
			for _, gone := range []string{"Max-Forwards", "Contact", "Content-Type", "v=0"} {
				if strings.Contains(s, gone) {
					t.Errorf("got\n%s\nwant no %q", s, gone)
				}
			}
			if want := "\r\nWarning: 399 kiroku \"parse 'CSeq': bad sequence number\"\r\n"; !strings.Contains(s, want) {
				t.Errorf("got\n%s\nwant a Warning %q", s, want)
			}
			if !strings.HasSuffix(s, "\r\nContent-Length: 0\r\n\r\n") {
				t.Errorf("got\n%s\nwant it to end with Content-Length: 0 and a blank line", s)
			}
		})
	}
}

// TestBadRequestParses: when the broken header is not one it copies, the
// 400 is itself a SIP response sipgo (and so the peer's stack) reads, with
// the request's transaction identifiers.
func TestBadRequestParses(t *testing.T) {
	raw := strings.NewReplacer("CSeq: x INVITE", "CSeq: 1 INVITE", "Max-Forwards: 70", "Max-Forwards: many").
		Replace(rawInvite(false, "\r\n"))
	_, perr := sipmsg.ParseMessage([]byte(raw))
	if perr == nil {
		t.Fatal("got the request parsed, want sipgo to reject it")
	}
	res := badRequest([]byte(raw), perr)
	msg, err := sipmsg.ParseMessage(res)
	if err != nil {
		t.Fatalf("got %v parsing\n%s", err, res)
	}
	r, ok := msg.(*sipmsg.Response)
	if !ok {
		t.Fatalf("got %T, want a response", msg)
	}
	if r.StatusCode != 400 {
		t.Errorf("got status %d, want 400", r.StatusCode)
	}
	if via := r.Via(); via == nil || via.Params.GetOr("branch", "") != "z9hG4bK-guard-1" {
		t.Errorf("got Via %v, want branch z9hG4bK-guard-1", via)
	}
	if id := r.CallID(); id == nil || id.Value() != "guard-1@127.0.0.1" {
		t.Errorf("got Call-ID %v, want guard-1@127.0.0.1", id)
	}
}

func TestBadRequestWarning(t *testing.T) {
	for _, c := range []struct {
		name, reason, want string
	}{
		{"quotes become apostrophes", `bad "x"`, `"bad 'x'"`},
		{"line breaks become spaces", "line1\r\nline2\nline3", `"line1  line2 line3"`},
		{"long reason cut at 120 bytes", strings.Repeat("e", 300), `"` + strings.Repeat("e", 120) + `"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := string(badRequest([]byte(rawInvite(false, "\r\n")), errors.New(c.reason)))
			want := "\r\nWarning: 399 kiroku " + c.want + "\r\n"
			if !strings.Contains(res, want) {
				t.Errorf("got\n%s\nwant %q", res, want)
			}
		})
	}
}

func TestBadRequestNil(t *testing.T) {
	for _, c := range []struct {
		name, raw string
	}{
		{"200 response", "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1\r\nCSeq: x INVITE\r\n\r\n"},
		{"180 response", "SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\n\r\n"},
		{"486 response", "SIP/2.0 486 Busy Here\r\nCSeq: 1 INVITE\r\n\r\n"},
		{"response with a three-word status line", "SIP/2.0 400 SIP/2.0\r\n\r\n"},
		{"ACK", strings.Replace(rawInvite(false, "\r\n"), "INVITE sip:", "ACK sip:", 1)},
		{"HTTP request", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"other SIP version", "INVITE sip:x@127.0.0.1 SIP/3.0\r\nVia: SIP/3.0/UDP h\r\n\r\n"},
		{"request line without version", "INVITE sip:x@127.0.0.1\r\nVia: SIP/2.0/UDP h\r\n\r\n"},
		{"text", "hello world"},
		{"binary", "\x00\x01\x02\xff\xfe"},
		{"STUN", "\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl"},
		{"empty", ""},
		{"CRLF only", "\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := badRequest([]byte(c.raw), errors.New("bad")); got != nil {
				t.Errorf("got\n%s\nwant nil", got)
			}
		})
	}
}

func FuzzBadRequest(f *testing.F) {
	f.Add([]byte(rawInvite(false, "\r\n")))
	f.Add([]byte(rawInvite(true, "\n")))
	f.Add([]byte("SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n"))
	f.Add([]byte("ACK sip:x SIP/2.0\r\n\r\n"))
	f.Add([]byte("BYE sip:x SIP/2.0\r\nv:\r\n:\r\ni:\xff\r\n\r\n"))
	f.Add([]byte(""))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		res := badRequest(raw, errors.New(`fuzz "reason"`))
		if res == nil {
			return
		}
		if !bytes.HasPrefix(res, []byte("SIP/2.0 400 Bad Request\r\n")) || !bytes.HasSuffix(res, []byte("Content-Length: 0\r\n\r\n")) {
			t.Fatalf("got malformed 400 %q", res)
		}
		// Every line but ours comes from the request's head.
		head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
		lines := strings.Split(strings.TrimSuffix(string(res), "\r\n\r\n"), "\r\n")
		for _, ln := range lines[1 : len(lines)-2] {
			if i := strings.LastIndex(ln, ";tag="); i > 0 && !bytes.Contains(head, []byte(ln)) {
				ln = ln[:i] // the To tag we add
			}
			if !bytes.Contains(bytes.ReplaceAll(head, []byte("\r\n"), []byte("\n")), []byte(ln)) {
				t.Fatalf("got line %q not in the request %q", ln, raw)
			}
		}
	})
}
