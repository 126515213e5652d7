// Kiroku web UI: live calls and listen-in (#/live), for supervisors and
// admins. Loaded after app.js, whose helpers (t, el, $, api, request,
// mount, setNav, say, state) it uses. Listening fetches
// /api/v1/calls/{id}/listen with the token in the header (never in a
// URL), reads the streamed WAV with a ReadableStream and plays its PCM
// through Web Audio.
'use strict';

Object.assign(L.en, {
  navLive: 'Live calls', liveTitle: 'Calls in progress', liveCaption: 'Calls in progress', liveRefresh: 'Refresh',
  liveNone: 'No call in progress.', liveAgent: 'Agent', liveRecording: 'Recording', liveListenCol: 'Listen in',
  liveListen: 'Listen', liveListenTo: 'Listen in to the call on line {line}',
  liveReason: 'Reason for listening in (recorded in the audit log)', liveStart: 'Start listening', liveStop: 'Stop',
  liveHeard: 'Received', liveBytes: '{n} bytes', liveListening: 'Listening to the call on line {line}.',
  liveEnded: 'Listening ended: {why}.', liveCallEnded: 'the call ended', liveStopped: 'stopped',
  liveNoReason: 'Give a reason first.', liveFormTitle: 'Listen in',
  liveHint: 'You hear what is being recorded: nothing of a call whose caller has not been notified or opted out, and silence while the recording is paused.',
  'rec-recording': 'Recording', 'rec-paused': 'Paused', 'rec-not-recorded': 'Not recorded', 'rec-': '—',
  'phase-notice': 'Notice playing', 'phase-dialing': 'Dialling the agent', 'phase-bridged': 'Connected', 'phase-ended': 'Ended',
  'dec-': 'Not decided yet',
});
Object.assign(L.ja, {
  navLive: '通話中', liveTitle: '通話中の呼', liveCaption: '通話中の呼', liveRefresh: '更新',
  liveNone: '通話中の呼はありません。', liveAgent: 'オペレーター', liveRecording: '録音', liveListenCol: 'モニタリング',
  liveListen: '聴く', liveListenTo: '回線 {line} の通話を聴く',
  liveReason: 'モニタリングの理由（監査ログに記録されます）', liveStart: '聴き始める', liveStop: '停止',
  liveHeard: '受信', liveBytes: '{n} バイト', liveListening: '回線 {line} の通話を聴いています。',
  liveEnded: 'モニタリング終了: {why}。', liveCallEnded: '通話が終わりました', liveStopped: '停止しました',
  liveNoReason: '先に理由を入力してください。', liveFormTitle: 'モニタリング',
  liveHint: '聴けるのは録音されている音声だけです。案内前や録音拒否の通話は聴けず、録音の一時停止中は無音です。',
  'rec-recording': '録音中', 'rec-paused': '一時停止中', 'rec-not-recorded': '録音なし', 'rec-': '—',
  'phase-notice': '案内中', 'phase-dialing': 'オペレーター呼出中', 'phase-bridged': '通話中', 'phase-ended': '終了',
  'dec-': '未決定',
});
auditActions.push('listen', 'listen-end');

const liveTemplate = `
  <h1 data-i18n="liveTitle">Calls in progress</h1>
  <div class="actions"><button type="button" id="live-refresh" data-i18n="liveRefresh">Refresh</button></div>
  <div class="scroll">
  <table id="live-calls" class="grid" hidden>
    <caption data-i18n="liveCaption">Calls in progress</caption>
    <thead><tr>
      <th scope="col" data-i18n="line">Line</th><th scope="col" data-i18n="purpose">Purpose</th>
      <th scope="col" data-i18n="duration">Duration</th><th scope="col" data-i18n="liveAgent">Agent</th>
      <th scope="col" data-i18n="decision">Consent decision</th><th scope="col" data-i18n="liveRecording">Recording</th>
      <th scope="col" data-i18n="liveListenCol">Listen in</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <p id="live-none" data-i18n="liveNone" hidden>No call in progress.</p>
  <section class="card" id="live-listen" aria-labelledby="h-live-listen" hidden>
    <h2 id="h-live-listen" data-i18n="liveFormTitle">Listen in</h2>
    <p class="hint" data-i18n="liveHint"></p>
    <form id="live-form">
      <label for="live-reason" data-i18n="liveReason">Reason for listening in (recorded in the audit log)</label>
      <input id="live-reason" name="reason" required maxlength="500" autocomplete="off">
      <div class="actions">
        <button type="submit" id="live-start" data-i18n="liveStart">Start listening</button>
        <button type="button" id="live-stop" data-i18n="liveStop" disabled>Stop</button>
      </div>
    </form>
    <p><span data-i18n="liveHeard">Received</span>: <span id="live-bytes" data-bytes="0">0</span></p>
  </section>`;

