package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/httpapi"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/metrics"
	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/sip"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/crypt"
	"github.com/kiroku-voice/kiroku/storage/fs"
	"github.com/kiroku-voice/kiroku/storage/transcode"
	"github.com/kiroku-voice/kiroku/storage/upload"
	"github.com/kiroku-voice/kiroku/webhook"
)

// Daemon is a running kirokud.
type Daemon struct {
	log   *zap.Logger
	path  string // config file; "" for embedded defaults
	sip   *sip.Server
	spool *spool.Dir
	cfg   *config.Config                // as started; listeners do not change on reload
	live  atomic.Pointer[config.Config] // in force: cfg, then each reload's

	control     *http.Server
	controlAddr net.Addr
	api         *apiServer

	metrics       *metrics.Metrics
	catalog       *catalog.Catalog
	store         storage.Store
	keys          *crypt.Keyring
	shredSeq      int64 // the audit seq shredCopies last looked at, at start
	uploader      *upload.Uploader
	transcoder    *transcode.Transcoder
	purger        *retention.Purger
	webhook       *webhook.Sender                   // nil without webhook.url
	storeDown     bool                              // the store did not answer at start: watchStore runs
	wrapStore     func(storage.Store) storage.Store // a test's faults between the daemon and its store
	acceptCatalog bool                              // AcceptCatalog
	continuous    atomic.Bool                       // the catalog was checked against the store: orphans may be deleted
	retag         *retagger
	bg            sync.WaitGroup // background work: purge, uploads, audit, re-tagging, webhook
	serving       sync.WaitGroup // control and API listeners' Serve loops
	auditOK       atomic.Bool
	catalogOK     atomic.Bool // the catalog's last integrity check (catalog.QuickCheck) found no damage
	stopBG        context.CancelFunc
	lock          *dirLock  // data_dir, held from New until Stop has closed the storage
	teardown      []string  // calls a previous run left up: their dialogs are ended from Start on (teardown.go)
	firstRun      *firstRun // api.first_run_token's token (firstrun.go); nil without it

	// mu orders Reload and Stop: a reload never runs beside or after a
	// stop.
	mu      sync.Mutex
	stopped bool
	stopErr error
}

// ErrStopped is returned by Reload once Stop has begun.
var ErrStopped = errors.New("daemon stopped")

// Option changes how New builds the daemon.
type Option func(*Daemon)

// AcceptCatalog lets the daemon start on a catalog that is behind its
// store (lost, emptied or rolled back: see ErrCatalogBehind), as an
// operator who means to start a new one says; the orphan sweep deletes
// nothing in that run.
func AcceptCatalog() Option { return func(d *Daemon) { d.acceptCatalog = true } }

// New builds every part from cfg without starting any. path is the file
// cfg came from ("" for the embedded defaults); Reload reads it again.
// It never waits for the store longer than storeCheckTimeout (an
// unreachable store is watched from Start on), and it gives up when ctx
// ends.
func New(ctx context.Context, cfg *config.Config, path string, log *zap.Logger, opts ...Option) (*Daemon, error) {
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	var fr *firstRun
	if cfg.API.Listen != "" && cfg.API.FirstRunToken {
		if fr, err = openFirstRun(cfg.DataDir); err != nil {
			lock.release() //nolint:errcheck // the start failed already
			return nil, err
		}
		cfg = fr.with(cfg)
	}
	d, err := build(ctx, cfg, path, log, opts...)
	if err != nil {
		lock.release() //nolint:errcheck // the start failed already
		return nil, err
	}
	d.lock, d.firstRun = lock, fr
	if fr != nil && fr.created {
		log.Warn("created the first-run admin token; it is shown once on stderr and kept in its file", zap.String("path", fr.path))
	}
	return d, nil
}

