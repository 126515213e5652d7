package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
)

// tonePcap writes a PCMU tone of dur as SIPp's play_pcap_audio wants it.
func tonePcap(t *testing.T, dur time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tone.pcap")
	pkts := sipptest.RTPStream(0, 1, 1000, 0xabcdef01, sipptest.ToneULaw(440, dur))
	if err := sipptest.WritePcap(path, sipptest.Paced(0, 20*time.Millisecond, pkts)); err != nil {
		t.Fatal(err)
	}
	return path
}

var controlRE = regexp.MustCompile(`"msg":"control listening","addr":"([^"]+)"`)

func (d *proc) controlURL(t *testing.T) string {
	t.Helper()
	m := controlRE.FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatal("kirokud did not log its control address")
	}
	return "http://" + m[1]
}

type callsJSON struct {
	Calls []struct {
		ID        string `json:"id"`
		Recording string `json:"recording"`
		Phase     string `json:"phase"`
		Caller    string `json:"caller"`
	} `json:"calls"`
}

func (d *proc) calls(t *testing.T) callsJSON {
	t.Helper()
	res, err := http.Get(d.controlURL(t) + "/api/v1/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var c callsJSON
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (d *proc) waitRecording(t *testing.T) string {
	t.Helper()
	var id string
	waitFor(t, "a call being recorded", func() bool {
		for _, c := range d.calls(t).Calls {
			if c.Recording == "recording" {
				id = c.ID
				return true
			}
		}
		return false
	})
	return id
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestPauseByHTTP: the supervisor API pauses and resumes a recording
// under a supervisor's token, lists calls with masked callers, and
// answers unknown ids and repeated actions precisely; the control
// listener refuses the same pause.
func TestPauseByHTTP(t *testing.T) {
	d, api := startAPIDaemon(t, "0120000001")
	p := d.call(t, "uac_pcap.xml", "0120000001", 4*time.Second, map[string]string{"pcap": tonePcap(t, 4*time.Second)})
	id := d.waitRecording(t)
	if c := d.calls(t).Calls[0]; c.Caller != "0312****78" {
		t.Errorf("got caller %q in the calls list, want it masked", c.Caller)
	}
	if code, body := post(t, d.controlURL(t)+"/api/v1/calls/"+id+"/pause"); code != http.StatusMethodNotAllowed {
		t.Errorf("pause through the control listener: got %d %s, want 405", code, body)
	}
	base := api + "/api/v1/calls/"
	send := func(path string) (int, string) {
		code, _, b := apiDo(t, "sup", "POST", base+path, nil)
		return code, string(b)
	}
	if code, body := send("0192f3e4-5b6c-7d8e-9fa0-b1c2d3e4f5a6/pause"); code != http.StatusNotFound {
		t.Errorf("pause of an unknown call: got %d %s, want 404", code, body)
	}
	if code, body := send(id + "/resume"); code != http.StatusConflict {
		t.Errorf("resume of a running recording: got %d %s, want 409", code, body)
	}
	time.Sleep(500 * time.Millisecond)
	if code, body := send(id + "/pause"); code != http.StatusOK {
		t.Fatalf("pause: got %d %s, want 200", code, body)
	}
	time.Sleep(time.Second)
	if code, body := send(id + "/resume"); code != http.StatusOK {
		t.Fatalf("resume: got %d %s, want 200", code, body)
	}
	wantSuccess(t, p)
	var m *spool.Manifest
	waitFor(t, "the spooled manifest", func() bool {
		ms := d.manifests(t)
		if len(ms) == 1 && ms[0].State == spool.StateSpooled && ms[0].Recording.EndedAt != nil {
			m = ms[0]
			return true
		}
		return false
	})
	if len(m.Recording.Paused) != 1 || m.Recording.Paused[0].By != "api" {
		t.Fatalf("got pauses %+v, want one by api", m.Recording.Paused)
	}
	ps := m.Recording.Paused[0]
	a, err := wav.Decode(d.audio(t, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	s := a.Samples()
	from, to := int(ps.StartOffset*8000)+200, int(ps.EndOffset*8000)-200
	for i := from; i < to; i++ {
		if s[2*i] != 0 || s[2*i+1] != 0 {
			t.Fatalf("frame %d inside the pause is not silent", i)
		}
	}
	loud := 0
	for i := to + 400; i < min(to+4400, len(s)/2); i++ {
		if s[2*i] != 0 {
			loud++
		}
	}
	if loud < 3000 {
		t.Errorf("only %d of 4000 frames after the resume carry audio", loud)
	}
}

// TestKill9MidCall: kirokud killed during a recorded call; the restart
// repairs the WAV to what was written, spools it and marks it cut short.
func TestKill9MidCall(t *testing.T) {
	d := startDaemon(t, "5s", "0120000001")
	d.call(t, "uac_pcap.xml", "0120000001", 10*time.Second, map[string]string{"pcap": tonePcap(t, 10*time.Second)})
	d.waitRecording(t)
	time.Sleep(1500 * time.Millisecond)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.done <- nil

	again := d.restart(t)
	again.waitLog(t, "recording of an interrupted call repaired")
	ms := again.manifests(t)
	if len(ms) != 1 {
		t.Fatalf("got %d manifests, want 1", len(ms))
	}
	m := ms[0]
	if m.State != spool.StateSpooled || m.Recording == nil || !m.Recording.CutShort || m.EndReason != "interrupted" {
		t.Fatalf("got state %q end %q recording %+v; want spooled, interrupted, cut short", m.State, m.EndReason, m.Recording)
	}
	b := again.audio(t, m.ID)
	a, err := wav.Decode(b)
	if err != nil {
		t.Fatalf("repaired recording does not decode: %v", err)
	}
	if a.Duration() < time.Second || a.Duration() > 3*time.Second {
		t.Errorf("repaired recording lasts %v, want about the 1.5 s recorded before the kill", a.Duration())
	}
	if sum := sha256.Sum256(b); int64(len(b)) != m.Recording.Size || hex.EncodeToString(sum[:]) != m.Recording.SHA256 {
		t.Errorf("manifest size %d sha %q, file %d bytes", m.Recording.Size, m.Recording.SHA256, len(b))
	}
	// Stored from the repaired sealed audio, it plays the caller's tone.
	waitFor(t, "the repaired recording stored", func() bool {
		_, err := os.Stat(filepath.Join(again.dir, "data", "spool", m.ID+".json"))
		return os.IsNotExist(err)
	})
	stored := again.audio(t, m.ID)
	if !bytes.Equal(stored, b) {
		t.Errorf("stored audio: %d bytes, not the %d of the repaired recording", len(stored), len(b))
	}
	if why := plainAudio(m.ID+".wav", a.Data); !strings.Contains(why, "440 Hz") {
		t.Errorf("the repaired recording's samples: %q, want the caller's tone", why)
	}
}

// restart starts kirokud again on the same folder and config.
func (d *proc) restart(t *testing.T) *proc {
	t.Helper()
	return (&proc{log: &syncBuffer{}, dir: d.dir, port: d.port, env: d.env}).start(t)
}

// TestUnwritableSpool: a spool kirokud cannot write to still lets calls
// connect; the log says they are not recorded.
func TestUnwritableSpool(t *testing.T) {
	d := startDaemonAs(t, true, "0120000001")
	p := d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": tonePcap(t, 2*time.Second)})
	wantSuccess(t, p)
	d.waitLog(t, "call not recorded: spool not writable")
	d.waitLog(t, "consent manifest not written")
	d.waitLog(t, `"reason":"caller-hangup"`)
}

// startDaemonAs runs kirokud with a spool it cannot write: as root, as
// the unprivileged user nobody (root ignores permissions).
func startDaemonAs(t *testing.T, readOnlySpool bool, lines ...string) *proc {
	t.Helper()
	d := prepare(t, "5s", lines...)
	spoolDir := filepath.Join(d.dir, "data", "spool")
	if err := os.MkdirAll(spoolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody to run kirokud unprivileged")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{filepath.Dir(binary), filepath.Dir(d.dir), d.dir, filepath.Join(d.dir, "data")} {
			os.Chmod(p, 0o755)
		}
		// kirokud owns its data folder, but not the spool inside it.
		os.Chown(filepath.Join(d.dir, "data"), uid, gid)
		os.Chmod(filepath.Join(d.dir, "kiroku.yaml"), 0o644)
		os.Chmod(filepath.Join(d.dir, "notice.wav"), 0o644)
		d.attr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		t.Cleanup(func() { os.Chmod(filepath.Dir(binary), 0o700) })
	} else {
		os.Chmod(spoolDir, 0o555)
		t.Cleanup(func() { os.Chmod(spoolDir, 0o755) })
	}
	return d.start(t)
}
