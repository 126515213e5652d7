package sip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// Reliable provisional responses (RFC 3262, 100rel), which sipgo v1.7.3
// does not implement: it has the PRACK method name and a handler slot,
// and nothing of RSeq, RAck, retransmission or matching. Both legs are
// done here on top of its transactions.

// endNoPrack: the caller required 100rel and never PRACKed our reliable
// 183 within 64*T1 (RFC 3262 §3); it was refused with a 5xx.
const endNoPrack = "no-prack"

// supportedOptions are the option tags Kiroku implements; a Require
// naming any other is refused with 420.
var supportedOptions = []string{"100rel", "timer"}

// unsupportedRequire lists the option tags of req's Require (or compact
// none: Require has no compact form) that Kiroku does not implement.
func unsupportedRequire(req headerGetter) []string {
	var out []string
	for _, h := range req.GetHeaders("require") {
		for v := range strings.SplitSeq(h.Value(), ",") {
			tag := strings.TrimSpace(v)
			if tag == "" {
				continue
			}
			known := false
			for _, s := range supportedOptions {
				known = known || strings.EqualFold(s, tag)
			}
			if !known {
				out = append(out, tag)
			}
		}
	}
	return out
}

// reliable is the caller leg's reliable provisional awaiting its PRACK.
type reliable struct {
	mu      sync.Mutex
	rseq    uint32        // RSeq of the last reliable provisional sent
	cseq    uint32        // CSeq number of the INVITE it answers
	pending chan struct{} // closed by the matching PRACK; nil when none waits
}

func newReliable(inviteCSeq uint32) *reliable {
	// RFC 3262 §3: the first RSeq is chosen between 1 and 2**31 - 1.
	return &reliable{cseq: inviteCSeq, rseq: rand.Uint32N(1<<31 - 1)} // next adds 1
}

// next numbers a new reliable provisional and returns its RSeq and the
// channel its PRACK closes.
func (r *reliable) next() (uint32, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rseq++
	r.pending = make(chan struct{})
	return r.rseq, r.pending
}

// prack takes a PRACK's RAck: when it acknowledges the provisional that
// waits, it returns done, which stops that provisional's retransmission
// and lets the 200 go; the caller calls it once the PRACK's own 200 is
// sent, so that the 200 to the PRACK goes first.
func (r *reliable) prack(rseq, cseq uint32, method string) (done func(), ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil || rseq != r.rseq || cseq != r.cseq || !strings.EqualFold(method, "INVITE") {
		return nil, false
	}
	ch := r.pending
	r.pending = nil
	return func() { close(ch) }, true
}

// parseRAck reads an RAck value: response-num CSeq-num Method.
func parseRAck(v string) (rseq, cseq uint32, method string, err error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", fmt.Errorf("rack %q: want response-num CSeq-num method", v)
	}
	r, err1 := strconv.ParseUint(f[0], 10, 32)
	c, err2 := strconv.ParseUint(f[1], 10, 32)
	if err1 != nil || err2 != nil || r == 0 {
		return 0, 0, "", fmt.Errorf("rack %q: numbers out of range", v)
	}
	return uint32(r), uint32(c), f[2], nil
}