func build(ctx context.Context, cfg *config.Config, path string, log *zap.Logger, opts ...Option) (*Daemon, error) {
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"))
	if err != nil {
		return nil, err
	}
	// The keyring before the recovery: the spool's audio is sealed, and
	// a recording cut short is repaired through its data key.
	keys, err := keyring(cfg, log)
	if err != nil {
		return nil, err
	}
	sp.SetKeys(keys)
	recovered, err := sp.Recover()
	if err != nil {
		return nil, err
	}
	switch n, size, err := sp.RemoveTemps(); {
	case err != nil:
		log.Error("spool temporaries not all removed", zap.Int("removed", n), zap.Error(err))
	case n > 0:
		log.Warn("removed temporary files an interrupted run left in the spool", zap.Int("files", n), zap.Int64("bytes", size))
	}
	if err := sp.KeepBallast(cfg.SpoolBallast()); err != nil {
		log.Warn("spool ballast not made; made once the disk has room", zap.Error(err))
	}
	var teardown []string
	for _, r := range recovered {
		switch {
		case r.Discarded && r.Err != nil:
			log.Error("audio no durable manifest names not removed from the spool", zap.String("call_id", r.ID), zap.Error(r.Err))
		case r.Discarded:
			log.Error("interrupted call's audio removed: it was made before the manifest naming it was durable, so nothing records its line, purpose or notice",
				zap.String("call_id", r.ID), zap.Int64("bytes", r.Bytes))
		case r.Teardown:
			teardown = append(teardown, r.ID)
		case r.Err != nil:
			log.Error("interrupted call not recovered; its files stay in the spool", zap.String("call_id", r.ID), zap.Error(r.Err))
		case r.Repaired:
			log.Warn("recording of an interrupted call repaired and spooled (cut short)", zap.String("call_id", r.ID))
		default:
			log.Warn("interrupted call closed without recording", zap.String("call_id", r.ID))
		}
	}
	d := &Daemon{log: log, path: path, spool: sp, cfg: cfg, metrics: metrics.New(), teardown: teardown, keys: keys}
	d.live.Store(cfg)
	for _, o := range opts {
		o(d)
	}
	if err := d.openStorage(ctx, cfg); err != nil {
		return nil, errors.Join(err, d.closeStorage())
	}
	srv, err := sip.New(cfg, sp, log.Named("sip"))
	if err != nil {
		return nil, errors.Join(err, d.closeStorage())
	}
	srv.SetNonceKey(d.keys.NonceKey())
	srv.OnCallEnd(d.uploader.Kick)
	srv.SetObserver(sip.NewMetrics(d.metrics.Registerer()))
	d.sip = srv
	d.registerGauges()
	d.registerWebhookGauges()
	return d, nil
}

