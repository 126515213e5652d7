package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sides of a call's dialogs.
const (
	SideCaller = "caller"
	SideAgent  = "agent"
)

// DialogLeg is what ending one of a call's SIP dialogs with a BYE needs
// once the process that held it is gone (RFC 3261 §12.2.1.1): the
// dialog's id, the URIs of its From and To as we send them, the remote
// target and route set, our next CSeq and where requests go.
type DialogLeg struct {
	Side      string `json:"side"` // SideCaller or SideAgent
	CallID    string `json:"call_id"`
	LocalTag  string `json:"local_tag"`
	RemoteTag string `json:"remote_tag"`
	LocalURI  string `json:"local_uri"`  // our From
	RemoteURI string `json:"remote_uri"` // their To
	// RemoteTarget is the peer's Contact, the BYE's Request-URI.
	RemoteTarget string `json:"remote_target"`
	// RouteSet is the Route headers in-dialog requests carry, in order.
	RouteSet []string `json:"route_set,omitempty"`
	// CSeq is the CSeq number of our next in-dialog request.
	CSeq uint32 `json:"cseq"`
	// Transport (udp, tcp, tls) and Destination (host:port): where the
	// peer's messages came from, where the BYE goes.
	Transport   string `json:"transport"`
	Destination string `json:"destination"`
}

// Dialogs are a call's dialogs in progress, kept beside its manifest
// from the caller's answer to the call's end.
type Dialogs struct {
	ID   string      `json:"id"` // the call's id, as its manifest's
	Legs []DialogLeg `json:"legs"`
}

// Teardown says how a call found interrupted at start was ended: a BYE
// on each of its dialogs, and what each answered.
type Teardown struct {
	At   time.Time     `json:"at"`
	Legs []TeardownLeg `json:"legs"`
}

// TeardownLeg is the outcome of the BYE on one dialog: the peer's final
// status, or why there was none (no answer, not sent).
type TeardownLeg struct {
	Side   string `json:"side"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// dialogExt names a call's dialog file: <id>.dialog.
const dialogExt = ".dialog"

func (d *Dir) dialogPath(id string) string { return filepath.Join(d.path, id+dialogExt) }

// WriteDialogs keeps, atomically and durably, what ending a call's
// dialogs needs, replacing what was kept before (an agent leg answered,
// a transfer's new one).
func (d *Dir) WriteDialogs(ds Dialogs) error {
	if ds.ID == "" || strings.ContainsAny(ds.ID, `/\`) || strings.HasPrefix(ds.ID, ".") {
		return fmt.Errorf("write dialogs: bad id %q", ds.ID)
	}
	b, err := json.Marshal(ds)
	if err != nil {
		return fmt.Errorf("write dialogs %s: %w", ds.ID, err)
	}
	return d.writeAtomic(ds.ID+dialogExt, b)
}

// ReadDialogs returns the dialogs kept for call id; an error wrapping
// os.ErrNotExist when there are none.
func (d *Dir) ReadDialogs(id string) (Dialogs, error) {
	var ds Dialogs
	b, err := os.ReadFile(d.dialogPath(id))
	if err != nil {
		return ds, fmt.Errorf("read dialogs %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		return Dialogs{}, fmt.Errorf("read dialogs %s: %w", id, err)
	}
	return ds, nil
}

// RemoveDialogs removes the dialogs kept for call id, once they are
// ended; none kept is not an error.
func (d *Dir) RemoveDialogs(id string) error {
	if err := os.Remove(d.dialogPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove dialogs %s: %w", id, err)
	}
	return nil
}

// hasDialogs says whether dialogs are kept for call id.
func (d *Dir) hasDialogs(id string) bool {
	_, err := os.Stat(d.dialogPath(id))
	return err == nil
}

// FinishTeardown finishes, as Recover does, the manifest of an
// interrupted call whose dialogs were kept (Recover left it for this),
// with t saying how they were ended, and removes the dialogs.
func (d *Dir) FinishTeardown(id string, t Teardown) Recovered {
	r := Recovered{ID: id}
	m, err := d.ReadManifest(id)
	if err != nil {
		r.Err = err
		return r
	}
	fi, err := os.Stat(d.ManifestPath(id))
	if err != nil {
		r.Err = fmt.Errorf("recover spool: %w", err)
		return r
	}
	m.Teardown = &t
	if r.Repaired, r.Err = d.recoverOne(m, fs.FileInfoToDirEntry(fi)); r.Err != nil {
		return r
	}
	r.Err = d.RemoveDialogs(id)
	return r
}
