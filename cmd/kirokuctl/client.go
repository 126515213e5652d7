package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
)

// globals are the flags every command takes.
type globals struct {
	getenv    func(string) string
	server    string
	token     string
	tokenFile string
	ca        string
	output    string
	tz        string         // -tz, else KIROKU_TZ
	loc       *time.Location // tz resolved (zone.go)
	version   bool
}

// flags registers the global flags on fs (so they work before and after
// the command words).
func (g *globals) flags(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", g.server, "API base URL")
	fs.StringVar(&g.token, "token", g.token, "bearer token")
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "file holding the bearer token")
	fs.StringVar(&g.ca, "ca", g.ca, "PEM CA bundle for an https server")
	fs.StringVar(&g.output, "o", g.output, "output: table or json")
	fs.StringVar(&g.tz, "tz", g.tz, "time zone of the times you give and those printed (env KIROKU_TZ; default the machine's)")
}

// parse reads the global flags before the command.
func (g *globals) parse(args []string) ([]string, error) {
	g.server, g.token, g.ca, g.output = g.getenv("KIROKU_SERVER"), g.getenv("KIROKU_TOKEN"), g.getenv("KIROKU_CA"), "table"
	g.tz = g.getenv("KIROKU_TZ")
	if g.server == "" {
		g.server = "http://127.0.0.1:8443"
	}
	fs := newFlagSet("kirokuctl")
	g.flags(fs)
	fs.BoolVar(&g.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return fs.Args(), nil
}

// newFlagSet returns a flag set whose errors come back as usage errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses a command's flags (and the global ones) and returns
// its positional arguments, checking there are want of them.
func parseFlags(fs *flag.FlagSet, g *globals, args []string, want int, what string) ([]string, error) {
	g.flags(fs)
	// Flags may come before or after the positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpError{fs: fs}
			}
			return nil, fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if want >= 0 && len(pos) != want { // want < 0: any number
		return nil, fmt.Errorf("%w: %s takes %s", errUsage, fs.Name(), what)
	}
	if g.output != "table" && g.output != "json" {
		return nil, fmt.Errorf("%w: -o %q is not table or json", errUsage, g.output)
	}
	loc, err := loadZone(g.tz)
	if err != nil {
		return nil, err
	}
	g.loc = loc
	return pos, nil
}

// client is the API's own client: kirokuctl decodes what the API sends
// with the types the API encodes it with.
type client = apiclient.Client

// newClient checks the server URL and the token and builds a client. It
// refuses to send a token over plain HTTP to anything but loopback.
func (g *globals) newClient() (*client, error) {
	u, err := url.Parse(strings.TrimSuffix(g.server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%w: -server %q is not a URL such as https://kiroku.example:8443", errUsage, g.server)
	}
	u.Path = ""
	tok := g.token
	if g.tokenFile != "" {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return nil, fmt.Errorf("%w: no token: set KIROKU_TOKEN, -token-file or -token", errUsage)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: refusing to send a token over plain HTTP to %s; use https://", errUsage, u.Host)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if g.ca != "" {
		pem, err := os.ReadFile(g.ca)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca: %s holds no PEM certificate", g.ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return apiclient.New(u, tok, &http.Client{Transport: tr, Timeout: 0}), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// setup parses a command's flags (want positional arguments, usage saying
// what they are) and returns the API client.
func (g *globals) setup(fs *flag.FlagSet, args []string, want int, usage string) (*client, error) {
	if _, err := parseFlags(fs, g, args, want, usage); err != nil {
		return nil, err
	}
	return g.newClient()
}

// queryOf turns the non-empty filter flags into query parameters.
func queryOf(filters map[string]*string) url.Values {
	q := url.Values{}
	for k, v := range filters {
		if *v != "" {
			q.Set(k, *v)
		}
	}
	return q
}
