// Command kiroku-load is kirokud's load benchmark (`make bench-calls`): it
// starts kirokud on loopback, drives concurrent recorded calls through it
// to an agent of its own, and prints what they cost.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/kiroku-voice/kiroku/cmd/kiroku-load/internal/loadgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kiroku-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calls := fs.Int("calls", 500, "concurrent calls to hold")
	rate := fs.Float64("rate", 150, "new calls per `second` while ramping up")
	hold := fs.Duration("hold", 30*time.Second, "each call's length, INVITE to BYE")
	bin := fs.String("kirokud", "", "kirokud `binary` (default: build one into the temporary folder)")
	keep := fs.Bool("keep", false, "keep the temporary folder (config, kirokud.log, spool)")
	parent := fs.String("dir", "", "make the temporary folder (kirokud's data_dir) in `folder` (default: $TMPDIR or /tmp)")
	ports := fs.String("rtp-ports", loadgen.DefaultRTPPorts, "kirokud's RTP port `range`")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	waitQuiet := fs.Duration("wait-quiet", 0, "first wait up to `duration` for the machine to be quiet (a shared machine)")
	cpuprofile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to `file`")
	heapprofile := fs.String("heapprofile", "", "write kirokud's heap profile with every call up to `file` (go tool pprof reads it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *calls <= 0 || *rate <= 0 || *hold <= 0 {
		fmt.Fprintln(stderr, "kiroku-load: -calls, -rate and -hold must be positive")
		return 2
	}

	// Bounded whatever happens: ramp, hold, and generous margins for
	// start-up, hang-up and the spool.
	limit := time.Duration(float64(*calls)/(*rate)*float64(time.Second)) + *hold + *waitQuiet + 3*time.Minute
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	dir, err := os.MkdirTemp(*parent, "kiroku-load-")
	if err != nil {
		fmt.Fprintln(stderr, "kiroku-load:", err)
		return 1
	}
	if *keep {
		defer fmt.Fprintln(stderr, "kiroku-load: kept", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if *bin == "" {
		fmt.Fprintln(stderr, "kiroku-load: building kirokud")
		if *bin, err = loadgen.BuildKirokud(ctx, dir); err != nil {
			fmt.Fprintln(stderr, "kiroku-load:", err)
			return 1
		}
	}
	if *bin, err = filepath.Abs(*bin); err != nil { // kirokud runs in dir
		fmt.Fprintln(stderr, "kiroku-load:", err)
		return 1
	}
	opts := loadgen.Options{Calls: *calls, Rate: *rate, Hold: *hold, Kirokud: *bin, Dir: dir, RTPPorts: *ports, WaitQuiet: *waitQuiet, HeapProfile: *heapprofile}
	if !*quiet {
		opts.Log = stderr
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "kiroku-load:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "kiroku-load:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "kiroku-load:", err)
		return 1
	}
	fmt.Fprintf(stdout, "$ kiroku-load %s\n", strings.Join(args, " "))
	res.Print(stdout)
	return 0
}