// openStorage opens the catalog, the store and the uploader (build has
// made the keyring).
func (d *Daemon) openStorage(ctx context.Context, cfg *config.Config) error {
	var err error
	if d.catalog, err = openCatalog(ctx, cfg); err != nil {
		return err
	}
	d.catalogOK.Store(true)
	if err := d.checkCatalogIntegrity(ctx); err != nil {
		return err
	}
	// Before any key is used: a client key a contract end destroyed on
	// another node is destroyed here too.
	if d.shredSeq, err = d.shredCopies(ctx, 0); err != nil {
		return err
	}
	if d.store, err = buildStore(cfg); err != nil {
		return err
	}
	if d.wrapStore != nil {
		d.store = d.wrapStore(d.store)
	}
	// Every user of the store (uploads, playback, purge, transcoding,
	// rights) fails an operation the store moves no bytes on for the
	// stall timeout, rather than waiting on a hung store without end.
	d.store = storage.Stalling(d.store, time.Duration(cfg.Storage.StallTimeout))
	reached, err := d.checkStoreAtStart(ctx)
	if err != nil {
		return err
	}
	d.storeDown = !reached
	var cerr error
	if reached {
		cerr = d.checkContinuityWithin(ctx)
	}
	switch {
	case !reached:
		d.log.Warn("catalog continuity not checked: the store is unreachable; the orphan sweep deletes nothing until it is")
	case ctx.Err() != nil:
		return fmt.Errorf("catalog continuity: %w", ctx.Err())
	case unanswered(cerr):
		// Checked from Start on, as for a store unreachable at start: a
		// store that answered the check and then hung must not keep the
		// toll-free lines down.
		d.log.Error("catalog continuity not checked: the store did not answer in time; taking calls, the orphan sweep deletes nothing until it is checked",
			zap.Duration("within", continuityTimeout), zap.Error(cerr))
		d.storeDown = true
	case d.acceptCatalog:
		if cerr != nil {
			d.log.Warn("started with -accept-catalog over a catalog behind its store; the orphan sweep deletes nothing in this run", zap.Error(cerr))
		} else {
			d.continuous.Store(true)
		}
	case cerr != nil:
		return cerr
	default:
		d.continuous.Store(true)
	}
	var notify func(upload.Event)
	var outbox upload.Outbox
	if cfg.Webhook.URL != "" {
		if d.webhook, err = newWebhook(cfg, d.catalog, d.log.Named("webhook")); err != nil {
			return err
		}
		outbox = d.webhook
		notify = func(upload.Event) { d.webhook.Kick() }
	}
	d.uploader = upload.New(upload.Options{
		Spool: d.spool, Store: d.store, Catalog: d.catalog, Keys: d.keys,
		RetainUntil: d.retainUntil,
		AudioFormat: d.audioFormat,
		Defer:       d.deferFormat,
		ObjectLock:  cfg.Storage.S3.ObjectLock != "",
		Log:         d.log.Named("upload"),
		Outbox:      outbox,
		Notify:      notify,
		OnStored:    d.stored,
		OnFailed:    d.metrics.UploadFailed,
		// Read at start: a reload does not change it.
		AttemptTimeout: time.Duration(cfg.Storage.AttemptTimeout),
		StallTimeout:   time.Duration(cfg.Storage.StallTimeout),
	})
	if d.transcoder, err = d.newTranscoder(cfg); err != nil {
		return err
	}
	d.purger = d.newPurger()
	d.retag = newRetagger(cfg)
	// A purpose or client removed while recordings carry it is refused at
	// start too.
	return errors.Join(retention.CheckPurposes(ctx, d.catalog, cfg.Purposes),
		retention.CheckClients(ctx, d.catalog, cfg.Clients))
}

func (d *Daemon) closeStorage() error {
	var errs []error
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	if d.catalog != nil {
		errs = append(errs, d.catalog.Close())
	}
	return errors.Join(errs...)
}

// Catalog is the recordings index (for tests and tools).
func (d *Daemon) Catalog() *catalog.Catalog { return d.catalog }

// Store is the blob store.
func (d *Daemon) Store() storage.Store { return d.store }

// Keys is the master keyring.
func (d *Daemon) Keys() *crypt.Keyring { return d.keys }

// ControlAddr is the bound address of the control listener (nil if off).
func (d *Daemon) ControlAddr() net.Addr { return d.controlAddr }

// SIP is the daemon's SIP server (for tests and status).
func (d *Daemon) SIP() *sip.Server { return d.sip }

