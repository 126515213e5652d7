package sipptest

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// The scenarios name the keys they take in their opening comment; SIPp
// refuses to load a scenario with a key it was not given.
//
//go:embed scenarios/*.xml
var scenarios embed.FS

// Scenario writes the embedded scenario name to a directory of the test
// and returns its path, for Options.Scenario. The scenarios, with the
// keys each needs (SIPp refuses to load one without them):
//
// Callers, which need dialled, caller and, but for uac_pcap.xml,
// rtp_port (the port of the test's socket that their SDP offers):
//   - uac.xml: calls, ACKs the 200, holds for -d, sends BYE; a BYE from
//     the far side during the call is answered and counts as success.
//   - uac_wait_bye.xml: calls, ACKs, waits for the far side's BYE.
//   - uac_auth.xml: calls, expects 401 and ACKs it, calls again with
//     digest credentials (-au, -ap; MD5 only in SIPp 3.6), then goes on
//     as uac.xml; a 401 or 403 to the second INVITE fails the call.
//   - uac_expect.xml: calls and succeeds only if refused with the code
//     of key expect (such as 403), which it ACKs.
//   - uac_cancel.xml: calls, and on 180 or 183 holds for -d, CANCELs,
//     expects 200 and 487, and ACKs.
//   - uac_pcap.xml: like uac.xml, offering SIPp's media port, and plays
//     the capture at key pcap once the call is up; -d must cover it.
//   - uac_codec.xml: offers PCMU only; 2.5 s after the ACK re-INVITEs
//     offering PCMA only and fails unless answered PCMA; holds for -d.
//   - uac_info.xml, uac_info_dtmf.xml: like uac.xml, sending 9 in an
//     INFO (application/dtmf-relay, or application/dtmf) 500 ms after
//     the ACK.
//   - uac_identity.xml: like uac.xml, with From user caller and the
//     P-Asserted-Identity (key pai, a number) and Privacy (key privacy)
//     an asserting carrier sends.
//   - uac_late.xml: a delayed offer: an INVITE without SDP; the 200
//     must offer (with telephone-event), and the ACK answers PCMU on
//     rtp_port; then as uac.xml.
//   - uac_100rel.xml: an INVITE with Require: 100rel; expects a
//     reliable 183 with SDP, PRACKs it (200 expected), then the 200;
//     once up, a PRACK of an RSeq never sent must get 481.
//
// Agents:
//   - uas.xml (key rtp_port): answers with 100, 180, 200, waits for BYE.
//   - uas_agentid.xml (key rtp_port): as uas.xml, its 200 naming the
//     agent: X-Agent-Id: A-1001, P-Asserted-Identity with user a1001,
//     Contact with user agent1001.
//   - uas_bye.xml (key rtp_port): answers, holds for -d, sends BYE.
//   - uas_slow.xml (key rtp_port): waits -d after the INVITE before
//     anything, then as uas.xml.
//   - uas_busy.xml: answers 486 Busy Here.
//   - uas_noanswer.xml: rings until CANCELled, then sends 487.
//   - uas_early.xml (key rtp_port): 183 with SDP, holds for -d (early
//     media from the test's socket), then 200 with the same SDP.
//   - uas_options.xml (key rtp_port): as uas.xml, and answers OPTIONS
//     (health checks) with 200; each OPTIONS counts as a call for -m.
//   - uas_redirect.xml (key redirect_to): answers 302 with Contact
//     redirect_to.
//   - uas_refer.xml (keys rtp_port, refer_to): answers, holds for -d,
//     REFERs the call to refer_to; on 202 expects NOTIFYs of 100 then
//     200 and hangs up, on 403 hangs up.
//   - uas_replaces.xml (keys rtp_port, replaces_call_id): as uas.xml,
//     failing unless the INVITE carries Replaces for that Call-ID.
//   - uas_unavailable.xml (key retry): answers 503 with Retry-After:
//     retry seconds; answers OPTIONS with 200.
//   - uas_100rel.xml (key rtp_port): wants Supported: 100rel; sends a
//     reliable 180, a retransmission of it after its PRACK, a reliable
//     183 with SDP, and fails unless each is PRACKed once, in order, and
//     the ACK of its 200 has the INVITE's CSeq number.
//   - uas_100rel_early.xml (key rtp_port): answers the offer in a
//     reliable 183 with SDP and, once it is PRACKed, sends a 200
//     without SDP.
func Scenario(t testing.TB, name string) string {
	t.Helper()
	data, err := scenarios.ReadFile("scenarios/" + name)
	if err != nil {
		t.Fatalf("sipptest: no scenario %q (have %v)", name, scenarioNames())
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatalf("sipptest: write scenario: %v", err)
	}
	return path
}

// scenarioNames lists the embedded scenarios.
func scenarioNames() []string {
	names, err := fs.Glob(scenarios, "scenarios/*.xml")
	if err != nil {
		return nil
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}
