package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/httpapi"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage"
)

// apiServer is the running supervisor API listener.
type apiServer struct {
	srv  *http.Server
	addr net.Addr
	api  *httpapi.API
}

// startAPI binds api.listen (when set) and serves the supervisor API and
// web UI on it: HTTPS when api.tls_cert and api.tls_key are set (the
// configuration refuses plain HTTP off loopback).
func (d *Daemon) startAPI() error {
	cfg := d.cfg.API
	if cfg.Listen == "" {
		return nil
	}
	ce, err := d.newContract()
	if err != nil {
		return err
	}
	api, err := httpapi.NewAPI(httpapi.Options{
		Catalog: d.catalog, Store: d.store, Keys: d.keys, Config: d.currentConfig, Calls: d.sip,
		Hold: d.Hold, Retention: d, Contract: ce,
		Ready: func(ctx context.Context) error {
			_, _, err := audit.Head(ctx, d.catalog.DB())
			return err
		},
		WebhookKick: func() {
			if d.webhook != nil {
				d.webhook.Kick()
			}
		},
		Observe: d.metrics.HTTP,
		Listens: d.metrics,
		Log:     d.log.Named("api"),
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(d.log.Named("api").WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
	}
	if cfg.TLS() {
		certs := &certFiles{cert: cfg.TLSCert, key: cfg.TLSKey}
		if _, err := certs.get(nil); err != nil {
			return fmt.Errorf("api.tls_cert: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("api.listen %s: %w", cfg.Listen, err)
	}
	d.api = &apiServer{srv: srv, addr: ln.Addr(), api: api}
	d.serving.Add(1)
	go func() {
		defer d.serving.Done()
		var err error
		if cfg.TLS() {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("api listener stopped", zap.Error(err))
		}
	}()
	d.log.Info("api listening", zap.Stringer("addr", ln.Addr()), zap.Bool("tls", cfg.TLS()))
	return nil
}

// stopAPI stops the API: requests in progress get a few seconds, then
// their connections (long audio streams) are closed.
func (d *Daemon) stopAPI() error {
	if d.api == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	defer d.api.api.Close() // after the last request: its denials' summaries written
	if err := d.api.srv.Shutdown(ctx); err != nil {
		return errors.Join(fmt.Errorf("api shutdown: %w", err), d.api.srv.Close())
	}
	return nil
}

// APIAddr is the bound address of the API listener (nil if off).
func (d *Daemon) APIAddr() net.Addr {
	if d.api == nil {
		return nil
	}
	return d.api.addr
}

// certFiles serves the API's certificate, loading it again when either
// file changes, so a renewed certificate needs no restart.
type certFiles struct {
	cert, key string
	mu        sync.Mutex
	loaded    *tls.Certificate
	stamp     [2]time.Time
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	var stamp [2]time.Time
	for i, p := range []string{c.cert, c.key} {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		stamp[i] = fi.ModTime()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded != nil && stamp == c.stamp {
		return c.loaded, nil
	}
	crt, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		if c.loaded != nil {
			return c.loaded, nil // a half-written renewal: keep serving the old one
		}
		return nil, err
	}
	c.loaded, c.stamp = &crt, stamp
	return c.loaded, nil
}

// newContract builds the contract-end service: returns by ZIP, and into
// another bucket of the same S3 service when the store is S3; a run is
// blocked while calls of the client wait in the spool.
func (d *Daemon) newContract() (*contract.Service, error) {
	o := contract.Options{Catalog: d.catalog, Store: d.store, Keys: d.keys, Log: d.log.Named("contract"),
		Spooled: func(client string) (int, error) {
			return d.spool.Count(func(m *spool.Manifest) bool { return m.Client == client })
		},
		KeyFiles: func(client string) map[string]string {
			files := map[string]string{}
			if cl, ok := d.currentConfig().Client(client); ok {
				for _, k := range cl.Encryption.Keys {
					files[k.ID] = k.File
				}
			}
			return files
		}}
	if d.cfg.Storage.Backend == "s3" {
		o.Bucket = d.cfg.Storage.S3.Bucket
		o.Target = func(ctx context.Context, bucket string) (storage.Store, error) {
			return openS3Bucket(ctx, d.cfg, bucket)
		}
	}
	return contract.New(o)
}