// Start binds the listeners; it returns once kirokud takes calls.
func (d *Daemon) Start(ctx context.Context) error {
	if err := d.sip.Start(ctx); err != nil {
		return errors.Join(err, d.sip.Close())
	}
	if addr := d.cfg.Control.Listen; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return errors.Join(fmt.Errorf("control.listen %s: %w", addr, err), d.sip.Close())
		}
		d.controlAddr = ln.Addr()
		mux := http.NewServeMux()
		mux.Handle("/metrics", d.metrics.Handler())
		mux.Handle("/", httpapi.NewControl(d.sip, d.log.Named("control"), d.cfg.Control.Pprof))
		d.control = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		d.serving.Add(1)
		go func() {
			defer d.serving.Done()
			if err := d.control.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("control listener stopped", zap.Error(err))
			}
		}()
		d.log.Info("control listening", zap.Stringer("addr", ln.Addr()))
	}
	if err := d.startAPI(); err != nil {
		return errors.Join(err, d.closeListeners())
	}
	bgctx, cancel := context.WithCancel(context.Background())
	d.stopBG = cancel
	if len(d.teardown) > 0 {
		d.goBG(bgctx, d.tearDown)
	}
	d.goBG(bgctx, func(ctx context.Context) { d.schedulePurge(ctx) })
	d.goBG(bgctx, func(ctx context.Context) { d.uploader.Run(ctx) })
	d.goBG(bgctx, func(ctx context.Context) { d.transcoder.Run(ctx) })
	d.goBG(bgctx, d.retryStranded)
	if st, ok := storage.Unwrap(d.store).(*fs.Store); ok {
		d.goBG(bgctx, func(ctx context.Context) { d.sweepStoreTemps(ctx, st) })
	}
	d.goBG(bgctx, func(ctx context.Context) { d.verifyAudit(ctx) })
	d.goBG(bgctx, func(ctx context.Context) { d.checkpoints(ctx) })
	d.goBG(bgctx, func(ctx context.Context) { d.followKeyShreds(ctx, d.shredSeq) })
	d.goBG(bgctx, func(ctx context.Context) { d.retag.run(ctx, d) })
	if d.webhook != nil {
		d.goBG(bgctx, func(ctx context.Context) { d.webhook.Run(ctx) })
	}
	if d.storeDown {
		d.goBG(bgctx, d.watchStore)
	}
	cfg := d.currentConfig()
	d.log.Info("kirokud ready", zap.String("config", cfg.Source), zap.Int("lines", len(cfg.Lines)),
		zap.String("data_dir", cfg.DataDir), zap.String("catalog", d.catalog.Driver()),
		zap.Duration("started_in", time.Since(processStart)), zap.Bool("store_down", d.storeDown))
	return nil
}

// processStart is about when the process began (package initialisation
// runs before main): "kirokud ready" says how long the start took, which
// a store down or hung must not lengthen past a few seconds.
var processStart = time.Now()

// goBG runs f on a goroutine that Stop cancels and waits for.
func (d *Daemon) goBG(ctx context.Context, f func(context.Context)) {
	d.bg.Add(1)
	go func() { defer d.bg.Done(); f(ctx) }()
}

// Reload loads the configuration again and swaps lines, purposes and
// trunks. On any error the running configuration stays and the error is
// returned for the caller to log. Retention changes to stored recordings
// are applied in the background (see retagger), so a SIGTERM right after
// a SIGHUP is not held up by re-tagging a bucket. Reload and Stop take
// turns; after Stop, Reload returns ErrStopped.
func (d *Daemon) Reload(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return fmt.Errorf("reload: %w", ErrStopped)
	}
	var (
		cfg *config.Config
		err error
	)
	if d.path == "" {
		cfg, err = config.Default()
	} else {
		cfg, err = config.Load(d.path)
	}
	if err == nil {
		err = errors.Join(retention.CheckPurposes(ctx, d.catalog, cfg.Purposes),
			retention.CheckClients(ctx, d.catalog, cfg.Clients))
	}
	var applyKeys func()
	if err == nil {
		applyKeys, err = reloadClientKeys(d.keys, cfg, d.log)
	}
	if err != nil {
		d.metrics.Reloaded(false)
		return fmt.Errorf("reload: %w", err)
	}
	// The keys before the lines: a call of a new client's line is never
	// wrapped with the global key for want of its own.
	applyKeys()
	if cfg.API.FirstRunToken {
		cfg = d.firstRun.with(cfg) // nil (no token) when the start had none
	}
	old := d.currentConfig()
	d.metrics.Reloaded(true)
	d.sip.Reload(cfg)
	d.live.Store(cfg)
	d.retag.want(cfg)
	if old.Retention.Schedule != cfg.Retention.Schedule || old.Retention.TimeZone != cfg.Retention.TimeZone {
		d.log.Warn("retention.schedule and retention.time_zone take effect at the next restart")
	}
	d.log.Info("configuration reloaded", zap.String("config", cfg.Source), zap.Int("lines", len(cfg.Lines)))
	return nil
}

