package s3test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options say how to run the server.
type Options struct {
	// ObjectLock creates the bucket with S3 Object Lock enabled.
	ObjectLock bool
	// Versioning turns on versitygw's bucket versioning (--versioning-dir)
	// and enables it on the bucket, as Object Lock does on AWS.
	Versioning bool
	// TLS serves HTTPS with a certificate of its own for 127.0.0.1, whose
	// PEM is in Server.CAFile.
	TLS bool
}

// Server is a running versitygw with one bucket.
type Server struct {
	// Endpoint is "127.0.0.1:port".
	Endpoint string
	// Bucket is the bucket made at Start.
	Bucket string
	// Region is the server's region.
	Region string
	// AccessKey and SecretKey are the root credentials, made up per test.
	AccessKey string
	SecretKey string
	// Dir is the folder the posix backend keeps buckets in.
	Dir string
	// CAFile is the PEM of the server's certificate when Options.TLS.
	CAFile string

	t    testing.TB
	bin  string
	opts Options
	args []string
	env  []string
	logs string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of versitygw.
type process struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed once it has exited
}

const (
	bucketName   = "kiroku-test"
	region       = "us-east-1"
	readyTimeout = 30 * time.Second
)

// Start runs versitygw on a free port of 127.0.0.1 with a bucket, and
// stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		Bucket:    bucketName,
		Region:    region,
		AccessKey: "kiroku-" + strings.ToLower(rand.Text()[:12]),
		SecretKey: rand.Text(),
		Dir:       t.TempDir(),
		t:         t,
		bin:       Binary(t),
		opts:      opts,
		logs:      t.TempDir(),
	}
	s.env = append(os.Environ(),
		// On the environment rather than the command line, out of ps.
		"ROOT_ACCESS_KEY="+s.AccessKey,
		"ROOT_SECRET_KEY="+s.SecretKey,
	)
	var backend []string
	if opts.Versioning {
		backend = append(backend, "--versioning-dir", t.TempDir())
	}
	if !xattrWorks(s.Dir) {
		// The posix backend keeps metadata in extended attributes, and
		// in a folder of its own where the file system has none.
		backend = append(backend, "--sidecar", t.TempDir())
	}
	backend = append(backend, s.Dir)
	var global []string
	if opts.TLS {
		cert, key, ca := writeCert(t)
		s.CAFile = ca
		global = append(global, "--cert", cert, "--key", key)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(s.logs, "versitygw.log")); err == nil {
				t.Logf("s3test: versitygw log:\n%s", tail(string(b), 30))
			}
		}
	})

	// The port was free a moment before versitygw binds it; if another
	// process took it meanwhile, try another.
	var err error
	for range 3 {
		s.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		s.args = append(append(append([]string{"--port", s.Endpoint, "--region", region, "--quiet"}, global...), "posix"), backend...)
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	s.makeBucket()
	return s
}

// URL returns the server's base URL.
func (s *Server) URL() string {
	if s.opts.TLS {
		return "https://" + s.Endpoint
	}
	return "http://" + s.Endpoint
}

// Stop kills the server; its data stays for Restart. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	// SIGKILL: a test stopping its storage wants it gone at once, and
	// what versitygw acknowledged is already in its files.
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.done
	s.proc = nil
}

// Pause stops the server's process with SIGSTOP: its port still accepts
// connections (the kernel queues them) but nothing is answered, as with
// a hung store. Resume lets it go on; Stop and the test's end kill it
// paused or not.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume undoes Pause.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		s.t.Fatalf("s3test: %v to a stopped server", sig)
	}
	if err := s.proc.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("s3test: %v: %v", sig, err)
	}
}

// Restart stops the server if it runs and starts it again on the same
// port with the same data; it fails the test if it cannot.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("s3test: restart: %v", err)
	}
}

// Client returns a minio-go client for the server, for tests to look at
// the bucket directly.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Secure: s.opts.TLS,
		Region: region,
		// Needed to send x-amz-checksum-* headers and trailers.
		TrailingHeaders: true,
	}
	if s.opts.TLS {
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			t.Fatalf("s3test: %v", err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: s.certPool(t), MinVersion: tls.VersionTLS12}
		opts.Transport = tr
	}
	c, err := minio.New(s.Endpoint, opts)
	if err != nil {
		t.Fatalf("s3test: client: %v", err)
	}
	return c
}

func (s *Server) certPool(t testing.TB) *x509.CertPool {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// start runs versitygw and waits until it answers HTTP.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("already running")
	}
	log, err := os.OpenFile(filepath.Join(s.logs, "versitygw.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout = log
	cmd.Stderr = log
	// Its own process group, so that a signal to the test's group (^C)
	// is not the only thing that ends it, and Kill ends it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("start versitygw: %w", err)
	}
	p := &process{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		close(p.done)
	}()
	if err := s.waitReady(p); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		b, _ := os.ReadFile(log.Name())
		return fmt.Errorf("versitygw on %s: %w\n%s", s.Endpoint, err, tail(string(b), 20))
	}
	s.proc = p
	return nil
}

// waitReady polls the server until it answers an HTTP request, it exits,
// or readyTimeout passes.
func (s *Server) waitReady(p *process) error {
	client := &http.Client{Timeout: time.Second}
	if s.opts.TLS {
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.certPool(s.t), MinVersion: tls.VersionTLS12}}
	}
	defer client.CloseIdleConnections()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(s.URL() + "/")
		if err == nil {
			_ = resp.Body.Close()
			return nil // any answer, 403 included: it serves S3
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.cmd.ProcessState)
		case <-deadline.C:
			return fmt.Errorf("no answer within %v: %w", readyTimeout, err)
		case <-tick.C:
		}
	}
}

// makeBucket makes the test's bucket.
func (s *Server) makeBucket() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client(s.t)
	err := c.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: region, ObjectLocking: s.opts.ObjectLock})
	if err != nil {
		s.t.Fatalf("s3test: make bucket %s: %v", s.Bucket, err)
	}
	if s.opts.Versioning && !s.opts.ObjectLock {
		if err := c.EnableVersioning(ctx, s.Bucket); err != nil {
			s.t.Fatalf("s3test: enable versioning on %s: %v", s.Bucket, err)
		}
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// xattrWorks reports whether dir's file system takes user extended
// attributes.
func xattrWorks(dir string) bool {
	const name = "user.kiroku.s3test"
	if err := syscall.Setxattr(dir, name, []byte("1"), 0); err != nil {
		return false
	}
	_ = syscall.Removexattr(dir, name)
	return true
}
