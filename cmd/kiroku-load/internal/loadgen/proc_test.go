package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       uint64
		err        bool
	}{
		{"plain", "1234 (kirokud) S 1 1234 1234 0 -1 4194560 5038 0 0 0 250 37 0 0 20 0 9 0 12345 1000000 3000 18446744073709551615", 287, false},
		{"name with spaces and parens", "99 (a (b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1", 10, false},
		{"short", "99 (x) R 1 2 3", 0, true},
		{"no name", "99 x R", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatTicks([]byte(tc.line))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseStatusKiB(t *testing.T) {
	status := "Name:\tkirokud\nVmPeak:\t 1300000 kB\nVmRSS:\t   75312 kB\nThreads:\t9\n"
	if got, err := parseStatusKiB([]byte(status), "VmRSS"); err != nil || got != 75312 {
		t.Errorf("got %d, %v; want 75312", got, err)
	}
	if _, err := parseStatusKiB([]byte(status), "VmSwap"); err == nil {
		t.Error("got no error for a missing key, want one")
	}
}

func TestParseCPULine(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	busy, total, err := parseCPULine([]byte("cpu  100 1 50 800 20 0 9 5 40 0\ncpu0 1 2 3 4 5 6 7 8\n"))
	if err != nil || busy != 165 || total != 985 {
		t.Errorf("got busy %d total %d %v, want 165 985", busy, total, err)
	}
	if _, _, err := parseCPULine([]byte("intr 1 2 3\n")); err == nil {
		t.Error("got no error without a cpu line, want one")
	}
}

func TestParseSNMP(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 100 2 3 90 3 0\n" +
		"UdpLite: InDatagrams NoPorts\nUdpLite: 0 0\n"
	got, err := parseSNMP([]byte(snmp), "Udp")
	if err != nil || got["InDatagrams"] != 100 || got["RcvbufErrors"] != 3 || got["NoPorts"] != 2 {
		t.Errorf("got %v, %v; want InDatagrams 100, RcvbufErrors 3, NoPorts 2", got, err)
	}
}

func TestCores(t *testing.T) {
	if got := cores(100, 250, 2*time.Second); got != 0.75 {
		t.Errorf("got %v cores, want 0.75", got)
	}
	if got := cores(250, 100, time.Second); got != 0 {
		t.Errorf("got %v cores for a counter going back, want 0", got)
	}
}

// TestTakeSampleSelf reads this test process as if it were kirokud.
func TestTakeSampleSelf(t *testing.T) {
	s, err := takeSample(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.kRSS == 0 || s.cpuTotal == 0 {
		t.Errorf("got RSS %d KiB, machine ticks %d; want both above 0", s.kRSS, s.cpuTotal)
	}
}

func TestParseUDPDrops(t *testing.T) {
	table := "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		"  101: 0100007F:4E20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2 0000000000000000 0\n" +
		"  102: 0100007F:4E22 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1235 2 0000000000000000 17\n"
	got, err := parseUDPDrops([]byte(table))
	if err != nil || len(got) != 2 || got[20000] != 0 || got[20002] != 17 {
		t.Errorf("got %v, %v; want port 20000: 0, 20002: 17", got, err)
	}
}
