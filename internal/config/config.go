package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/kiroku-voice/kiroku/configs"
)

// Config is kirokud's configuration. A *Config returned by Load, Parse or
// Default is valid and complete; treat it as read-only and swap it whole on
// reload.
type Config struct {
	SIP        SIP          `yaml:"sip"`
	DataDir    string       `yaml:"data_dir"` // absolute after Load; default "./kiroku-data"
	Log        Log          `yaml:"log"`
	Control    Control      `yaml:"control"`
	API        API          `yaml:"api"`
	Storage    Storage      `yaml:"storage"`
	Encryption Encryption   `yaml:"encryption"`
	Catalog    Catalog      `yaml:"catalog"`
	Webhook    Webhook      `yaml:"webhook"`
	Retention  RetentionJob `yaml:"retention"`
	Rights     Rights       `yaml:"rights"` // data-subject requests: rights.go
	Purposes   []Purpose    `yaml:"purposes"`
	Clients    []Client     `yaml:"clients"` // outsourced lines: client.go
	Lines      []Line       `yaml:"lines"`
	Source     string       `yaml:"-"` // file path, or "embedded defaults"

	Spool Spool `yaml:"spool"` // spool.go

	Transcoder Transcoder `yaml:"transcoder"` // transcoder.go

	pos positions // line of each key path, for Validate's messages
}

// Log configures kirokud's logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error; default info
	Format string `yaml:"format"` // auto, json or console; default auto
}

// Control configures the local HTTP listener for calls in progress
// (list, pause, resume). Until the API has authentication it must stay on
// a loopback address.
type Control struct {
	Listen string `yaml:"listen"` // host:port; "" turns it off; default 127.0.0.1:8091
	// Pprof serves Go's runtime profiles (heap, goroutines, CPU) under
	// /debug/pprof/ on the control listener, for measuring where memory
	// and time go; off by default.
	Pprof bool `yaml:"pprof"`
}

// SIP configures the SIP side: where to listen, whom to accept calls from
// and the limits on calls and media.
type SIP struct {
	Listen    []string   `yaml:"listen"`   // URLs such as "udp://127.0.0.1:5060" or "tcp://[::1]:5060"
	Listeners []Listener `yaml:"-"`        // Listen, parsed
	MediaIP   string     `yaml:"media_ip"` // IP for RTP sockets and SDP; default the first listener's host
	// MediaInterfaces are other addresses for RTP, chosen per trunk and
	// per line: see mediaif.go.
	MediaInterfaces []MediaInterface `yaml:"media_interfaces"`
	Trunks          []Trunk          `yaml:"trunks"`         // peers allowed to send calls
	MaxCalls        int              `yaml:"max_calls"`      // concurrent calls; default 1000
	RTPPorts        string           `yaml:"rtp_ports"`      // port range such as "20000-29999" (the default)
	RTPPortMin      int              `yaml:"-"`              // RTPPorts' first port
	RTPPortMax      int              `yaml:"-"`              // RTPPorts' last port
	DrainTimeout    Duration         `yaml:"drain_timeout"`  // how long shutdown waits for calls to end; default 60s
	AnswerTimeout   Duration         `yaml:"answer_timeout"` // how long downstream may ring; default 30s
	// RingTimeout is how long a downstream may take to send its first
	// response (even 100 Trying) before the next is tried; default 2s.
	RingTimeout Duration    `yaml:"ring_timeout"`
	HealthCheck HealthCheck `yaml:"health_check"` // OPTIONS pings of the downstreams
	RetryAfter  Duration    `yaml:"retry_after"`  // Retry-After of 503 responses; default 30s
	// Session timers (RFC 4028) and INVITE rate limits: see edge.go.
	SessionExpires Duration  `yaml:"session_expires"` // session interval we ask for; default 1800s
	MinSE          Duration  `yaml:"min_se"`          // shortest interval we accept (422 below); default 90s
	RateLimit      RateLimit `yaml:"rate_limit"`
	Auth           Auth      `yaml:"auth"` // digest users: see auth.go
	TLS            SIPTLS    `yaml:"tls"`  // tls:// listeners: see tls.go

	// Overload bounds the calls being set up: see overload.go.
	Overload Overload `yaml:"overload"`
}

