package storm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// limitCPU puts the process pid in a CPU cgroup of its own that lets it
// use cores of CPU time (0.3: 30 % of one core), so that a storm can
// take kirokud past its capacity although the generators on the same
// machine are not: what a node with less CPU, or a busier one, sees. It
// uses cgroup v2 (cpu.max) where the unified hierarchy has the cpu
// controller, else v1's cpu controller; it needs root. The returned
// function moves nothing back (call it once the process has exited) and
// removes the group.
func limitCPU(pid int, cores float64) (func(), error) {
	const period = 100000 // µs
	quota := int(cores * period)
	name := fmt.Sprintf("kiroku-storm-%d", os.Getpid())
	var dir string
	var files [][2]string
	if c, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(c), "cpu") {
		dir = filepath.Join("/sys/fs/cgroup", name)
		files = [][2]string{{"cpu.max", fmt.Sprintf("%d %d", quota, period)}}
	} else if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		dir = filepath.Join("/sys/fs/cgroup/cpu", name)
		files = [][2]string{{"cpu.cfs_period_us", strconv.Itoa(period)}, {"cpu.cfs_quota_us", strconv.Itoa(quota)}}
	} else {
		return nil, errors.New("no cgroup CPU controller found (cgroup v2 with cpu, or v1's cpu)")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create CPU cgroup: %w (root is needed)", err)
	}
	remove := func() {
		// The group goes once its last process has left (exited).
		for range 50 {
			if os.Remove(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, f := range append(files, [2]string{"cgroup.procs", strconv.Itoa(pid)}) {
		if err := os.WriteFile(filepath.Join(dir, f[0]), []byte(f[1]), 0o644); err != nil {
			remove()
			return nil, fmt.Errorf("CPU cgroup %s: %w", f[0], err)
		}
	}
	return remove, nil
}
