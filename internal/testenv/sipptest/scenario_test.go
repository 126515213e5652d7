package sipptest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// callerKeys are the keys of the client scenarios.
func callerKeys(t *testing.T, extra ...string) map[string]string {
	keys := map[string]string{
		"dialled":  "8005550100",
		"caller":   "15555550123",
		"rtp_port": strconv.Itoa(FreeRTPPort(t)),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		keys[extra[i]] = extra[i+1]
	}
	return keys
}

func agentKeys(t *testing.T) map[string]string {
	return map[string]string{"rtp_port": strconv.Itoa(FreeRTPPort(t))}
}

// TestScenarios drives each scenario against its counterpart, so that
// each one is known to load and to play its part of a call.
func TestScenarios(t *testing.T) {
	t.Parallel()
	pcap := filepath.Join(t.TempDir(), "agent.pcap")
	if err := WritePcap(pcap, Paced(0, 20*time.Millisecond, RTPStream(0, 1, 1, 0x5eed, ToneULaw(1000, 400*time.Millisecond)))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		uas, uac string
		// the options beyond the scenario and keys
		uasOpts, uacOpts Options
		uasKeys          bool // whether the server scenario takes rtp_port
		uacExtra         []string
		wantUAC          Result // ExitCode, Successful, Failed
		wantUAS          Result
		wantUACMessage   string // a line the client must have sent or received
	}{
		{
			name: "caller hangs up",
			uas:  "uas.xml", uac: "uac.xml", uasKeys: true,
			uacOpts:        Options{Duration: 200 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "CSeq: 2 BYE",
		},
		{
			name: "delayed offer: the 200 offers, the ACK answers",
			uas:  "uas.xml", uac: "uac_late.xml", uasKeys: true,
			uacOpts:        Options{Duration: 200 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "CSeq: 1 ACK",
		},
		{
			name: "delayed offer requiring 100rel: the 200 offers, the ACK answers",
			uas:  "uas.xml", uac: "uac_late_100rel.xml", uasKeys: true,
			uacOpts:        Options{Duration: 200 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "Require: 100rel",
		},
		{
			name: "agent plays a capture",
			uas:  "uas_pcap.xml", uac: "uac.xml",
			uasOpts:        Options{Keys: map[string]string{"pcap": pcap}},
			uacOpts:        Options{Duration: 800 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "RTP/AVP 0 101",
		},
		{
			name: "over TCP",
			uas:  "uas.xml", uac: "uac.xml", uasKeys: true,
			uasOpts:        Options{Transport: "t1"},
			uacOpts:        Options{Transport: "t1", Duration: 200 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "Via: SIP/2.0/TCP",
		},
		{
			name: "concurrent calls",
			uas:  "uas.xml", uac: "uac.xml", uasKeys: true,
			uasOpts:        Options{Calls: 3},
			uacOpts:        Options{Calls: 3, Rate: 10, Duration: 600 * time.Millisecond},
			wantUAC:        Result{Successful: 3},
			wantUAS:        Result{Successful: 3},
			wantUACMessage: "Call-ID: 3-",
		},
		{
			name: "agent hangs up during the caller's hold",
			uas:  "uas_bye.xml", uac: "uac.xml", uasKeys: true,
			uasOpts:        Options{Duration: 200 * time.Millisecond},
			uacOpts:        Options{Duration: 10 * time.Second},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "CSeq: 1 BYE",
		},
		{
			name: "caller waits for the far side's BYE",
			uas:  "uas_bye.xml", uac: "uac_wait_bye.xml", uasKeys: true,
			uasOpts:        Options{Duration: 200 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "BYE sip:15555550123@",
		},
		{
			name: "agent busy, as expected",
			uas:  "uas_busy.xml", uac: "uac_expect.xml",
			uacExtra:       []string{"expect", "486"},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "SIP/2.0 486 Busy Here",
		},
		{
			name: "agent busy, 403 expected",
			uas:  "uas_busy.xml", uac: "uac_expect.xml",
			uacExtra:       []string{"expect", "403"},
			wantUAC:        Result{ExitCode: 1, Failed: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "CSeq: 1 ACK",
		},
		{
			name: "caller cancels an agent that never answers",
			uas:  "uas_noanswer.xml", uac: "uac_cancel.xml",
			uacOpts:        Options{Duration: 200 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "SIP/2.0 487 Request Terminated",
		},
		{
			name: "INFO dtmf-relay",
			uas:  "uas.xml", uac: "uac_info.xml", uasKeys: true,
			uasOpts:        Options{ExtraArgs: []string{"-aa"}},
			uacOpts:        Options{Duration: 100 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "Signal=9\r\nDuration=160\r\n",
		},
		{
			name: "INFO dtmf",
			uas:  "uas.xml", uac: "uac_info_dtmf.xml", uasKeys: true,
			uasOpts:        Options{ExtraArgs: []string{"-aa"}},
			uacOpts:        Options{Duration: 100 * time.Millisecond},
			wantUAC:        Result{Successful: 1},
			wantUAS:        Result{Successful: 1},
			wantUACMessage: "Content-Type: application/dtmf\r\nContent-Length:     1\r\n\r\n9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uas, uac := tt.uasOpts, tt.uacOpts
			uas.Scenario = Scenario(t, tt.uas)
			uac.Scenario = Scenario(t, tt.uac)
			if tt.uasKeys {
				uas.Keys = agentKeys(t)
			}
			uac.Keys = callerKeys(t, tt.uacExtra...)

			srv := Start(t, withTimeout(uas))
			uac.Remote = srv.Addr()
			cli := Start(t, withTimeout(uac))
			client := cli.Wait(t.Context())
			server := srv.Wait(t.Context())

			checkResult(t, "client", client, tt.wantUAC)
			checkResult(t, "server", server, tt.wantUAS)
			if msgs := cli.Messages(); !strings.Contains(msgs, tt.wantUACMessage) {
				t.Errorf("client messages lack %q:\n%s", tt.wantUACMessage, msgs)
			}
		})
	}
}

func withTimeout(o Options) Options {
	o.Timeout = cmpOr(o.Timeout, 20*time.Second)
	return o
}

func checkResult(t *testing.T, who string, got, want Result) {
	t.Helper()
	if got.ExitCode != want.ExitCode || got.Successful != want.Successful || got.Failed != want.Failed {
		t.Errorf("%s: got exit %d, %d successful, %d failed; want exit %d, %d successful, %d failed\n%s",
			who, got.ExitCode, got.Successful, got.Failed, want.ExitCode, want.Successful, want.Failed, got.Log)
	}
}

// TestScenarioPcap plays a capture made here with uac_pcap.xml and
// checks that every packet reaches the port the agent's SDP names, as
// made, from SIPp's media port.
func TestScenarioPcap(t *testing.T) {
	t.Parallel()
	const ssrc = 0x4b49524f
	frames := ToneULaw(1000, 400*time.Millisecond)
	audio := RTPStream(0, 100, 8000, ssrc, frames)
	dtmf, err := DTMFEvent('9', 101, DTMFOptions{
		Seq: 100 + uint16(len(frames)), Timestamp: 8000 + uint32(160*len(frames)),
		SSRC: ssrc, Volume: 10, ZeroFirst: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	pkts := slices.Concat(audio, dtmf)
	pcap := filepath.Join(t.TempDir(), "tone.pcap")
	if err := WritePcap(pcap, Paced(0, 20*time.Millisecond, pkts)); err != nil {
		t.Fatal(err)
	}

	rtp := ListenRTP(t)
	rtpPort := rtp.LocalAddr().(*net.UDPAddr).Port
	srv := Start(t, withTimeout(Options{
		Scenario: Scenario(t, "uas.xml"),
		Keys:     map[string]string{"rtp_port": strconv.Itoa(rtpPort)},
	}))
	cli := Start(t, withTimeout(Options{
		Scenario: Scenario(t, "uac_pcap.xml"),
		Remote:   srv.Addr(),
		Keys:     map[string]string{"dialled": "8005550100", "caller": "15555550123", "pcap": pcap},
		Duration: 1500 * time.Millisecond, // covers the 0.6 s capture
	}))

	type datagram struct {
		from int
		data []byte
	}
	got := make(chan []datagram, 1)
	go func() {
		var ds []datagram
		buf := make([]byte, 2048)
		for len(ds) < len(pkts) {
			_ = rtp.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := rtp.ReadFromUDP(buf)
			if err != nil {
				break
			}
			ds = append(ds, datagram{from.Port, bytes.Clone(buf[:n])})
		}
		got <- ds
	}()
	ds := <-got

	checkResult(t, "client", cli.Wait(t.Context()), Result{Successful: 1})
	checkResult(t, "server", srv.Wait(t.Context()), Result{Successful: 1})
	if len(ds) != len(pkts) {
		t.Fatalf("got %d packets, want %d", len(ds), len(pkts))
	}
	for i, d := range ds {
		if d.from != cli.MediaPort() {
			t.Errorf("packet %d from port %d, want SIPp's media port %d", i, d.from, cli.MediaPort())
		}
		if !bytes.Equal(d.data, pkts[i]) {
			t.Errorf("packet %d: got % x, want % x", i, head(d.data), head(pkts[i]))
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

func TestScenarioUnknown(t *testing.T) {
	t.Parallel()
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		Scenario(ft, "nope.xml")
	}()
	if !strings.Contains(ft.msg, "uac.xml") {
		t.Errorf("got message %q, want the list of scenarios", ft.msg)
	}
}

func TestScenarioNames(t *testing.T) {
	t.Parallel()
	want := []string{
		"uac.xml", "uac_100rel.xml", "uac_auth.xml", "uac_cancel.xml", "uac_codec.xml", "uac_expect.xml", "uac_hold.xml", "uac_identity.xml", "uac_info.xml", "uac_info_dtmf.xml",
		"uac_late.xml", "uac_late_100rel.xml", "uac_pcap.xml", "uac_wait_bye.xml", "uas.xml", "uas_100rel.xml", "uas_100rel_early.xml", "uas_agentid.xml", "uas_busy.xml", "uas_bye.xml", "uas_early.xml", "uas_hold.xml",
		"uas_noanswer.xml", "uas_options.xml", "uas_pcap.xml", "uas_pcma.xml", "uas_redirect.xml", "uas_refer.xml", "uas_replaces.xml", "uas_slow.xml", "uas_unavailable.xml",
	}
	if got := scenarioNames(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, name := range want {
		path := Scenario(t, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("Keys:")) {
			t.Errorf("%s does not name its keys", name)
		}
	}
}

// fatalRecorder records a Fatal's message and stops the caller with a
// panic instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

var errFatal = errors.New("fatal")

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(errFatal)
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(errFatal)
}

// TestAgentAbsorbsRetransmittedInvite: the agent scenario (uas.xml) takes
// a byte-identical retransmission of the INVITE — one that crossed its
// answer, as a caller whose T1 ran out sends when the agent is slow under
// load — by going on retransmitting its 200 until the ACK (before it) or
// ignoring it (after), and the call completes; SIPp alone aborts such a call ("expecting ACK,
// got INVITE"). The caller is a plain UDP socket, so the retransmission
// lands exactly where the test puts it.
func TestAgentAbsorbsRetransmittedInvite(t *testing.T) {
	t.Parallel()
	srv := Start(t, withTimeout(Options{Scenario: Scenario(t, "uas.xml"), Keys: agentKeys(t)}))
	conn, err := net.ListenPacket("udp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to, err := net.ResolveUDPAddr("udp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	msg := func(method, branch string, cseq int, toTag, body string) []byte {
		ct := ""
		if body != "" {
			ct = "Content-Type: application/sdp\r\n"
		}
		return fmt.Appendf(nil, "%s sip:agent@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\nFrom: <sip:caller@%s>;tag=c1\r\n"+
			"To: <sip:agent@%s>%s\r\nCall-ID: retrans-1\r\nCSeq: %d %s\r\nContact: <sip:caller@%s>\r\nMax-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s",
			method, srv.Addr(), local, branch, local, srv.Addr(), toTag, cseq, method, local, ct, len(body), body)
	}
	send := func(b []byte) {
		t.Helper()
		if _, err := conn.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next response's status line and To tag, skipping
	// nothing: every response counts.
	next := func(want string) string {
		t.Helper()
		buf := make([]byte, 65535)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			m := string(buf[:n])
			if strings.HasPrefix(m, "SIP/2.0 "+want) {
				tag := ""
				if i := strings.Index(m, "\r\nTo: "); i >= 0 {
					line, _, _ := strings.Cut(m[i+6:], "\r\n")
					if _, v, ok := strings.Cut(line, ";tag="); ok {
						tag = ";tag=" + v
					}
				}
				return tag
			}
		}
	}
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(FreeRTPPort(t)) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	invite := msg("INVITE", "z9hG4bK-inv", 1, "", sdp)
	send(invite)
	tag := next("200")
	send(invite) // crossed the 200: the 200 goes on being retransmitted
	if again := next("200"); again != tag {
		t.Errorf("the 200 again carries To tag %q, want %q", again, tag)
	}
	send(msg("ACK", "z9hG4bK-ack", 1, tag, ""))
	send(invite) // after the ACK: ignored
	time.Sleep(100 * time.Millisecond)
	send(msg("BYE", "z9hG4bK-bye", 2, tag, ""))
	next("200")
	checkResult(t, "agent", srv.Wait(t.Context()), Result{Successful: 1})
}
