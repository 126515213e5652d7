package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// versionString is the version, with the commit a development build was
// made from when Go recorded it.
func versionString() string {
	v := version
	if v != "dev" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// helpError is a command's -h: its help is printed, and kirokuctl exits 0.
type helpError struct {
	fs *flag.FlagSet
}

func (h *helpError) Error() string { return "help requested for " + h.fs.Name() }

// globalFlags are the flags every command takes, described once in the
// main usage rather than in each command's help.
var globalFlags = map[string]bool{"server": true, "token": true, "token-file": true, "ca": true, "o": true, "tz": true}

// writeCommandHelp writes the help of the command fs parses: its lines of
// the usage text and its own flags.
func writeCommandHelp(out io.Writer, fs *flag.FlagSet) {
	name := fs.Name()
	fmt.Fprintf(out, "usage: kirokuctl %s [flags]\n\n", name)
	if lines := usageLines(name); lines != "" {
		fmt.Fprint(out, lines+"\n")
	}
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !globalFlags[f.Name] {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintln(out, "flags:")
		for _, f := range own {
			kind, help := flag.UnquoteUsage(f)
			line := "  -" + f.Name
			if kind != "" {
				line += " " + kind
			}
			if f.DefValue != "" && f.DefValue != "false" {
				help += fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(out, "%-24s %s\n", line, help)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, "global flags (-server, -token, -token-file, -ca, -o, -tz): kirokuctl -h")
}

// usageLines are the lines of the usage text that describe command name
// (a command, or a group such as "hold"), with their continuation lines.
func usageLines(name string) string {
	var b strings.Builder
	in := false
	for _, l := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   "):
			w := strings.TrimSpace(l)
			in = w == name || strings.HasPrefix(w, name+" ")
		case strings.HasPrefix(l, "    "):
			// a continuation of the command above
		default:
			in = false
		}
		if in {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// helpCmd: help [COMMAND…]. A command's help comes from its own flag
// set (run with -h, which returns before anything is sent); a group
// (hold, requests…) lists its commands.
func helpCmd(ctx context.Context, g *globals, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return nil
	}
	err := dispatch(ctx, g, append(append([]string{}, args...), "-h"), out)
	var h *helpError
	if errors.As(err, &h) {
		writeCommandHelp(out, h.fs)
		return nil
	}
	name := strings.Join(args, " ")
	lines := usageLines(name)
	if lines == "" {
		return fmt.Errorf("%w: no command %q: kirokuctl help lists them", errUsage, name)
	}
	fmt.Fprintf(out, "usage:\n%s\nkirokuctl help COMMAND shows a command's flags\n", lines)
	return nil
}