// reliable183 sends our answer in a reliable 183 Session Progress to a
// caller that requires 100rel, retransmitting it (T1, doubling) until
// the caller PRACKs it; the 200 waits for that (RFC 3262 §3). It returns
// a non-empty end reason when the call cannot go on to the 200.
func (c *call) reliable183(ctx context.Context, sdp []byte) string {
	rseq, acked := c.rel.next()
	res := sipmsg.NewSDPResponseFromRequest(c.in.InviteRequest, sdp)
	res.StatusCode, res.Reason = sipmsg.StatusSessionInProgress, "Session Progress"
	res.AppendHeader(sipmsg.NewHeader("Require", "100rel"))
	res.AppendHeader(sipmsg.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	giveUp := time.NewTimer(64 * sipmsg.T1)
	defer giveUp.Stop()
	interval := sipmsg.T1
	for {
		if err := c.in.WriteResponse(res); err != nil {
			c.log.Info("caller left before its reliable 183 was acknowledged", zap.Error(err))
			return endCallerHangup
		}
		retry := time.NewTimer(interval)
		select {
		case <-acked:
			retry.Stop()
			return ""
		case <-retry.C:
			interval *= 2
		case <-giveUp.C:
			retry.Stop()
			c.log.Info("caller never acknowledged the reliable 183 (PRACK)")
			c.in.Respond(sipmsg.StatusInternalServerError, "Reliable Provisional Not Acknowledged", nil)
			return endNoPrack
		case <-ctx.Done():
			retry.Stop()
			if reason := ourEnd(ctx); reason != "" {
				c.in.Respond(sipmsg.StatusServiceUnavailable, "Shutting Down", nil)
				return reason
			}
			return endCallerHangup
		}
	}
}

// onPrack answers a PRACK: 200 when it acknowledges the caller leg's
// reliable provisional that waits, 481 when it matches none (RFC 3262
// §3), 400 when its RAck is unreadable.
func (s *Server) onPrack(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l, ok := s.findLeg(req)
	if !ok || l.side != sideCaller || l.c.rel == nil {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	v, _ := headerValue(req, "rack")
	rseq, cseq, method, err := parseRAck(v)
	if err != nil {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad RAck")
		return
	}
	done, ok := l.c.rel.prack(rseq, cseq, method)
	if !ok {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "No Such Provisional Response")
		return
	}
	s.respond(req, tx, sipmsg.StatusOK, "OK")
	done()
}

// pracker PRACKs the agent's reliable provisionals while its INVITE is
// pending. Each PRACK is its own transaction; stop waits for them.
//
// The PRACKs are built here rather than sent through the dialog session:
// sipgo v1.7.3's DialogClientSession stamps every request it builds,
// the ACK of the 2xx included, with the dialog's last CSeq number, so a
// PRACK sent through it would make the ACK carry the PRACK's number and
// the agent would never match it to its 200. Once the ACK is out, acked
// moves the dialog's number past the PRACKs', so that the BYE or
// re-INVITE that follows does not reuse one (pjsip and Kamailio refuse
// that with 500). TestAgentReliableProvisionals checks both numbers.
// emiago/sipgo pull request 355 (open) keeps the ACK's CSeq upstream;
// once released, the PRACKs should go through the dialog and acked go.
type pracker struct {
	c      *call
	out    *sipgo.DialogClientSession
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	last  map[string]uint32 // To tag -> RSeq last PRACKed on that early dialog
	cseq  uint32            // CSeq number of our last PRACK
	early []byte            // the SDP of the first reliable provisional that had one
}

func (c *call) newPracker(out *sipgo.DialogClientSession) *pracker {
	p := &pracker{c: c, out: out, last: map[string]uint32{}, cseq: out.InviteRequest.CSeq().SeqNo}
	p.ctx, p.cancel = context.WithTimeout(context.Background(), 64*sipmsg.T1)
	return p
}

// onResponse PRACKs res when it is a reliable provisional not PRACKed
// before; retransmissions and out-of-order ones are ignored (RFC 3262
// §4: the agent retransmits until it gets the PRACK in order).
func (p *pracker) onResponse(res *sipmsg.Response) {
	if res.StatusCode <= 100 || res.StatusCode >= 200 || !listHas(res, "100rel", "require") || res.To() == nil {
		return
	}
	v, _ := headerValue(res, "rseq")
	rseq, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil || rseq == 0 {
		p.c.log.Warn("agent's reliable provisional without a valid RSeq: not acknowledged", zap.Int("sip_code", res.StatusCode))
		return
	}
	tag, _ := res.To().Params.Get("tag")
	p.mu.Lock()
	last, seen := p.last[tag]
	if seen && uint32(rseq) != last+1 {
		p.mu.Unlock()
		return
	}
	p.last[tag] = uint32(rseq)
	p.cseq++
	cseq := p.cseq
	if p.early == nil && len(res.Body()) > 0 && isSDPMessage(res) {
		p.early = append([]byte(nil), res.Body()...)
	}
	p.mu.Unlock()

	req := p.prackRequest(res, uint32(rseq), cseq)
	tx, err := p.c.s.clientFor(req.Transport(), req.Recipient.Host).TransactionRequest(p.ctx, req)
	if err != nil {
		p.c.log.Warn("prack to agent not sent", zap.Error(err))
		return
	}
	p.wg.Go(func() {
		defer tx.Terminate()
		select {
		case r := <-tx.Responses():
			if !r.IsSuccess() {
				p.c.log.Warn("agent refused our PRACK", zap.Int("sip_code", r.StatusCode))
			}
		case <-tx.Done():
		case <-p.ctx.Done():
		}
	})
}

// prackRequest builds the PRACK of res in the early dialog it opened:
// to its Contact, along its Record-Route reversed (RFC 3261 §12.1.2).
func (p *pracker) prackRequest(res *sipmsg.Response, rseq, cseq uint32) *sipmsg.Request {
	inv := p.out.InviteRequest
	target := inv.Recipient
	if ct := res.Contact(); ct != nil {
		target = ct.Address
	}
	req := sipmsg.NewRequest(sipmsg.PRACK, *target.Clone())
	req.AppendHeader(sipmsg.HeaderClone(inv.From()))
	req.AppendHeader(sipmsg.HeaderClone(res.To()))
	req.AppendHeader(sipmsg.HeaderClone(inv.CallID()))
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: cseq, MethodName: sipmsg.PRACK})
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	rrs := res.GetHeaders("record-route")
	for i := len(rrs) - 1; i >= 0; i-- {
		req.AppendHeader(sipmsg.NewHeader("Route", rrs[i].Value()))
	}
	if rr := req.Route(); rr != nil {
		req.SetDestination(rr.Address.HostPort())
	}
	req.AppendHeader(sipmsg.NewHeader("RAck", fmt.Sprintf("%d %d INVITE", rseq, inv.CSeq().SeqNo)))
	req.SetTransport(inv.Transport())
	req.SetBody(nil)
	return req
}