// Trunk is a named set of networks that calls are accepted from.
type Trunk struct {
	Name     string         `yaml:"name"`
	CIDRs    []string       `yaml:"cidrs"` // prefixes such as "192.0.2.0/24", or single addresses
	Prefixes []netip.Prefix `yaml:"-"`     // CIDRs, parsed and masked
	// Auth makes calls from the trunk authenticate (digest, sip.auth); a
	// trunk with auth and no cidrs takes calls from any address.
	Auth bool `yaml:"auth"`
	// TLSClientCN, with sip.tls.client_ca, takes calls over TLS from the
	// trunk only with a client certificate of that common name (or DNS
	// name).
	TLSClientCN string `yaml:"tls_client_cn"`
	// SRTP is the caller leg's media security: off, optional (default)
	// or required; see srtp.go.
	SRTP string `yaml:"srtp"`
	// MediaInterface names the sip.media_interfaces entry of the
	// caller's leg; "" for sip.media_ip.
	MediaInterface string `yaml:"media_interface"`
	// MediaLatching is where the caller leg's RTP is taken from: strict
	// (default, the SDP's address only) or learn; see latching.go.
	MediaLatching string `yaml:"media_latching"`
	// Identity is where the caller's number is read: from (default;
	// the From header), pai (P-Asserted-Identity, RFC 3325) or rpid
	// (Remote-Party-ID). Only pai and rpid trust the trunk to assert
	// identity: see identity.go.
	Identity string `yaml:"identity"`
}

// Purpose is why calls on a line are recorded, how long the recordings are
// kept and which roles may listen to them.
type Purpose struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Retention   Retention `yaml:"retention"`
	Listeners   []string  `yaml:"listeners"` // roles: supervisor, privacy-officer, auditor, admin
	// ExtendExisting lets a longer retention apply to recordings already
	// stored; without it a longer limit applies to new recordings only.
	// A shorter limit always applies to all (privacy wins).
	ExtendExisting bool `yaml:"extend_existing"`
	// AudioFormat is how the purpose's recordings are stored: pcm, g711,
	// flac or opus (see audioformat.go); the uploader encodes the spool's
	// PCM. OpusBitrate is opus's, bits a second for both channels.
	AudioFormat string `yaml:"audio_format"`
	OpusBitrate int    `yaml:"opus_bitrate"`
}

// Line is a dialled number that Kiroku answers, plays a notice on,
// records and bridges downstream.
type Line struct {
	Number      string   `yaml:"number"`        // dialled number, NormalizeNumber'd after Load
	Purpose     string   `yaml:"purpose"`       // name of a Purpose
	Client      string   `yaml:"client"`        // id of the Client the line is run for; "" for none
	Notice      string   `yaml:"notice"`        // path of the notice WAV, resolved after Load
	OptOutDigit string   `yaml:"opt_out_digit"` // DTMF digit that declines recording; "" for none
	OptOutWait  Duration `yaml:"opt_out_wait"`  // how long to wait for it after the notice; default 3s
	Downstream  string   `yaml:"downstream"`    // "sip:user@host[:port][;params]", "sips:…" or "echo:"
	// Downstreams, instead of Downstream, is a group of agent platforms
	// tried in turn (see downstream.go); Targets gives either.
	Downstreams []Downstream `yaml:"downstreams"`
	// FailoverOnBusy tries the next downstream after a busy answer (486,
	// 600, 603); without it busy ends the attempts.
	FailoverOnBusy bool `yaml:"failover_on_busy"`
	// Unavailable is the WAV played to the caller when no downstream
	// answers, before the BYE; "" hangs up without a prompt.
	Unavailable       string  `yaml:"unavailable"`
	UnavailablePrompt *Prompt `yaml:"-"` // the loaded unavailable prompt
	// DownstreamMediaInterface names the sip.media_interfaces entry of
	// the agent leg; "" for sip.media_ip.
	DownstreamMediaInterface string `yaml:"downstream_media_interface"`
	// TransferTargets are where an agent may transfer a call by REFER
	// (see transfer.go); none: every REFER is refused with 403.
	TransferTargets []string         `yaml:"transfer_targets"`
	TransferAllowed []TransferTarget `yaml:"-"` // TransferTargets, parsed
	// NoticeMode is answer (default) or early-media: see notice.go.
	NoticeMode string `yaml:"notice_mode"`
	// RecordEarlyMedia records the agent side's early media (queue
	// announcements) too; by default recording starts at its answer.
	RecordEarlyMedia bool `yaml:"record_early_media"`
	// PauseKeys and ResumeKeys are DTMF sequences the agent presses to
	// pause and resume the recording (card payments); they are not passed
	// on to the caller. Both or neither.
	PauseKeys  string  `yaml:"pause_keys"`
	ResumeKeys string  `yaml:"resume_keys"`
	Prompt     *Prompt `yaml:"-"` // the loaded notice
	// MediaTimeout and MaxDuration end dead and endless calls: see edge.go.
	MediaTimeout Duration `yaml:"media_timeout"` // no RTP from a leg not on hold; default 30s, at least 5s
	MaxDuration  Duration `yaml:"max_duration"`  // longest call from answer; default 4h
	// DownstreamSRTP is the agent leg's media security: off (default),
	// optional or required; see srtp.go.
	DownstreamSRTP string `yaml:"downstream_srtp"`
	// DownstreamLatching is where the agent leg's RTP is taken from:
	// strict (default) or learn; see latching.go.
	DownstreamLatching string `yaml:"downstream_latching"`
	// DTMFMethods are the ways a caller's opt-out key counts: rfc4733,
	// info, inband (default all three); see dtmf.go.
	DTMFMethods []string `yaml:"dtmf_methods"`
	// AgentIdentity is where the agent's 200 OK says who the agent is:
	// header:<Name>, pai or contact ("" for nowhere); see agentid.go.
	AgentIdentity string `yaml:"agent_identity"`
}

