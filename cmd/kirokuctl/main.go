// Command kirokuctl is the supervisor's and operator's command line: a
// client of kirokud's HTTP API (it never opens storage or the catalog),
// built on the API's own client package, apiclient, whose wire types the
// API encodes its answers with.
// The server and token come from -server and -token or from the
// environment (KIROKU_SERVER, KIROKU_TOKEN); prefer the environment or
// -token-file, since a command line is visible to other users.
//
//	kirokuctl recordings search [filters]      find recordings
//	kirokuctl recordings export [filters]      the whole result as CSV (audited as an export)
//	kirokuctl recordings show ID               metadata and consent evidence
//	kirokuctl recordings download ID -reason R [-out FILE]
//	kirokuctl recordings notes ID | note ID -text T [-at S]   notes on a recording
//	kirokuctl hold set|clear ID -reason R      legal hold (privacy officers)
//	kirokuctl hold bulk -caller N|-from T -to T|-ids … -reason R   many at once
//	kirokuctl retention plan [-purpose P -retention L]  what the next purge deletes; a changed limit previewed
//	kirokuctl retention purge                  run a purge now
//	kirokuctl audit list [filters]             the audit log (auditors)
//	kirokuctl audit verify                     walk the audit chain
//	kirokuctl calls list                       calls in progress
//	kirokuctl calls listen ID -reason R [-out FILE] [-for D]   listen in, saved as a WAV (supervisors)
//	kirokuctl whoami                           the token's name, roles and purposes
//	kirokuctl token new -name N -roles R,…     make a token and its config entry (offline)
//	kirokuctl requests create|list|disclose|…  data-subject requests (privacy officers)
//	kirokuctl contract-end CLIENT -dry-run|-s3-bucket B|-zip F   return and destroy a client's recordings (admins)
//	kirokuctl contract-ends list|show|certificate                 contract-end runs and certificates
//	kirokuctl incident report -actor A|-client C|-from T -to T    incident report (privacy officers, auditors)
//
// Every command takes -o table (the default) or -o json, and -tz ZONE
// (else KIROKU_TZ, else the machine's zone): the zone of the times it
// prints and of those given without an offset. kirokuctl -h or help
// lists the commands, help COMMAND (or COMMAND -h) shows one's flags, and
// -version prints the version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the server refused or failed, or the audit chain is broken
	exitUsage = 2
)

const usage = `usage: kirokuctl [global flags] COMMAND [flags]

commands:
  recordings search [-from T] [-to T] [-line N] [-purpose P] [-decision D]
                    [-caller N] [-agent-id A] [-min-duration D] [-max-duration D]
                    [-hold held|not-held] [-end-reason R] [-sip-call-id C]
                    [-sort [-]COLUMN] [-limit N] [-cursor C] [-all]
  recordings export [the filters and -sort of search] [-out FILE|-]   CSV
  recordings show ID
  recordings download ID -reason R [-out FILE|-]
  recordings notes ID
  recordings note ID -text T [-at SECONDS]
  hold set ID -reason R
  hold clear ID -reason R
  audit list [-actor A] [-action A] [-target ID] [-from T] [-to T] [-after SEQ] [-limit N] [-all]
  audit verify
  calls list
  calls listen ID -reason R [-out FILE|-] [-for DURATION]
  whoami
  token new -name NAME -roles ROLE[,ROLE…] [-clients CLIENT[,CLIENT…]]
` + retentionUsage + requestsUsage + clientsUsage + webhooksUsage + `
global flags (also accepted after the command):
  -server URL     API base URL (env KIROKU_SERVER; default http://127.0.0.1:8443)
  -token T        bearer token (env KIROKU_TOKEN)
  -token-file F   read the token from F
  -ca FILE        PEM CA bundle for an https server (env KIROKU_CA)
  -o FORMAT       table (default) or json
  -tz ZONE        time zone of the times you give (-from, -to) and of those
                  printed, such as Asia/Tokyo or UTC (env KIROKU_TZ; default
                  the machine's); a time without an offset is read in it
  -version        print kirokuctl's version
  -h, help [COMMAND]   this text, or a command's flags
`

