package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseInvalid parses each broken configuration under testdata/invalid
// and checks that every problem is reported, each with file, line and key.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{
			file: "downstream.yaml",
			want: []string{
				`downstream.yaml:6: lines[0].downstream: "http://agent.example.com": scheme "http" is not sip, sips or echo`,
				`downstream.yaml:7: lines[1].downstream: "agent": want sip:user@host[:port][;params], sips:… or echo:`,
				`downstream.yaml:8: lines[2].downstream: "sip:": no host`,
				`downstream.yaml:9: lines[3].downstream: "sip:bob@": no host`,
				`downstream.yaml:10: lines[4].downstream: "sip:@host": empty user before @`,
				`downstream.yaml:11: lines[5].downstream: "sip:bob@host:0": port "0" is not in 1-65535`,
				`downstream.yaml:12: lines[6].downstream: "sip:bob@host:99999": port "99999" is not in 1-65535`,
				`downstream.yaml:13: lines[7].downstream: "sip:bob@[::1": host "[::1" lacks its closing ]`,
				`downstream.yaml:14: lines[8].downstream: "sip:bob@-pbx-.example.com": host "-pbx-.example.com" is not a hostname or IP address`,
				`downstream.yaml:15: lines[9].downstream: "sip:bob@pbx;transport=tpc": transport "tpc" is not udp, tcp, tls, sctp, ws or wss`,
				`downstream.yaml:16: lines[10].downstream: "sip:bob@pbx?subject=x": URI headers (?…) are not allowed`,
				`downstream.yaml:17: lines[11].downstream: "echo:agent": echo: takes nothing after the colon`,
				`downstream.yaml:18: lines[12].downstream: "sip:bob@pbx;;lr": empty URI parameter`,
				`downstream.yaml:19: lines[13].downstream: "sip:bob@pbx:": port "" is not in 1-65535`,
				`downstream.yaml:20: lines[14].downstream: required, such as "sip:agent@192.0.2.10:5060" or "echo:" (or a downstreams list)`,
			},
		},
		{
			file: "groups.yaml",
			want: []string{
				`groups.yaml:3: sip.ring_timeout: must be more than 0: it is how long a downstream may take to send its first response before the next is tried`,
				`groups.yaml:4: sip.health_check.timeout: 5s must be more than 0 and below sip.health_check.interval 5s`,
				`groups.yaml:4: sip.health_check.down_after: must be at least 1, got 0`,
				`groups.yaml:4: sip.health_check.up_after: must be at least 1, got -1`,
				`groups.yaml:12: lines[0].downstreams: set together with downstream: name one downstream, or list them all in downstreams`,
				`groups.yaml:16: lines[1].unavailable: cannot read "prompts/missing.wav": file does not exist`,
				`groups.yaml:18: lines[1].downstreams[0].priority: must be 0 or more (lower is tried first), got -1`,
				`groups.yaml:19: lines[1].downstreams[1].uri: "sip:acd@192.0.2.10" repeats downstreams[0]`,
				`groups.yaml:19: lines[1].downstreams[1].weight: must be at least 1, got 0`,
				`groups.yaml:20: lines[1].downstreams[2].uri: echo: is the built-in agent and stands alone: use downstream: "echo:"`,
				`groups.yaml:21: lines[1].downstreams[3].uri: required, such as "sip:acd@192.0.2.10:5060"`,
				`groups.yaml:22: lines[2].unavailable: an echo: line always reaches its agent; it plays no unavailable prompt`,
				`groups.yaml:22: lines[2].failover_on_busy: an echo: line has no downstreams to fail over to`,
				`groups.yaml:27: lines[3].transfer_targets[1]: "tel:+81312345678": want sip:user@host[:port] or sip:*@host[:port]`,
				`groups.yaml:27: lines[3].transfer_targets[2]: "sip:desk@192.0.2.31;transport=tcp": parameters and headers are not part of a transfer target`,
				`groups.yaml:27: lines[3].transfer_targets[3]: "sip:@192.0.2.32": a user part is required ("*" for any)`,
				`groups.yaml:27: lines[3].transfer_targets[4]: "sip:*@": no host`,
			},
		},
		{
			file: "mediaif.yaml",
			want: []string{
				`mediaif.yaml:5: sip.media_interfaces[1].name: "carrier" repeats sip.media_interfaces[0]`,
				`mediaif.yaml:6: sip.media_interfaces[2].name: "Agents!" is not a name of 1 to 32 lower-case letters, digits, - and _`,
				`mediaif.yaml:6: sip.media_interfaces[2].bind: "::" is not an IP address of this host (0.0.0.0 and :: cannot be advertised)`,
				`mediaif.yaml:7: sip.media_interfaces[3].advertise: 192.0.2.1 and bind ::1 are of different families`,
				`mediaif.yaml:8: sip.media_interfaces[4].advertise: "nowhere" is not an IP address peers can send RTP to`,
				`mediaif.yaml:10: sip.trunks[0].media_interface: "missing" is not a sip.media_interfaces name`,
				`mediaif.yaml:14: lines[0].downstream_media_interface: "nope" is not a sip.media_interfaces name`,
				`mediaif.yaml:15: lines[1].downstream_media_interface: an echo: line has no agent leg`,
			},
		},
		{
			file: "notice-mode.yaml",
			want: []string{
				`notice-mode.yaml:6: lines[0].notice_mode: "early" is not answer or early-media`,
			},
		},
		{
			file: "empty.yaml",
			want: []string{
				`empty.yaml: sip.listen: at least one listen URL is required, such as "udp://192.0.2.1:5060"`,
			},
		},
		{
			file: "limits.yaml",
			want: []string{
				`limits.yaml:3: sip.max_calls: must be at least 1, got 0`,
				`limits.yaml:4: sip.rtp_ports: "30000-20000": the first port must be below the last`,
				`limits.yaml:5: sip.answer_timeout: must be more than 0`,
				`limits.yaml:7: log.level: "verbose" is not debug, info, warn or error`,
				`limits.yaml:8: log.format: "xml" is not auto, json or console`,
			},
		},
		{
			file: "overload.yaml",
			want: []string{
				`overload.yaml:4: sip.overload.max_setups_pending: must be at least 1, got 0; overload control cannot be turned off`,
				`overload.yaml:5: sip.overload.setup_queue_timeout: 50ms is not within 100ms-30s`,
				`overload.yaml:6: sip.overload.action: "queue" is not reject (503 Overloaded with Retry-After) or drop (no answer)`,
				`overload.yaml:7: sip.overload.max_sched_wait: 20ms is not within 50ms-10s (10s: never refuse on the scheduler's wait)`,
			},
		},
		{
			file: "max-listeners.yaml",
			want: []string{
				`max-listeners.yaml:4: api.max_listeners: must be at least 1, got 0 (who may listen in is the purposes' listeners' matter, not this bound's)`,
			},
		},
		{
			file: "listen.yaml",
			want: []string{
				`listen.yaml:3: sip.listen[0]: "sips://192.0.2.1:5061": sips is not supported yet; use udp, tcp or tls`,
				`listen.yaml:4: sip.listen[1]: "http://192.0.2.1:80": scheme "http" is not udp, tcp or tls`,
				`listen.yaml:5: sip.listen[2]: "192.0.2.1:5060": want udp://ip:port or tcp://ip:port`,
				`listen.yaml:6: sip.listen[3]: "udp://localhost:5060": host "localhost" is not an IP address`,
				`listen.yaml:7: sip.listen[4]: "udp://192.0.2.1:70000": port "70000" is not in 0-65535`,
				`listen.yaml:8: sip.listen[5]: "udp://192.0.2.1": want udp://ip:port, with a port`,
				`listen.yaml:9: sip.listen[6]: "tcp://192.0.2.1:5060/sip": want tcp://ip:port, with nothing else`,
				`listen.yaml:11: sip.listen[8]: "UDP://192.0.2.1:5060" repeats sip.listen[7]`,
			},
		},
		{
			file: "media-ip-unspecified.yaml",
			want: []string{
				`media-ip-unspecified.yaml:1: sip.media_ip: not set, and the first listener's host 0.0.0.0 cannot be advertised in SDP; set sip.media_ip`,
			},
		},
		{
			file: "media-ip.yaml",
			want: []string{
				`media-ip.yaml:3: sip.media_ip: "::" is unspecified; need the address peers send RTP to`,
				`media-ip.yaml:4: a second YAML document; put the whole configuration in one`,
			},
		},
		{
			file: "notices.yaml",
			want: []string{
				`notices.yaml:6: lines[0].notice: cannot read "prompts/missing.wav": file does not exist`,
				`notices.yaml:7: lines[1].notice: "prompts/stereo.wav" is 44100 Hz stereo 16-bit; need 8000 Hz mono 16-bit PCM`,
				`notices.yaml:8: lines[2].notice: "prompts/ulaw.wav" is 8000 Hz mono 8-bit μ-law; need 8000 Hz mono 16-bit PCM`,
				`notices.yaml:9: lines[3].notice: "prompts/silent.wav" has no audio`,
				`notices.yaml:10: lines[4].notice: "prompts/text.wav" is not a usable WAV file: not a RIFF file (starts with "hell")`,
				`notices.yaml:11: lines[5].notice: "prompts/zero.wav" is empty`,
				`notices.yaml:12: lines[6].notice: "prompts/cut.wav" is not a usable WAV file: truncated: "data" chunk at offset 36 declares 3200 bytes, only 956 present`,
				`notices.yaml:13: lines[7].notice: "../outside.wav" is outside the file system notices are read from`,
				`notices.yaml:14: lines[8].notice: "prompts" is a directory`,
				`notices.yaml:15: lines[9].notice: cannot read "prompts/missing.wav": file does not exist`,
			},
		},
		{
			file: "numbers.yaml",
			want: []string{
				`numbers.yaml:7: lines[1].number: "0120-000-000" repeats lines[0] (both are 0120000000)`,
				`numbers.yaml:8: lines[2].number: "+81 120 000 000" repeats lines[0] (both are 0120000000)`,
				`numbers.yaml:9: lines[3].number: required`,
				`numbers.yaml:10: lines[4].number: "toll-free" is not a phone number`,
				`numbers.yaml:11: lines[5].number: required`,
			},
		},
		{
			file: "opt-out.yaml",
			want: []string{
				`opt-out.yaml:6: lines[0].opt_out_digit: "10" is not a DTMF digit (want one of 0-9, *, #, A-D)`,
				`opt-out.yaml:7: lines[1].opt_out_digit: "x" is not a DTMF digit (want one of 0-9, *, #, A-D)`,
				`opt-out.yaml:8: lines[2].opt_out_wait: must be more than 0 when opt_out_digit is set`,
			},
		},
		{
			file: "purposes.yaml",
			want: []string{
				`purposes.yaml:6: purposes[0].listeners[1]: "boss" is not a role (want supervisor, privacy-officer, auditor or admin)`,
				`purposes.yaml:6: purposes[0].listeners[3]: "Admin" is not a role (want supervisor, privacy-officer, auditor or admin)`,
				`purposes.yaml:7: purposes[1].name: "cs" repeats purposes[0]`,
				`purposes.yaml:10: purposes[2].retention: required, such as "90d", "12w", "6m" or "1y"`,
				`purposes.yaml:11: purposes[3].name: required`,
				`purposes.yaml:13: purposes[4].name: "cs quality" may hold only letters, digits, '.', '_' and '-'`,
				`purposes.yaml:14: purposes[4].retention: "0d": retention must be more than 0`,
				`purposes.yaml:16: purposes[5].retention: "3h" is not a retention such as "90d", "12w", "6m" or "1y"`,
			},
		},
		{
			file: "retention-job.yaml",
			want: []string{
				`retention-job.yaml:4: retention.orphan_grace: "-1h" is negative`,
				`retention-job.yaml:6: retention.orphan_max_percent: 150 is not a percentage from 1 to 100 (100 lifts the bound)`,
			},
		},
		{
			file: "spool.yaml",
			want: []string{
				`spool.yaml:4: spool.reserve_mb: -1 is not a size in MiB from 1 to 1048576`,
				`spool.yaml:5: spool.ballast_kb: -2 is not a size in KiB from 1 to 1048576, or -1 for none`,
				`spool.yaml:7: storage.attempt_timeout: 3s is not from 10s to 6h`,
				`spool.yaml:8: storage.stall_timeout: 20m0s is not from 1s to 10m`,
			},
		},
		{
			file: "transcoder.yaml",
			want: []string{
				`transcoder.yaml:4: transcoder.cpu_percent: 0 is outside 5–100 (percent of one CPU)`,
				`transcoder.yaml:5: transcoder.defer_backlog: -2 is not -1 (never), 0 (always) or a number of recordings waiting`,
			},
		},
		{
			file: "repeated-key.yaml",
			want: []string{
				`repeated-key.yaml:4: sip.max_calls: repeated key (first at line 3)`,
			},
		},
		{
			file: "required.yaml",
			want: []string{
				`required.yaml:6: lines[0].purpose: required`,
				`required.yaml:6: lines[0].notice: required: the WAV file played before recording`,
				`required.yaml:6: lines[0].downstream: required, such as "sip:agent@192.0.2.10:5060" or "echo:" (or a downstreams list)`,
			},
		},
		{
			file: "rtp-ports-range.yaml",
			want: []string{
				`rtp-ports-range.yaml:3: sip.rtp_ports: "80-90": ports must be within 1024-65535`,
			},
		},
		{
			file: "rtp-ports-syntax.yaml",
			want: []string{
				`rtp-ports-syntax.yaml:3: sip.rtp_ports: "20000" is not a port range such as "20000-29999"`,
			},
		},
		{
			file: "syntax.yaml",
			want: []string{
				`syntax.yaml: yaml: line 1: did not find expected ',' or ']'`,
			},
		},
		{
			file: "top-level-list.yaml",
			want: []string{
				`top-level-list.yaml:1: want a mapping, got a list`,
			},
		},
		{
			file: "trunks.yaml",
			want: []string{
				`trunks.yaml:4: sip.trunks[0].name: required`,
				`trunks.yaml:5: sip.trunks[1].cidrs: at least one CIDR is required, such as "192.0.2.0/24"`,
				`trunks.yaml:7: sip.trunks[2].cidrs[0]: "10.0.0.0/33" is not a CIDR such as "192.0.2.0/24" or an IP address`,
				`trunks.yaml:7: sip.trunks[2].cidrs[1]: "fe80::1%eth0" is not a CIDR such as "192.0.2.0/24" or an IP address`,
				`trunks.yaml:7: sip.trunks[2].cidrs[2]: "example.com" is not a CIDR such as "192.0.2.0/24" or an IP address`,
				`trunks.yaml:8: sip.trunks[3].name: "b" repeats sip.trunks[2]`,
			},
		},
		{
			file: "unknown-key.yaml",
			want: []string{
				`unknown-key.yaml:3: sip.lissten: unknown key`,
				`unknown-key.yaml:4: datadir: unknown key`,
				`unknown-key.yaml:6: purposes[0].owner: unknown key`,
			},
		},
		{
			file: "unknown-purpose.yaml",
			want: []string{
				`unknown-purpose.yaml:8: lines[0].purpose: "sales" is not a defined purpose`,
			},
		},
		{
			file: "wrong-types.yaml",
			want: []string{
				`wrong-types.yaml:2: sip.listen: want a list, got "udp://127.0.0.1:5060"`,
				`wrong-types.yaml:3: sip.max_calls: want a decimal integer, got "many"`,
				`wrong-types.yaml:4: sip.drain_timeout: "soon" is not a duration such as "3s" or "1m30s"`,
				`wrong-types.yaml:5: sip.answer_timeout: "-3s" is negative`,
				`wrong-types.yaml:6: sip.trunks: want a list, got a mapping`,
				`wrong-types.yaml:7: log: want a mapping, got "debug"`,
				`wrong-types.yaml:10: purposes[0].retention: want a retention such as "90d", got a list`,
				`wrong-types.yaml:11: purposes[0].listeners: want a list, got "supervisor"`,
				`wrong-types.yaml:13: lines[0].number: want a string, got a mapping`,
				`wrong-types.yaml:16: lines[0].opt_out_wait: "3" is not a duration such as "3s" or "1m30s"`,
				`wrong-types.yaml:18: lines[1]: want a mapping, got "just a string"`,
			},
		},
	}
	fsys := promptFS(t)
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "invalid", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, tt.file, fsys, ".")
			if err == nil {
				t.Fatalf("got config %+v, want errors", c)
			}
			got := strings.Split(err.Error(), "\n")
			for i := range max(len(got), len(tt.want)) {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(tt.want) {
					w = tt.want[i]
				}
				if g != w {
					t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
				}
			}
		})
	}
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			data, _ := os.ReadFile(f)
			_, err := Parse(data, filepath.Base(f), fsys, ".")
			t.Errorf("fixture %s has no test case; it gives:\n%v", f, err)
		}
	}
}

func TestProblemsAs(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/unknown-purpose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, "unknown-purpose.yaml", promptFS(t), ".")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %T, want Problems", err)
	}
	want := Problem{File: "unknown-purpose.yaml", Line: 8, Key: "lines[0].purpose", Msg: `"sales" is not a defined purpose`}
	if len(ps) != 1 || ps[0] != want {
		t.Errorf("got %#v, want [%#v]", ps, want)
	}
	var p Problem
	if !errors.As(err, &p) || p != want {
		t.Errorf("errors.As Problem: got %#v, want %#v", p, want)
	}
}