// live holds the page's listening, if any.
const live = { calls: [], fetched: 0, call: null, abort: null, ctx: null, next: 0, bytes: 0, tick: null };

function canLive() { return !!(state.me && state.me.can.calls); }

function liveStopAudio() {
  if (live.abort) { live.abort.abort(); live.abort = null; }
  if (live.ctx) { live.ctx.close().catch(() => {}); live.ctx = null; }
}

// liveDuration is how long call c has lasted now.
function liveDuration(c) { return c.duration_seconds + (Date.now() - live.fetched) / 1000; }

function showLiveCalls(main) {
  const table = $('#live-calls', main);
  const rows = live.calls.map((c) => {
    const tr = el('tr');
    tr.dataset.id = c.id;
    const listen = el('td');
    if (c.listenable) {
      const b = el('button', t('liveListen'), { type: 'button', 'aria-label': t('liveListenTo', { line: c.line }) });
      b.addEventListener('click', () => liveChoose(main, c));
      listen.append(b);
    } else {
      listen.textContent = '—';
    }
    tr.append(el('td', c.line), el('td', c.purpose), el('td', fmtDuration(liveDuration(c)), { class: 'live-duration' }),
      el('td', c.agent_id || '—'), el('td', t('dec-' + (c.consent || ''))), el('td', t('rec-' + (c.recording || ''))), listen);
    return tr;
  });
  $('tbody', table).replaceChildren(...rows);
  table.hidden = rows.length === 0;
  $('#live-none', main).hidden = rows.length !== 0;
}

async function liveLoad(main, view) {
  try {
    const res = await api('/api/v1/calls');
    if (view !== state.view) return;
    live.calls = res.calls; live.fetched = Date.now();
    showLiveCalls(main);
  } catch (e) {
    if (e.status !== 401) say(e.message, true);
  }
}

function liveChoose(main, c) {
  live.call = c;
  const sec = $('#live-listen', main);
  sec.hidden = false;
  $('#h-live-listen', main).textContent = t('liveListenTo', { line: c.line });
  $('#live-reason', main).focus();
}

function liveSetBytes(main, n) {
  live.bytes = n;
  const b = $('#live-bytes', main);
  if (!b) return;
  b.dataset.bytes = String(n);
  b.textContent = t('liveBytes', { n: n.toLocaleString(state.lang === 'ja' ? 'ja-JP' : 'en-GB') });
}

// livePlay schedules one block of 16-bit little-endian PCM.
function livePlay(pcm, rate, channels) {
  if (!live.ctx) return;
  const frames = Math.floor(pcm.length / (2 * channels));
  if (frames === 0) return;
  const buf = live.ctx.createBuffer(channels, frames, rate);
  const view = new DataView(pcm.buffer, pcm.byteOffset, frames * 2 * channels);
  for (let ch = 0; ch < channels; ch++) {
    const out = buf.getChannelData(ch);
    for (let i = 0; i < frames; i++) out[i] = view.getInt16((i * channels + ch) * 2, true) / 32768;
  }
  const src = live.ctx.createBufferSource();
  src.buffer = buf;
  src.connect(live.ctx.destination);
  live.next = Math.max(live.next, live.ctx.currentTime + 0.3); // a little slack against jitter
  src.start(live.next);
  live.next += buf.duration;
}