// Stop drains: no new calls, calls in progress may finish until ctx ends,
// then the rest are hung up; then the background work is cancelled and
// waited for, and the storage closed. It is idempotent: later calls
// return the first one's result.
func (d *Daemon) Stop(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return d.stopErr
	}
	d.stopped = true
	d.log.Info("draining", zap.Int("calls", d.sip.ActiveCalls()))
	err := errors.Join(d.sip.Drain(ctx), d.closeListeners())
	if d.stopBG != nil {
		d.stopBG()
		d.bg.Wait()
	}
	d.writeStranded()
	d.stopErr = errors.Join(err, d.closeStorage(), d.lock.release())
	return d.stopErr
}

// closeListeners shuts the control and API listeners and the SIP server
// and waits for their serving goroutines.
func (d *Daemon) closeListeners() error {
	var err error
	if d.control != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = d.control.Shutdown(sctx)
		cancel()
	}
	err = errors.Join(err, d.stopAPI(), d.sip.Close())
	d.serving.Wait()
	return err
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

// registerGauges exposes figures read at scrape time.
func (d *Daemon) registerGauges() {
	m := d.metrics
	m.Gauge("kiroku_calls_in_progress", "Calls admitted and not yet ended.", func() float64 { return float64(d.sip.ActiveCalls()) })
	m.Gauge("kiroku_spool_pending", "Finished calls waiting in the spool to be stored.", func() float64 {
		return float64(d.uploader.Stats().Pending)
	})
	m.Gauge("kiroku_spool_stranded", "Ended calls whose final manifest the spool disk refused (full): kept in memory and written, then stored, once it has room (counted in kiroku_spool_pending too).", func() float64 {
		return float64(d.spool.Stranded())
	})
	commits := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiroku_spool_commit_seconds",
		Help:    "Time the spool took to make a batch of its small files (manifests, kept dialogs, data keys) durable, from the batch's first write to its folder's fsync: how long a call's state waits for the disk.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}})
	m.Registerer().MustRegister(commits)
	slow := d.log.Named("spool")
	d.spool.OnCommit(func(files int, took time.Duration) {
		commits.Observe(took.Seconds())
		if took > time.Second {
			slow.Warn("spool batch slow: calls' manifests, data keys and dialogs waited for the disk", zap.Int("files", files), zap.Duration("took", took))
		}
	})
	m.Gauge("kiroku_spool_ballast_bytes", "Room the spool holds back for final manifests (spool.ballast_kb); 0 while it is given up to a full disk.", func() float64 {
		return float64(d.spool.Ballast())
	})
	m.Gauge("kiroku_spool_oldest_wait_seconds", "How long the call that ended first of those waiting in the spool has waited to be stored, from its end (0 when none waits): grows from the first minute of a store outage whatever the calls' lengths.", func() float64 {
		st := d.uploader.Stats()
		if st.Waiting.IsZero() {
			return 0
		}
		return max(time.Since(st.Waiting).Seconds(), 0)
	})
	m.Gauge("kiroku_spool_oldest_age_seconds", "Age of the oldest call waiting in the spool (0 when empty).", func() float64 {
		st := d.uploader.Stats()
		if st.Pending == 0 || st.Oldest.IsZero() {
			return 0
		}
		return time.Since(st.Oldest).Seconds()
	})
	d.registerTranscodeMetrics()
	m.Gauge("kiroku_catalog_integrity_ok", "1 when the last integrity check of the catalog database (SQLite quick_check, at start and hourly) found no damage, 0 when damaged.", func() float64 {
		if d.catalogOK.Load() {
			return 1
		}
		return 0
	})
	d.auditOK.Store(true)
	m.Gauge("kiroku_audit_verify_ok", "1 when the last walk of the audit chain found it intact, 0 when broken.", func() float64 {
		if d.auditOK.Load() {
			return 1
		}
		return 0
	})
	m.Counter("kiroku_audit_entries_total", "Entries in the audit log.", func() float64 {
		seq, _, err := audit.Head(context.Background(), d.catalog.DB())
		if err != nil {
			return 0
		}
		return float64(seq)
	})
}
