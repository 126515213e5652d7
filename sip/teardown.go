package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/spool"
)

// A call's dialogs are kept in the spool (spool.QueueDialogs) from the
// caller's answer to the call's end, so that after a crash the restarted
// daemon ends them: without it the caller hears dead air until it hangs
// up (and its BYE gets 481), and the agent leg stays up at the ACD.

// teardownCSeqMargin is added to a kept CSeq: in-dialog requests sent
// after the dialogs were last written (a re-INVITE for hold, a session
// refresh) are not written back, and a peer refuses a BYE whose CSeq is
// not above theirs.
const teardownCSeqMargin = 100

// teardownTimeout bounds the BYE of one leg after a restart: a peer that
// has gone answers nothing.
const teardownTimeout = 5 * time.Second

// keepDialogs writes what ending the call's dialogs needs: the caller's
// once answered, the agent's once connected (a transfer's new leg
// replaces the old). A failure is logged: the call goes on, and after a
// crash it is only repaired, not torn down.
func (c *call) keepDialogs() {
	c.mu.Lock()
	in, out := c.in, c.out
	c.mu.Unlock()
	ds := spool.Dialogs{ID: c.id}
	if in != nil && in.InviteResponse != nil && c.answered.Load() {
		ds.Legs = append(ds.Legs, serverLeg(in))
	}
	if out != nil && out.InviteResponse != nil {
		ds.Legs = append(ds.Legs, clientLeg(out))
	}
	if len(ds.Legs) == 0 {
		return
	}
	log := c.log
	c.s.spool.QueueDialogs(ds, func(err error) {
		if err != nil {
			log.Error("dialogs not kept: after a crash this call would not be hung up", zap.Error(err))
		}
	})
}

// forgetDialogs removes the kept dialogs once the call has ended.
func (c *call) forgetDialogs() {
	log := c.log
	c.s.spool.ForgetDialogs(c.id, func(err error) {
		if err != nil {
			log.Warn("ended call's dialogs not removed", zap.Error(err))
		}
	})
}

// serverLeg is the caller's dialog, in which Kiroku answered.
func serverLeg(in *sipgo.DialogServerSession) spool.DialogLeg {
	req, res := in.InviteRequest, in.InviteResponse
	l := spool.DialogLeg{Side: spool.SideCaller, CallID: req.CallID().Value(),
		Transport: strings.ToLower(req.Transport()), Destination: req.Source()}
	if to := res.To(); to != nil {
		l.LocalTag, _ = to.Params.Get("tag")
		l.LocalURI = to.Address.String()
	}
	if from := req.From(); from != nil {
		l.RemoteTag, _ = from.Params.Get("tag")
		l.RemoteURI = from.Address.String()
	}
	if ct := req.Contact(); ct != nil {
		l.RemoteTarget = ct.Address.String()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		l.RouteSet = append(l.RouteSet, h.Value())
	}
	if cs := req.CSeq(); cs != nil {
		l.CSeq = cs.SeqNo + 1
	}
	return l
}

// clientLeg is an agent's dialog, in which Kiroku called.
func clientLeg(out *sipgo.DialogClientSession) spool.DialogLeg {
	req, res := out.InviteRequest, out.InviteResponse
	l := spool.DialogLeg{Side: spool.SideAgent, CallID: req.CallID().Value(),
		Transport: strings.ToLower(req.Transport()), Destination: res.Source()}
	if from := req.From(); from != nil {
		l.LocalTag, _ = from.Params.Get("tag")
		l.LocalURI = from.Address.String()
	}
	if to := res.To(); to != nil {
		l.RemoteTag, _ = to.Params.Get("tag")
		l.RemoteURI = to.Address.String()
	}
	l.RemoteTarget = req.Recipient.String()
	if ct := res.Contact(); ct != nil {
		l.RemoteTarget = ct.Address.String()
	}
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- { // a UAC's route set is the reverse (RFC 3261 §12.1.2)
		l.RouteSet = append(l.RouteSet, rr[i].Value())
	}
	if cs := req.CSeq(); cs != nil {
		l.CSeq = cs.SeqNo + 1
	}
	return l
}

