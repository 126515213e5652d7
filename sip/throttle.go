package sip

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuThrottle reads how often the CPU quota of kirokud's own cgroup has
// run out (the kernel's CFS bandwidth control: systemd's CPUQuota=,
// Kubernetes' CPU limit, docker --cpus): cpu.stat's nr_periods and
// nr_throttled, in cgroup v2 or in v1's cpu controller. A node throttled
// in most periods cannot carry the calls it has: its relay falls behind
// and admitted calls lose audio and agent legs, while its set-ups still
// look quick (README, Call storms). The group is looked up at each read:
// a process can be moved.
type cpuThrottle struct {
	root string // "/" but in tests
}

// read returns the counts and whether a quota-bearing cgroup was found.
func (c cpuThrottle) read() (periods, throttled uint64, ok bool) {
	b, err := os.ReadFile(filepath.Join(c.root, "proc/self/cgroup"))
	if err != nil {
		return 0, 0, false
	}
	var candidates []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-id:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		switch {
		case parts[0] == "0" && ctrls == "":
			candidates = append(candidates,
				filepath.Join(c.root, "sys/fs/cgroup", path, "cpu.stat"),
				filepath.Join(c.root, "sys/fs/cgroup/unified", path, "cpu.stat"))
		case hasController(ctrls, "cpu"):
			for _, mnt := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
				candidates = append(candidates, filepath.Join(c.root, "sys/fs/cgroup", mnt, path, "cpu.stat"))
			}
		}
	}
	// The first with bandwidth counts: where both hierarchies are mounted
	// (hybrid), v2's cpu.stat has none unless its cpu controller is on.
	for _, f := range candidates {
		if p, t, ok := readCPUStat(f); ok {
			return p, t, true
		}
	}
	return 0, 0, false
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readCPUStat reads nr_periods and nr_throttled from a cpu.stat file.
func readCPUStat(path string) (periods, throttled uint64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	var havePeriods, haveThrottled bool
	for _, line := range strings.Split(string(b), "\n") {
		k, v, found := strings.Cut(line, " ")
		if !found {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "nr_periods":
			periods, havePeriods = n, true
		case "nr_throttled":
			throttled, haveThrottled = n, true
		}
	}
	return periods, throttled, havePeriods && haveThrottled
}