// Prompt is a loaded notice: 8 kHz mono 16-bit PCM.
type Prompt struct {
	Name     string        // base name of the file
	SHA256   string        // hex SHA-256 of the file's bytes
	PCM      []int16       // samples at 8 kHz
	Duration time.Duration // play time
}

// Default values for keys left out of a configuration.
const (
	DefaultDataDir       = "./kiroku-data"
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "auto"
	DefaultMaxCalls      = 1000
	DefaultRTPPorts      = "20000-29999"
	DefaultDrainTimeout  = Duration(60 * time.Second)
	DefaultAnswerTimeout = Duration(30 * time.Second)
	DefaultRetryAfter    = Duration(30 * time.Second)
	DefaultOptOutWait    = Duration(3 * time.Second)
	DefaultControlListen = "127.0.0.1:8091"
)

// Load reads the configuration file at path and returns it checked and
// complete, as Parse does, with relative paths resolved against the file's
// directory and notices read from disk.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(data, path, nil, filepath.Dir(abs))
}

// Parse decodes the configuration data strictly, applies defaults, resolves
// paths, validates it and loads its notices. name is used in messages and
// as Source. A YAML syntax error is returned prefixed with name; every
// other problem is reported at once as Problems.
//
// Relative paths in data are joined to dir. data_dir is then made absolute
// against the working directory. Notices are read from fsys at their joined
// path without a leading "/", so fsys is the root that dir is a path in:
//   - nil means the operating system's files; dir is made absolute first
//     (Load passes the file's directory);
//   - any fs.FS with dir "." reads notices from its root (Default passes
//     configs.FS; tests may pass an fstest.MapFS).
func Parse(data []byte, name string, fsys fs.FS, dir string) (*Config, error) {
	r := &report{file: name, pos: positions{}, bad: map[string]bool{}}
	c, set, err := decodeYAML(data, r)
	if err != nil {
		return nil, err
	}
	c.Source = name
	c.pos = r.pos
	if fsys == nil {
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		fsys = os.DirFS("/")
	}
	c.setDefaults(set)
	c.resolve(dir, r)
	c.check(r)
	c.loadPrompts(fsys, r)
	if err := r.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultYAML returns a copy of the embedded default configuration.
func DefaultYAML() []byte {
	b, err := fs.ReadFile(configs.FS, configs.DefaultFile)
	if err != nil {
		panic("config: embedded default configuration missing: " + err.Error())
	}
	return b
}

// WriteDefault writes the embedded default configuration to
// dir/kirokud.yaml and every prompt it ships under dir/prompts, so that
// the file, edited or not, passes the same checks as at start (the
// printed YAML alone names prompts that are not beside it). It refuses to
// overwrite any file, and writes none then; it returns the files written.
func WriteDefault(dir string) ([]string, error) {
	type file struct {
		name string
		data []byte
	}
	// Written beside it, the prompts are the ones the file names (to be
	// replaced by the centre's own recordings), not the embedded ones.
	yaml := bytes.ReplaceAll(DefaultYAML(), []byte(EmbeddedPrefix+"prompts/"), []byte("prompts/"))
	files := []file{{"kirokud.yaml", yaml}}
	prompts, err := fs.Glob(configs.FS, "prompts/*.wav")
	if err != nil {
		return nil, fmt.Errorf("write default config: %w", err)
	}
	for _, p := range prompts {
		b, err := fs.ReadFile(configs.FS, p)
		if err != nil {
			return nil, fmt.Errorf("write default config: %w", err)
		}
		files = append(files, file{p, b})
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f.name)); err == nil {
			return nil, fmt.Errorf("write default config: %s exists; give an empty or new folder", filepath.Join(dir, f.name))
		}
	}
	var wrote []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return wrote, fmt.Errorf("write default config: %w", err)
		}
		out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = out.Write(f.data)
			err = errors.Join(err, out.Close())
		}
		if err != nil {
			return wrote, fmt.Errorf("write default config: %w", err)
		}
		wrote = append(wrote, path)
	}
	return wrote, nil
}