// Teardown ends the dialogs a previous run of kirokud kept for a call it
// did not end (kill -9, power loss): a BYE on each leg, at once, and
// what each answered. It returns when every leg has answered or given up
// (teardownTimeout), or ctx ends.
func (s *Server) Teardown(ctx context.Context, ds spool.Dialogs) spool.Teardown {
	t := spool.Teardown{At: time.Now().UTC(), Legs: make([]spool.TeardownLeg, len(ds.Legs))}
	var wg sync.WaitGroup
	for i, l := range ds.Legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := spool.TeardownLeg{Side: l.Side}
			code, err := s.byeLeg(ctx, l)
			res.Status = code
			if err != nil {
				res.Error = err.Error()
			}
			t.Legs[i] = res
		}()
	}
	wg.Wait()
	return t
}

// errNoFinal is a BYE that got no final response in time.
var errNoFinal = errors.New("no final response to the BYE")

// byeLeg sends a BYE in the kept dialog l and returns the peer's final
// status.
func (s *Server) byeLeg(ctx context.Context, l spool.DialogLeg) (int, error) {
	bye, err := byeRequest(l)
	if err != nil {
		return 0, err
	}
	if l.Transport == "udp" || l.Transport == "" {
		s.fromListener(bye, l.Destination)
	}
	ctx, cancel := context.WithTimeout(ctx, teardownTimeout)
	defer cancel()
	tx, err := s.client.TransactionRequest(ctx, bye)
	if err != nil {
		return 0, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res.StatusCode, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return 0, err
			}
			return 0, errNoFinal
		case <-ctx.Done():
			return 0, errNoFinal
		}
	}
}

// byeRequest builds the BYE of the kept dialog l.
func byeRequest(l spool.DialogLeg) (*sipmsg.Request, error) {
	var target, local, remote sipmsg.Uri
	for _, u := range []struct {
		s   string
		uri *sipmsg.Uri
	}{{l.RemoteTarget, &target}, {l.LocalURI, &local}, {l.RemoteURI, &remote}} {
		if err := sipmsg.ParseUri(u.s, u.uri); err != nil {
			return nil, err
		}
	}
	bye := sipmsg.NewRequest(sipmsg.BYE, target)
	from := &sipmsg.FromHeader{Address: local, Params: sipmsg.NewParams()}
	from.Params.Add("tag", l.LocalTag)
	to := &sipmsg.ToHeader{Address: remote, Params: sipmsg.NewParams()}
	if l.RemoteTag != "" {
		to.Params.Add("tag", l.RemoteTag)
	}
	callID := sipmsg.CallIDHeader(l.CallID)
	maxFwd := sipmsg.MaxForwardsHeader(70)
	bye.AppendHeader(from)
	bye.AppendHeader(to)
	bye.AppendHeader(&callID)
	bye.AppendHeader(&sipmsg.CSeqHeader{SeqNo: l.CSeq + teardownCSeqMargin, MethodName: sipmsg.BYE})
	bye.AppendHeader(&maxFwd)
	for _, r := range l.RouteSet {
		bye.AppendHeader(sipmsg.NewHeader("Route", r))
	}
	bye.AppendHeader(sipmsg.NewHeader("Reason", `SIP;cause=500;text="recorder restarted"`))
	bye.SetBody(nil)
	if l.Transport != "" {
		bye.SetTransport(strings.ToUpper(l.Transport))
	}
	if l.Destination != "" {
		bye.SetDestination(l.Destination)
	}
	return bye, nil
}

// fromListener sends the UDP request req from the listener's socket
// rather than a client socket of its own: the peer's answer comes back to
// the port with the listener's receive buffer, the one the Contact names,
// and a dialog ended after a restart is ended from the port the peer
// knows (a peer that answers where a request came from, not to its Via,
// would otherwise answer a port that died with the process).
func (s *Server) fromListener(req *sipmsg.Request, dest string) {
	if a, ok := s.udpListenerFor(dest); ok {
		req.Laddr = sipmsg.Addr{IP: net.IP(a.Addr().AsSlice()), Port: int(a.Port())}
	}
}

// udpListenerFor is the UDP listener to send to dest (an IP address and
// port) from: one of dest's address family that can reach it (a loopback
// listener reaches only loopback). None for a dest that is not an address.
func (s *Server) udpListenerFor(dest string) (netip.AddrPort, bool) {
	d, err := netip.ParseAddrPort(dest)
	if err != nil {
		return netip.AddrPort{}, false
	}
	da := d.Addr().Unmap()
	for _, ln := range s.Listeners() {
		la := ln.Addr.Addr().Unmap()
		if ln.Network != "udp" || la.Is4() != da.Is4() || (la.IsLoopback() && !da.IsLoopback()) {
			continue
		}
		return ln.Addr, true
	}
	return netip.AddrPort{}, false
}
