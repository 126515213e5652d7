// Command kirokud answers toll-free lines with a recording notice, takes
// the caller's opt-out and bridges the call to the agent platform.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
	_ "time/tzdata" // time zones for the purge schedule on hosts without zoneinfo

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/daemon"
	"github.com/kiroku-voice/kiroku/internal/sdnotify"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kirokud", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration `file` (default: embedded defaults)")
	check := fs.String("check-config", "", "validate configuration `file` and the environment variables it names, print every problem and exit")
	printDefault := fs.Bool("print-default-config", false, "print the embedded default configuration and exit (its prompts are not printed: see -write-default-config)")
	writeDefault := fs.String("write-default-config", "", "write the embedded default configuration to `dir`/kirokud.yaml with the prompts it names under dir/prompts, a starting point that passes -check-config, and exit; nothing is overwritten")
	showVersion := fs.Bool("version", false, "print the version and exit")
	rebuild := fs.String("rebuild-catalog", "", "write a new catalog `file` from the store's manifests (disaster recovery) and exit; \"postgres\": into the configured, empty PostgreSQL catalog")
	acceptCatalog := fs.Bool("accept-catalog", false, "start even though the catalog is behind the store (lost, emptied or rolled back): a new catalog; the orphan sweep deletes nothing in this run")
	verifyAudit := fs.Bool("verify-audit", false, "check the audit log's hash chain and every signed checkpoint in the store against it, print what was checked and exit (1 when it does not hold)")
	keysFrom := fs.String("keys-from", "", "with -rebuild-catalog: a catalog backup `file` to take wrapped data keys and the audit history from")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case *showVersion:
		fmt.Fprintln(stdout, "kirokud", version)
		return 0
	case *printDefault:
		stdout.Write(config.DefaultYAML())
		return 0
	case *writeDefault != "":
		files, err := config.WriteDefault(*writeDefault)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, f := range files {
			fmt.Fprintln(stdout, "wrote", f)
		}
		return 0
	case *check != "":
		cfg, err := config.Load(*check)
		if err == nil {
			err = cfg.CheckEnv()
		}
		if err == nil {
			// What the start checks beyond the file and the environment.
			err = daemon.Check(context.Background(), cfg)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", *check)
		return 0
	}

	var (
		cfg *config.Config
		err error
	)
	if *cfgPath == "" {
		cfg, err = config.Default()
	} else {
		cfg, err = config.Load(*cfgPath)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log, err := daemon.NewLogger(cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer log.Sync()
	if *verifyAudit {
		rep, err := daemon.VerifyAudit(context.Background(), cfg, log)
		if rep.Entries > 0 || rep.Checkpoints > 0 {
			fmt.Fprintln(stdout, rep)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	if *rebuild != "" {
		res, err := daemon.RebuildCatalog(context.Background(), cfg, *rebuild, *keysFrom, log)
		fmt.Fprintf(stdout, "manifests %d, restored %d, with keys %d, skipped %d, audit entries carried %d\n", res.Manifests, res.Restored, res.WithKeys, len(res.Skipped), res.AuditCarried)
		for _, s := range res.Skipped {
			fmt.Fprintln(stdout, "skipped:", s)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1) // buffered(1): repeated SIGHUPs coalesce
	signal.Notify(hup, syscall.SIGHUP)

	if cfg.Control.Pprof {
		// Profiling on: sample one allocation per 4 KiB rather than per
		// 512 KiB, so that a heap profile says where each call's KiB go.
		runtime.MemProfileRate = profileRate
	}
	var opts []daemon.Option
	if *acceptCatalog {
		opts = append(opts, daemon.AcceptCatalog())
	}
	d, err := daemon.New(ctx, cfg, *cfgPath, log, opts...)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped during start", zap.Error(err))
			return 0
		}
		log.Error("start", zap.Error(err))
		return 1
	}
	if err := d.Start(ctx); err != nil {
		log.Error("start", zap.Error(err))
		return 1
	}
	showFirstRun(stderr, d)
	notify(log, sdnotify.Ready())
	for {
		select {
		case <-hup:
			notify(log, sdnotify.Reloading())
			if err := d.Reload(ctx); err != nil {
				log.Error("configuration not reloaded; the old one stays in force", zap.Error(err))
			}
			// Ready even after a failed reload: the old configuration runs.
			notify(log, sdnotify.Ready())
			continue
		case <-ctx.Done():
		}
		break
	}
	stop()
	notify(log, sdnotify.Stopping())
	notify(log, sdnotify.Status(fmt.Sprintf("draining %d calls", d.SIP().ActiveCalls())))
	dctx, cancel := context.WithTimeout(context.Background(), time.Duration(d.SIP().Config().SIP.DrainTimeout))
	defer cancel()
	if err := d.Stop(dctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("stopped", zap.Error(err))
	}
	log.Info("kirokud stopped")
	return 0
}

// notify logs an sd_notify failure; systemd readiness is not worth
// stopping for.
func notify(log *zap.Logger, err error) {
	if err != nil {
		log.Warn("sd_notify", zap.Error(err))
	}
}

// profileRate is runtime.MemProfileRate with control.pprof on.
const profileRate = 4096

// showFirstRun tells where to sign in with the first-run token, and the
// token itself in the run that made it: the only time kirokud shows it.
func showFirstRun(w io.Writer, d *daemon.Daemon) {
	path, tok := d.FirstRunToken()
	addr := d.APIAddr()
	if path == "" || addr == nil {
		return
	}
	if tok != "" {
		fmt.Fprintf(w, "\nkirokud: first start: made an admin token, kept in %s (mode 0600) and shown only now:\n\n    %s\n\n", path, tok)
	}
	scheme := "http"
	if d.SIP().Config().API.TLS() {
		scheme = "https"
	}
	fmt.Fprintf(w, "kirokud: web UI at %s://%s/ — sign in with the token in %s\n", scheme, addr, path)
}
