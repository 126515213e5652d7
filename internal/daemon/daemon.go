package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/sip"
	"github.com/kiroku-voice/kiroku/spool"
)

// Daemon is a running kirokud.
type Daemon struct {
	log   *zap.Logger
	path  string // config file; "" for embedded defaults
	sip   *sip.Server
	spool *spool.Dir

	mu       sync.Mutex
	stopOnce sync.Once
	stopErr  error
}

// New builds every part from cfg without starting any. path is the file
// cfg came from ("" for the embedded defaults); Reload reads it again.
func New(cfg *config.Config, path string, log *zap.Logger) (*Daemon, error) {
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"))
	if err != nil {
		return nil, err
	}
	srv, err := sip.New(cfg, sp, log.Named("sip"))
	if err != nil {
		return nil, err
	}
	return &Daemon{log: log, path: path, sip: srv, spool: sp}, nil
}

// SIP is the daemon's SIP server (for tests and status).
func (d *Daemon) SIP() *sip.Server { return d.sip }

// Start binds the listeners; it returns once kirokud takes calls.
func (d *Daemon) Start(ctx context.Context) error {
	if err := d.sip.Start(ctx); err != nil {
		return errors.Join(err, d.sip.Close())
	}
	cfg := d.sip.Config()
	d.log.Info("kirokud ready", zap.String("config", cfg.Source), zap.Int("lines", len(cfg.Lines)),
		zap.String("data_dir", cfg.DataDir))
	return nil
}

// Reload loads the configuration again and swaps lines, purposes and
// trunks. On any error the running configuration stays and the error is
// returned for the caller to log.
func (d *Daemon) Reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var (
		cfg *config.Config
		err error
	)
	if d.path == "" {
		cfg, err = config.Default()
	} else {
		cfg, err = config.Load(d.path)
	}
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	d.sip.Reload(cfg)
	d.log.Info("configuration reloaded", zap.String("config", cfg.Source), zap.Int("lines", len(cfg.Lines)))
	return nil
}

// Stop drains: no new calls, calls in progress may finish until ctx ends,
// then the rest are hung up. It is idempotent.
func (d *Daemon) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		d.log.Info("draining", zap.Int("calls", d.sip.ActiveCalls()))
		err := d.sip.Drain(ctx)
		d.stopErr = errors.Join(err, d.sip.Close())
	})
	return d.stopErr
}

// NewLogger builds the process logger: JSON for services, console when
// format is "console", or "auto" and stderr is a terminal.
func NewLogger(format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	if format == "auto" || format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "console"
		}
	}
	var zc zap.Config
	if format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.Development = false
		zc.DisableStacktrace = true
	} else {
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "time"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		zc.Sampling = nil
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	return zc.Build()
}
