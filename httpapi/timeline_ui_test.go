package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestBrowserTimeline: under the player, the call's timeline lists the
// notice, the consent, the answer, both agents of a transfer, a pause,
// a note, the caller's hold and the end, in order with their times from the start of the
// audio; clicking the note's mark seeks the audio to the note; the
// per-channel figures show packets, lost with its share, late and gap;
// axe finds nothing, wide and at 360 px.
func TestBrowserTimeline(t *testing.T) {
	e := newEnv(t)
	at := func(base time.Time, s float64) *time.Time {
		v := base.Add(time.Duration(s * float64(time.Second)))
		return &v
	}
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 40, agent: "agent-a", end: "agent-hangup",
		edit: func(m *spool.Manifest) {
			start := m.StartedAt // the notice starts here; the audio 4 s later, when it ends
			m.AnsweredAt = at(start, 4)
			m.BridgedAt = at(start, 5)
			m.Recording.StartedAt = *at(start, 4)
			m.Segments = []spool.Segment{
				{StartedAt: *at(start, 5), EndedAt: at(start, 20), Downstream: "sip:a@agents.example", AgentID: "agent-a", Began: "answer"},
				{StartedAt: *at(start, 20), Downstream: "sip:b@agents.example", AgentID: "agent-b", Began: "refer"},
			}
			m.Holds = []spool.Hold{{By: "caller", Direction: "sendonly", Start: *at(start, 30), End: at(start, 33)}}
			m.Recording.Paused = []spool.Pause{{Start: *at(start, 10), End: at(start, 15), StartOffset: 6, EndOffset: 11, By: "dtmf"}}
			m.Recording.Channels = []spool.ChannelStats{
				{Side: "caller", Codec: "PCMU", Packets: 1980, Lost: 20, Late: 3, GapMs: 460},
				{Side: "agent", Codec: "PCMU", Packets: 1500, Lost: 0, Late: 0, GapMs: 0},
			}
		}})
	noteAt := 21.0
	if res, b := e.send("sup", http.MethodPost, "/api/v1/recordings/"+ids[0]+"/notes",
		apiclient.NewNote{At: &noteAt, Body: "Caller asked for a refund"}); res.StatusCode != http.StatusCreated {
		t.Fatalf("add a note: got %d %s", res.StatusCode, b)
	}

	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "sup")
	p.do("open the recording",
		chromedp.Navigate(e.srv.URL+"/#/recordings/"+ids[0]),
		chromedp.WaitVisible(chromedp.CSS("#r-meta dt")),
		chromedp.WaitVisible(chromedp.CSS("#tl-events li")))
	got := eval[[]string](p, `[...document.querySelectorAll('#tl-events li')].map((li) => li.textContent)`)
	want := []string{
		"−0:04.0 Notice started",
		"0:00.0 Notice ended",
		"0:00.0 Consent: Notified (recorded)",
		"0:00.0 Call answered",
		"0:01.0 Agent agent-a answered",
		"0:06.0 Recording paused (key press)",
		"0:11.0 Recording resumed",
		"0:16.0 Transferred to agent-b (REFER)",
		"0:21.0 Note by sup: Caller asked for a refund",
		"0:26.0 On hold (Caller)",
		"0:29.0 Off hold (Caller)",
		"0:41.0 Call ended: Agent hung up",
	}
	if !slices.Equal(got, want) {
		t.Errorf("timeline events:\ngot  %q\nwant %q", got, want)
	}
	if segs := eval[[]string](p, `[...document.querySelectorAll('#tl-track .tl-segment')].map((s) => s.textContent)`); !slices.Equal(segs, []string{"agent-a", "agent-b"}) {
		t.Errorf("got segments drawn %q, want agent-a then agent-b", segs)
	}
	if n := eval[int](p, `document.querySelectorAll('#tl-track .tl-pause').length`); n != 1 {
		t.Errorf("got %d pauses drawn, want 1", n)
	}
	if n := eval[int](p, `document.querySelectorAll('#tl-track .tl-hold').length`); n != 1 {
		t.Errorf("got %d holds drawn, want 1", n)
	}
	rows := eval[[]string](p, `[...document.querySelectorAll('#tl-channels tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent).join('|'))`)
	if wantRows := []string{"Caller|1980|20 (1.0 %)|3|460", "Agent|1500|0 (0.0 %)|0|0"}; !slices.Equal(rows, wantRows) {
		t.Errorf("per-channel figures:\ngot  %q\nwant %q", rows, wantRows)
	}
	label := eval[string](p, `document.querySelector('#tl-track .tl-m-note').getAttribute('aria-label')`)
	if want := "Note by sup: Caller asked for a refund, at 0:21.0: play from here"; label != want {
		t.Errorf("note mark label: got %q, want %q", label, want)
	}

	p.do("play, then pause",
		chromedp.SendKeys(chromedp.CSS("#reason"), "coaching"),
		chromedp.Click(chromedp.CSS("#play")))
	p.until("the audio to play", `document.querySelector('#audio').currentTime > 0.2`)
	p.do("pause, click the note's mark",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#audio').pause()`),
		chromedp.Click(chromedp.CSS("#tl-track .tl-m-note")))
	if got := eval[float64](p, `document.querySelector('#audio').currentTime`); math.Abs(got-noteAt) > 0.3 {
		t.Errorf("after clicking the note's mark: got the audio at %.2f s, want %.1f", got, noteAt)
	}
	p.accessible("the recording page with its timeline")
	p.narrow("the recording page with its timeline")
	// The player card only (the page above it is in other pictures): in
	// the test's temp dir, and in $KIROKU_UI_SHOTS when set (the README's).
	b, err := chromedp.Run(p.ctx, chromedp.ScreenshotScale(chromedp.CSS("#player"), 0.75))
	if err != nil {
		p.fail("screenshot of the player", err)
	}
	for _, d := range []string{t.TempDir(), os.Getenv("KIROKU_UI_SHOTS")} {
		if d == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(d, "player-timeline.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	p.do("in Japanese", chromedp.Click(chromedp.CSS("#lang")))
	p.until("the timeline in Japanese", `document.querySelector('#tl-events li').textContent === '−0:04.0 案内開始'`)
	if got := p.text("#tl-channels caption"); got != "チャネルごとのパケット" {
		t.Errorf("channel figures caption in Japanese: got %q", got)
	}
	p.accessible("the recording page with its timeline, in Japanese")
}

// TestBrowserNoteAdd: a supervisor adds a note at the playback position
// and one on the whole call from the player; each is stored with the
// token as its author, audited as note, and shown on the timeline at
// once; an auditor, who writes no notes, is told so by /me (can.note),
// which is what the page shows the form by.
func TestBrowserNoteAdd(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 30})
	before := e.head()
	p := &page{t: t, ctx: browser(t)}
	p.signIn(e.srv.URL+"/", "sup")
	p.do("open the recording",
		chromedp.Navigate(e.srv.URL+"/#/recordings/"+ids[0]),
		chromedp.WaitVisible(chromedp.CSS("#note-form")))
	p.do("play, then pause at 12 s",
		chromedp.SendKeys(chromedp.CSS("#reason"), "coaching"),
		chromedp.Click(chromedp.CSS("#play")))
	p.until("the audio to play", `document.querySelector('#audio').currentTime > 0.2`)
	p.do("seek to 12 s and write a note",
		chromedp.Evaluate[chromedp.Void](`(() => { const a = document.querySelector('#audio'); a.pause(); a.currentTime = 12; a.dispatchEvent(new Event('timeupdate')); })()`),
		chromedp.SendKeys(chromedp.CSS("#note-text"), "Agent promised a call back"),
		chromedp.Click(chromedp.CSS("#note-add")))
	p.until("the note on the timeline", `[...document.querySelectorAll('#tl-events li')].some((li) => li.textContent === '0:12.0 Note by sup: Agent promised a call back')`)
	if st := p.text("#status"); st != "Note added at 0:12.0." {
		t.Errorf("got status %q", st)
	}
	if v := eval[string](p, `document.querySelector('#note-text').value`); v != "" {
		t.Errorf("the note's text stayed in the form: %q", v)
	}
	if n := eval[int](p, `document.querySelectorAll('#tl-track .tl-m-note').length`); n != 1 {
		t.Errorf("got %d note marks, want 1", n)
	}
	p.do("a note on the whole call",
		chromedp.Click(chromedp.CSS("#note-here")),
		chromedp.SendKeys(chromedp.CSS("#note-text"), "Complaint escalated"),
		chromedp.Click(chromedp.CSS("#note-add")))
	p.until("the second note", `[...document.querySelectorAll('#tl-events li')].some((li) => li.textContent.endsWith('Note by sup: Complaint escalated'))`)
	p.accessible("the player with the note form")

	var list apiclient.NoteList
	if res, b := e.send("sup", http.MethodGet, "/api/v1/recordings/"+ids[0]+"/notes", nil); res.StatusCode != 200 || json.Unmarshal(b, &list) != nil {
		t.Fatalf("notes: got %d %s", res.StatusCode, b)
	}
	if len(list.Notes) != 2 || list.Notes[0].Author != "sup" || list.Notes[0].At == nil || math.Abs(*list.Notes[0].At-12) > 0.05 ||
		list.Notes[1].At != nil || list.Notes[1].Body != "Complaint escalated" {
		t.Errorf("got notes %+v, want sup's at 12 s and on the whole call", list.Notes)
	}
	if es := entries(e, before, audit.ActionNote); len(es) != 2 || es[0].Actor != "sup" || es[0].Target != ids[0] {
		t.Errorf("got note entries %+v, want two by sup on the recording", es)
	}

	// The page shows the form by /me's can.note: an auditor's says no.
	var me apiclient.Me
	if res, b := e.send("aud", http.MethodGet, "/api/v1/me", nil); res.StatusCode != 200 || json.Unmarshal(b, &me) != nil || me.Can.Note {
		t.Errorf("auditor's /me: got %d %s, want can.note false", res.StatusCode, b)
	}
	if !eval[bool](p, `state.me.can.note`) {
		t.Error("the supervisor's page has can.note false")
	}
	p.shot("note-added.png")
}