async function liveListen(main, view, c, reason) {
  liveStopAudio();
  const abort = new AbortController();
  live.abort = abort;
  try { live.ctx = new AudioContext(); live.next = 0; } catch (_) { live.ctx = null; /* no audio output: the bytes still count */ }
  liveSetBytes(main, 0);
  $('#live-start', main).disabled = true;
  $('#live-stop', main).disabled = false;
  let why = t('liveCallEnded');
  try {
    const res = await fetch('/api/v1/calls/' + c.id + '/listen', {
      headers: { Authorization: 'Bearer ' + state.token, 'X-Kiroku-Reason': encodeURIComponent(reason) },
      cache: 'no-store', signal: abort.signal });
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch (_) { /* not JSON */ }
      throw new Error((body && body.error) || res.statusText);
    }
    sayT('liveListening', { line: c.line });
    const reader = res.body.getReader();
    let head = new Uint8Array(0); let rate = 8000; let channels = 2; let rest = new Uint8Array(0); let n = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (view !== state.view) { abort.abort(); break; }
      n += value.length;
      liveSetBytes(main, n);
      let data = value;
      if (head.length < 44) {
        const need = 44 - head.length;
        head = Uint8Array.from([...head, ...value.subarray(0, need)]);
        data = value.subarray(need);
        if (head.length === 44) {
          const dv = new DataView(head.buffer);
          channels = dv.getUint16(22, true); rate = dv.getUint32(24, true);
        }
      }
      if (rest.length) { const m = new Uint8Array(rest.length + data.length); m.set(rest); m.set(data, rest.length); data = m; }
      const whole = data.length - (data.length % (2 * channels));
      livePlay(data.subarray(0, whole), rate, channels);
      rest = data.slice(whole);
    }
  } catch (e) {
    why = e.name === 'AbortError' ? t('liveStopped') : e.message;
  }
  if (live.abort === abort) {
    liveStopAudio();
    if (view === state.view) {
      $('#live-start', main).disabled = false;
      $('#live-stop', main).disabled = true;
      sayT('liveEnded', { why }, why !== t('liveCallEnded') && why !== t('liveStopped'));
      liveLoad(main, view);
    }
  }
}

function renderLive() {
  setNav('live');
  liveStopAudio();
  const main = mount('#tpl-live');
  const view = state.view;
  live.call = null;
  $('#live-refresh', main).addEventListener('click', () => liveLoad(main, view));
  $('#live-form', main).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const reason = $('#live-reason', main).value.trim();
    if (!reason) { sayT('liveNoReason', null, true); return; }
    if (live.call) liveListen(main, view, live.call, reason);
  });
  $('#live-stop', main).addEventListener('click', () => { if (live.abort) live.abort.abort(); });
  clearInterval(live.tick);
  live.tick = setInterval(() => {
    if (view !== state.view) { clearInterval(live.tick); return; }
    main.querySelectorAll('#live-calls tbody tr').forEach((tr) => {
      const c = live.calls.find((x) => x.id === tr.dataset.id);
      if (c) $('.live-duration', tr).textContent = fmtDuration(liveDuration(c));
    });
  }, 1000);
  state.redraw = () => { showLiveCalls(main); if (live.call) $('#h-live-listen', main).textContent = t('liveListenTo', { line: live.call.line }); liveSetBytes(main, live.bytes); };
  liveLoad(main, view);
}

// A deferred script runs once the document is parsed, before
// DOMContentLoaded, when app.js renders the first page.
(() => {
  const tpl = document.createElement('template');
  tpl.id = 'tpl-live';
  tpl.innerHTML = liveTemplate;
  document.body.append(tpl);
  const a = el('a', t('navLive'), { href: '#/live', id: 'nav-live', 'data-i18n': 'navLive' });
  a.hidden = true;
  $('#nav').append(a);
})();

pages.push({ match: (hash) => hash === '#/live' && canLive(), render: renderLive,
  nav: () => { const a = $('#nav-live'); if (a) a.hidden = !canLive(); } });