// Default returns the embedded default configuration, with its notices
// read from configs.FS and its data_dir resolved against the working
// directory. Its Source is "embedded defaults".
func Default() (*Config, error) {
	c, err := Parse(DefaultYAML(), configs.DefaultFile, configs.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	c.Source = "embedded defaults"
	return c, nil
}

// setDefaults fills in what the file left out; set holds the keys it gave.
func (c *Config) setDefaults(set map[string]bool) {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	c.defaultAudioFormats()
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
	if !set["control.listen"] {
		c.Control.Listen = DefaultControlListen
	}
	s := &c.SIP
	if !set["sip.max_calls"] {
		s.MaxCalls = DefaultMaxCalls
	}
	if s.RTPPorts == "" {
		s.RTPPorts = DefaultRTPPorts
	}
	for key, d := range map[string]struct {
		v   *Duration
		def Duration
	}{
		"sip.drain_timeout":  {&s.DrainTimeout, DefaultDrainTimeout},
		"sip.answer_timeout": {&s.AnswerTimeout, DefaultAnswerTimeout},
		"sip.retry_after":    {&s.RetryAfter, DefaultRetryAfter},
	} {
		if !set[key] {
			*d.v = d.def
		}
	}
	for i := range c.Lines {
		if !set[child(index("lines", i), "opt_out_wait")] {
			c.Lines[i].OptOutWait = DefaultOptOutWait
		}
	}
}

// resolve joins relative paths to dir.
func (c *Config) resolve(dir string, r *report) {
	dd := c.DataDir
	if !filepath.IsAbs(dd) {
		dd = filepath.Join(dir, dd)
	}
	abs, err := filepath.Abs(dd)
	if err != nil {
		r.add("data_dir", "cannot resolve %q: %v", c.DataDir, err)
	}
	c.DataDir = abs
	c.resolveStorage(dir)
	c.resolveAPI(dir)
	c.resolveSIPTLS(dir)
	for i := range c.Lines {
		l := &c.Lines[i]
		if l.Notice != "" && !filepath.IsAbs(l.Notice) && !embedded(l.Notice) {
			l.Notice = filepath.Join(dir, l.Notice)
		}
		l.resolveUnavailable(dir)
	}
}

// Line returns the line whose number is dialled, after normalising both.
func (c *Config) Line(dialled string) (*Line, bool) {
	n := NormalizeNumber(dialled)
	for i := range c.Lines {
		if c.Lines[i].Number == n {
			return &c.Lines[i], true
		}
	}
	return nil, false
}

// Trunk returns the first trunk with a prefix holding addr. IPv4 addresses
// mapped into IPv6 match as IPv4; an IPv6 zone is ignored.
func (c *Config) Trunk(addr netip.Addr) (*Trunk, bool) {
	addr = addr.Unmap().WithZone("")
	for i := range c.SIP.Trunks {
		for _, p := range c.SIP.Trunks[i].Prefixes {
			if p.Contains(addr) {
				return &c.SIP.Trunks[i], true
			}
		}
	}
	return nil, false
}

// Purpose returns the purpose called name.
func (c *Config) Purpose(name string) (*Purpose, bool) {
	for i := range c.Purposes {
		if c.Purposes[i].Name == name {
			return &c.Purposes[i], true
		}
	}
	return nil, false
}
