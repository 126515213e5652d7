package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// User is the cluster's superuser, whom every DSN logs in as.
	User         = "kiroku"
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

var (
	mu       sync.Mutex
	inMain   bool    // Main is running the tests
	shared   *server // started by the first DSN
	startErr error   // why shared could not start; every DSN fails with it
	skipWhy  string  // why every DSN skips
	dbs      atomic.Int64
)

// Main runs the tests and then stops the server if one was started. Call
// it from TestMain and exit with what it returns.
func Main(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		shared = nil
	}
	return code
}

// DSN returns the connection string (key=value form, with a password) of
// a new, empty database on the test binary's server, starting the server
// first if needed. It fails the test when the server cannot start, and
// skips it only when there are no binaries and no root to install them.
func DSN(t testing.TB) string {
	t.Helper()
	s := server0(t)
	name := fmt.Sprintf("test_%d", dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	_, err := s.admin.Exec(ctx, "CREATE DATABASE "+name)
	s.mu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.dsn(name)
}

// server0 returns the shared server, starting it at the first call.
func server0(t testing.TB) *server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !inMain {
		t.Fatal("pgtest: the package's TestMain must run the tests through pgtest.Main, which stops the server")
	}
	if shared == nil && startErr == nil && skipWhy == "" {
		shared, startErr = start()
		if errors.Is(startErr, errNoBinaries) && os.Geteuid() != 0 {
			skipWhy = fmt.Sprintf("pgtest: %v, and not root to install Debian's postgresql package (make test-deps does as root; or set %s)", startErr, BinEnv)
			startErr = nil
		}
	}
	switch {
	case skipWhy != "":
		t.Skip(skipWhy)
	case startErr != nil:
		t.Fatalf("pgtest: %v", startErr)
	}
	return shared
}

// server is one running PostgreSQL cluster.
type server struct {
	dir      string // cluster, socket, log and password file
	port     int
	password string
	cmd      *exec.Cmd
	done     chan struct{} // closed when postgres has exited
	log      string

	mu    sync.Mutex
	admin *pgx.Conn // to the postgres database, for CREATE DATABASE
}

// dsn is the connection string of database name.
func (s *server) dsn(name string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable", s.port, User, s.password, name)
}

// start makes a cluster in a new temporary folder and runs it.
func start() (*server, error) {
	bin, err := findBin()
	if errors.Is(err, errNoBinaries) && os.Geteuid() == 0 {
		if err = install(); err == nil {
			bin, err = findBin()
		}
	}
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kiroku-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, password: rand.Text(), log: filepath.Join(dir, "postgres.log")}
	if err := s.initdb(bin, cred); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	// The port was free a moment before postgres binds it; if another
	// process took it meanwhile, try another.
	for range 3 {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.run(bin, cred); err == nil {
			return s, nil
		}
	}
	return nil, errors.Join(err, os.RemoveAll(dir))
}

// credential returns whom to run PostgreSQL as: nil (ourselves) unless we
// are root, which initdb and postgres refuse.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
		}
	}
	return nil, errors.New("running as root and there is no postgres or nobody user to run PostgreSQL as")
}

// initdb makes the cluster in s.dir/data, owned by whom it runs as, with
// a superuser User whose password is s.password.
func (s *server) initdb(bin string, cred *syscall.Credential) error {
	pw := filepath.Join(s.dir, "password")
	if err := os.WriteFile(pw, []byte(s.password+"\n"), 0o600); err != nil {
		return err
	}
	if cred != nil {
		for _, p := range []string{s.dir, pw} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("chown %s: %w", p, err)
			}
		}
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(s.dir, "data"), "-U", User,
		"--pwfile", pw, "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb in %s: %w\n%s", s.dir, err, tail(string(out), 20))
	}
	return os.Remove(pw)
}

// run starts postgres on s.port and waits until it takes connections.
func (s *server) run(bin string, cred *syscall.Credential) error {
	log, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		// A test cluster is thrown away: durability buys nothing.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = log, log
	// Pdeathsig kills postgres if the test binary dies without stopping
	// it (a panic, a timeout). It fires when the thread that started the
	// process ends, so that thread is kept for as long as postgres runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	s.done = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd
	if err := s.waitReady(); err != nil {
		_ = cmd.Process.Kill()
		<-s.done
		b, _ := os.ReadFile(s.log)
		return fmt.Errorf("postgres on 127.0.0.1:%d: %w\n%s", s.port, err, tail(string(b), 20))
	}
	return nil
}

// waitReady connects as the administrator until the server answers, it
// exits, or readyTimeout passes.
func (s *server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		cancel()
		if err == nil {
			s.admin = conn
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited: %v", s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no connection within %v: %w", readyTimeout, err)
		}
	}
}

// stop shuts postgres down (fast: open sessions are ended) and removes
// its folder.
func (s *server) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.mu.Lock()
	_ = s.admin.Close(ctx)
	s.mu.Unlock()
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return os.RemoveAll(s.dir)
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