// errUsage marks a mistake on the command line.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	g := &globals{getenv: getenv}
	rest, err := g.parse(args)
	if err == nil && g.version {
		fmt.Fprintln(stdout, "kirokuctl", versionString())
		return exitOK
	}
	if err == nil && len(rest) == 0 {
		err = fmt.Errorf("%w: no command (kirokuctl help lists them)", errUsage)
	}
	if err == nil {
		err = dispatch(ctx, g, rest, stdout)
	}
	var h *helpError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usage)
		return exitOK
	case errors.As(err, &h):
		writeCommandHelp(stdout, h.fs)
		return exitOK
	case errors.Is(err, errUsage):
		// The one problem, not the whole usage: help is a command away.
		fmt.Fprintf(stderr, "kirokuctl: %s\n", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		if name := commandName(rest); name != "" {
			fmt.Fprintf(stderr, "kirokuctl help %s shows its flags\n", name)
		} else {
			fmt.Fprintln(stderr, "kirokuctl help lists the commands")
		}
		return exitUsage
	default:
		fmt.Fprintf(stderr, "kirokuctl: %v\n", err)
		return exitFail
	}
}

var errHelp = errors.New("help")

// dispatch runs the command named by args.
func dispatch(ctx context.Context, g *globals, args []string, out io.Writer) error {
	cmd := args[0]
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch {
	case cmd == "help":
		return helpCmd(ctx, g, args[1:], out)
	case cmd == "-h" || cmd == "--help":
		return errHelp
	case cmd == "recordings" && sub == "search":
		return searchCmd(ctx, g, args[2:], out)
	case cmd == "recordings" && sub == "export":
		return searchExportCmd(ctx, g, args[2:], out)
	case cmd == "recordings" && sub == "show":
		return showCmd(ctx, g, args[2:], out)
	case cmd == "recordings" && sub == "download":
		return downloadCmd(ctx, g, args[2:], out)
	case cmd == "recordings" && sub == "notes":
		return notesCmd(ctx, g, args[2:], out) // notes.go
	case cmd == "recordings" && sub == "note":
		return noteCmd(ctx, g, args[2:], out) // notes.go
	case cmd == "hold" && (sub == "set" || sub == "clear"):
		return holdCmd(ctx, g, sub == "set", args[2:], out)
	case cmd == "hold" && sub == "bulk":
		return bulkHoldCmd(ctx, g, args[2:], out) // retention.go
	case cmd == "retention":
		return retentionCmd(ctx, g, sub, args[min(2, len(args)):], out) // retention.go
	case cmd == "audit" && sub == "list":
		return auditListCmd(ctx, g, args[2:], out)
	case cmd == "audit" && sub == "verify":
		return auditVerifyCmd(ctx, g, args[2:], out)
	case cmd == "calls" && sub == "list":
		return callsCmd(ctx, g, args[2:], out)
	case cmd == "calls" && sub == "listen":
		return listenCmd(ctx, g, args[2:], out) // listen.go
	case cmd == "whoami":
		return whoamiCmd(ctx, g, args[1:], out)
	case cmd == "requests":
		return requestsCmd(ctx, g, sub, args[min(2, len(args)):], out) // requests.go
	case cmd == "contract-end":
		return contractEndCmd(ctx, g, args[1:], out) // clients.go
	case cmd == "contract-ends":
		return contractEndsCmd(ctx, g, sub, args[min(2, len(args)):], out)
	case cmd == "incident":
		return incidentCmd(ctx, g, sub, args[min(2, len(args)):], out)
	case cmd == "webhooks":
		return webhooksCmd(ctx, g, sub, args[min(2, len(args)):], out) // webhooks.go
	case cmd == "token" && sub == "new":
		return tokenNewCmd(g, args[2:], out)
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, joinArgs(args))
}

// commandName is the command args name ("recordings search", "whoami"),
// or "" when they name none.
func commandName(args []string) string {
	for n := min(2, len(args)); n > 0; n-- {
		name := strings.Join(args[:n], " ")
		if strings.HasPrefix(name, "-") || name == "help" {
			continue
		}
		if usageLines(name) != "" {
			return name
		}
	}
	return ""
}

func joinArgs(args []string) string {
	if len(args) > 2 {
		args = args[:2]
	}
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