// answer is the agent's SDP answer to our offer: the 2xx's, or, when
// the 2xx has none, the one its reliable provisional carried (RFC 3262
// §5: an answer in a reliable provisional is the answer; the 2xx need
// not repeat it).
func (p *pracker) answer(res *sipmsg.Response) []byte {
	if len(res.Body()) > 0 {
		return res.Body()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.early
}

// isSDPMessage reports whether m's body is SDP.
func isSDPMessage(m interface {
	ContentType() *sipmsg.ContentTypeHeader
}) bool {
	ct := m.ContentType()
	return ct != nil && strings.EqualFold(strings.TrimSpace(strings.SplitN(ct.Value(), ";", 2)[0]), "application/sdp")
}

// acked runs once our ACK of the agent's 2xx is sent: it moves the
// dialog's CSeq number to our last PRACK's, so that the dialog's next
// request is numbered above it.
func (p *pracker) acked() {
	p.mu.Lock()
	n := p.cseq
	p.mu.Unlock()
	if n <= p.out.InviteRequest.CSeq().SeqNo {
		return // no PRACK sent
	}
	if !setDialogCSeq(&p.out.Dialog, n) {
		p.c.log.Warn("cannot renumber the agent dialog after PRACK (sipgo changed): its next request reuses a PRACK's CSeq")
	}
}

// setDialogCSeq sets the local CSeq number of d, which sipgo keeps
// unexported (see pracker); false when sipgo no longer has the field.
func setDialogCSeq(d *sipgo.Dialog, n uint32) bool {
	f := reflect.ValueOf(d).Elem().FieldByName("lastCSeqNo")
	if !f.IsValid() || f.Type() != reflect.TypeFor[atomic.Uint32]() || !f.CanAddr() {
		return false
	}
	(*atomic.Uint32)(unsafe.Pointer(f.UnsafeAddr())).Store(n)
	return d.CSEQ() == n
}

// stop ends the PRACK transactions still waiting and waits for them.
func (p *pracker) stop() {
	p.cancel()
	p.wg.Wait()
}
