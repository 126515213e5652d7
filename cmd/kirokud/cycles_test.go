package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// killCycles is how many times TestKill9Cycles kills kirokud.
const killCycles = 20

// TestKill9Cycles: kirokud killed 20 times in a row while an upload is
// under way, each time with a temporary file of that upload in the spool
// (the recording encoded to its purpose's g711, the store holding its
// PUT); each start removes what the kill left, and once the store lets
// uploads through the spool drains to nothing: no temporary file survives
// the cycles, and each recording is stored once.
func TestKill9Cycles(t *testing.T) {
	srv := s3test.Start(t)
	px := newPutStall(t, srv.Endpoint)
	d := prepare(t, "5s", "0120000001")
	cfgPath := filepath.Join(d.dir, "kiroku.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "retention: 90d,", "retention: 90d, audio_format: g711,", 1)
	y += fmt.Sprintf("storage:\n  backend: s3\n  s3: {endpoint: %q, bucket: %q, region: %q}\n", px.addr(), srv.Bucket, srv.Region)
	if err := os.WriteFile(cfgPath, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	d.env = []string{s3.EnvAccessKey + "=" + srv.AccessKey, s3.EnvSecretKey + "=" + srv.SecretKey}
	d.start(t)
	pcap := tonePcap(t, time.Second)
	wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": pcap}))

	spoolDir := filepath.Join(d.dir, "data", "spool")
	for i := range killCycles {
		var left []string
		waitFor(t, "the upload's encoded copy in the spool", func() bool {
			left = temps(t, spoolDir)
			return slices.ContainsFunc(left, func(name string) bool { return strings.Contains(name, ".encoded.") })
		})
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		d.done <- nil
		d = d.restart(t)
		for _, name := range left {
			if _, err := os.Stat(filepath.Join(spoolDir, name)); err == nil {
				t.Fatalf("cycle %d: %s, left by the kill, is still in the spool after the start", i+1, name)
			}
		}
		if !strings.Contains(d.log.String(), "removed temporary files an interrupted run left in the spool") {
			t.Fatalf("cycle %d: the start did not say it removed the kill's temporary files", i+1)
		}
	}

	px.release()
	// The spool's files go once the recording is indexed, its encoded
	// copy as the upload returns, just after.
	waitFor(t, "the spool drained with no temporary file left", func() bool {
		return spooled(t, d) == 0 && len(temps(t, spoolDir)) == 0
	})
	if got := len(objects(t, srv)); got != 2 {
		t.Errorf("got %d objects, want 2 (the recording and its manifest, once each)", got)
	}
	if n, _ := d.catalog(t).Count(t.Context()); n != 1 {
		t.Errorf("got %d catalog rows, want 1", n)
	}
}

// temps lists the hidden (temporary) files in folder dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// putStall is a TCP proxy on loopback in front of a store that passes
// every request until one is a PUT, and holds that connection there
// (nothing more of it is forwarded) until release: a store that answers
// its checks but never finishes an upload, for as long as a test needs.
type putStall struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	released bool
	conns    []net.Conn
	held     []net.Conn // holding a PUT
}

func newPutStall(t *testing.T, target string) *putStall {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &putStall{ln: ln, target: target}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	return p
}

func (p *putStall) addr() string { return p.ln.Addr().String() }

// release lets every later connection through whole, and closes those
// holding a PUT (their uploads fail, and are retried through).
func (p *putStall) release() {
	p.mu.Lock()
	p.released = true
	for _, c := range p.held {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *putStall) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, s)
	released := p.released
	p.mu.Unlock()
	go func() { io.Copy(c, s); c.Close() }()
	defer s.Close()
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 && !released && bytes.Contains(buf[:n], []byte("PUT /")) {
			p.mu.Lock()
			if p.released {
				p.mu.Unlock()
				c.Close()
				return
			}
			p.held = append(p.held, c)
			p.mu.Unlock()
			io.Copy(io.Discard, c) // held: until the client goes, or release
			return
		}
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
