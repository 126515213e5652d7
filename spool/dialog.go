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
// a transfer's new one), and returns once it is on the disk.
func (d *Dir) WriteDialogs(ds Dialogs) error {
	ch := make(chan error, 1)
	d.QueueDialogs(ds, func(err error) { ch <- err })
	return <-ch
}

// QueueDialogs is WriteDialogs without the wait, for a call in progress:
// the dialogs go into the spool's next batch and done (which must not
// block; nil for none) hears when they are durable or why they are not. A call needs
// them only after a crash, so its answer and its notice do not wait for
// the disk (in a storm the wait was seconds). Writes and ForgetDialogs of
// one call apply in the order they were queued.
func (d *Dir) QueueDialogs(ds Dialogs, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if ds.ID == "" || strings.ContainsAny(ds.ID, `/\`) || strings.HasPrefix(ds.ID, ".") {
		done(fmt.Errorf("write dialogs: bad id %q", ds.ID))
		return
	}
	b, err := json.Marshal(ds)
	if err != nil {
		done(fmt.Errorf("write dialogs %s: %w", ds.ID, err))
		return
	}
	d.queueWrite(ds.ID+dialogExt, b, done)
}

// ForgetDialogs removes the dialogs kept for call id once it has ended,
// in order with its queued QueueDialogs (a removal done at once could be
// undone by a write still queued); done hears the outcome, none kept
// being no error.
func (d *Dir) ForgetDialogs(id string, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		done(fmt.Errorf("remove dialogs: bad id %q", id))
		return
	}
	d.queueRemove(id+dialogExt, done)
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
