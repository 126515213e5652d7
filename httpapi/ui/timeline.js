// Kiroku web UI: the call's timeline under the player. Loaded after
// app.js, whose helpers (t, el, $, api, state, L) it uses. Everything
// drawn comes from the recording detail (its manifest) and the
// recording's notes; times are seconds from the start of the audio,
// negative before it (the notice), computed from the timestamps where
// the manifest has no offset. The list under the drawing says the same
// in text; a mark (a button) seeks the player to its time.
'use strict';

Object.assign(L.en, {
  tlTitle: 'Timeline', tlEvents: 'Events, in order (time from the start of the audio)',
  tlTrack: 'Call timeline: notice, agents, holds, pauses, notes and the end. Buttons seek the player.',
  tlNoticeStart: 'Notice started', tlNoticeEnd: 'Notice ended', tlConsent: 'Consent: {d}',
  tlAnswered: 'Call answered', tlAgentAnswer: 'Agent {a} answered', tlTransfer: 'Transferred to {a} ({how})',
  tlPaused: 'Recording paused ({by})', tlResumed: 'Recording resumed', tlEnd: 'Call ended: {r}',
  tlHold: 'On hold ({by})', tlUnhold: 'Off hold ({by})',
  tlNote: 'Note by {a}: {b}', tlWhole: 'whole call', tlSeek: '{what}, at {at}: play from here',
  tlUnknownAgent: '(unnamed)', 'by-dtmf': 'key press', 'by-api': 'API',
  'began-redirect': 'redirect', 'began-refer': 'REFER', 'began-replaces': 'Replaces', 'began-answer': 'answer',
  tlChannels: 'Packets per channel', tlSide: 'Channel', tlPackets: 'Packets', tlLost: 'Lost', tlLate: 'Late', tlGap: 'Gap (ms)',
  'side-caller': 'Caller', 'side-agent': 'Agent', tlNoChannels: 'No packet figures were kept for this recording.',
  ntTitle: 'Add a note', ntText: 'Note (up to 2,000 characters; kept with the recording, destroyed with it)',
  ntHere: 'At the playback position', ntAdd: 'Add the note', ntAdded: 'Note added at {at}.', ntAddedWhole: 'Note added on the whole call.',
  ntEmpty: 'Write the note first.',
});
Object.assign(L.ja, {
  tlTitle: 'タイムライン', tlEvents: '出来事（音声の先頭からの時刻順）',
  tlTrack: '通話のタイムライン: 案内、オペレーター、保留、一時停止、メモ、終了。ボタンで再生位置を移動します。',
  tlNoticeStart: '案内開始', tlNoticeEnd: '案内終了', tlConsent: '同意: {d}',
  tlAnswered: '応答', tlAgentAnswer: 'オペレーター {a} が応答', tlTransfer: '{a} へ転送（{how}）',
  tlPaused: '録音一時停止（{by}）', tlResumed: '録音再開', tlEnd: '通話終了: {r}',
  tlHold: '保留（{by}）', tlUnhold: '保留解除（{by}）',
  tlNote: '{a} のメモ: {b}', tlWhole: '通話全体', tlSeek: '{what}（{at}）: ここから再生',
  tlUnknownAgent: '（名前なし）', 'by-dtmf': 'キー操作', 'by-api': 'API',
  'began-redirect': 'リダイレクト', 'began-refer': 'REFER', 'began-replaces': 'Replaces', 'began-answer': '応答',
  tlChannels: 'チャネルごとのパケット', tlSide: 'チャネル', tlPackets: 'パケット', tlLost: '損失', tlLate: '遅延', tlGap: '欠落（ミリ秒）',
  'side-caller': '発信者', 'side-agent': 'オペレーター', tlNoChannels: 'この録音にはパケットの数値が残っていません。',
  ntTitle: 'メモを追加', ntText: 'メモ（2,000 文字まで。録音とともに保管され、録音とともに消去されます）',
  ntHere: '再生位置に付ける', ntAdd: 'メモを追加', ntAdded: '{at} にメモを追加しました。', ntAddedWhole: '通話全体にメモを追加しました。',
  ntEmpty: '先にメモを書いてください。',
});

// fmtOffset writes seconds from the audio start as [−]m:ss.s.
function fmtOffset(sec) {
  const neg = sec < 0;
  const a = Math.round(Math.abs(sec) * 10) / 10;
  const m = Math.floor(a / 60);
  const s = (a - 60 * m).toFixed(1).padStart(4, '0');
  return (neg ? '−' : '') + m + ':' + s;
}

// timelineEvents turns the detail and its notes into spans (from, to)
// and marks (at), each with its text, in time order.
function timelineEvents(rec, notes) {
  const m = rec.manifest || {};
  const r = m.recording || {};
  const zero = Date.parse(r.started_at || m.started_at || rec.started_at);
  const off = (ts) => (ts ? (Date.parse(ts) - zero) / 1000 : null);
  const ev = [];
  const add = (kind, at, text, extra = {}) => { if (at !== null && Number.isFinite(at)) ev.push({ kind, at, text, ...extra }); };
  const c = m.consent || {};
  const n = c.notice || {};
  const ns = off(n.started_at), ne = off(n.ended_at);
  add('notice', ns, t('tlNoticeStart'), { to: ne });
  add('notice-end', ne, t('tlNoticeEnd'));
  if (c.decision) add('consent', c.opt_out ? off(c.opt_out.at) : (ne ?? ns), t('tlConsent', { d: t('dec-' + c.decision) }));
  add('answered', off(m.answered_at), t('tlAnswered'));
  const segs = m.segments || [];
  segs.forEach((s, i) => {
    const who = s.agent_id || t('tlUnknownAgent');
    const text = s.began === 'answer' || i === 0 && !s.began
      ? t('tlAgentAnswer', { a: who }) : t('tlTransfer', { a: who, how: t('began-' + s.began) });
    add('segment', off(s.started_at), text, { to: off(s.ended_at ?? m.ended_at), agent: who, n: i });
  });
  for (const p of r.paused || []) {
    const from = p.start_offset_seconds ?? off(p.start);
    const to = p.end_offset_seconds ?? off(p.end) ?? r.duration_seconds; // still paused at the end: to the end of the audio
    add('pause', from, t('tlPaused', { by: t('by-' + p.by) }), { to });
    if (p.end) add('resume', to, t('tlResumed'));
  }
  for (const h of m.holds || []) {
    const to = off(h.end) ?? off(m.ended_at || rec.ended_at); // still on hold at the end
    add('hold', off(h.start), t('tlHold', { by: t('side-' + h.by) }), { to });
    if (h.end) add('unhold', to, t('tlUnhold', { by: t('side-' + h.by) }));
  }
  add('end', off(m.ended_at || rec.ended_at), t('tlEnd', { r: t('end-' + (m.end_reason || rec.end_reason)) }));
  for (const x of notes) {
    const text = t('tlNote', { a: x.author, b: x.body });
    if (x.at === null || x.at === undefined) ev.push({ kind: 'note', at: null, text });
    else add('note', x.at, text, { seek: true });
  }
  // Stable: equal times keep the order above (notice before consent).
  return ev.sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity));
}

// lossFigures is the per-channel table: packets, lost (with its share
// of the packets expected), late and the audio missing.
function lossFigures(rec) {
  const chans = ((rec.manifest || {}).recording || {}).channels || [];
  if (!chans.length) return el('p', t('tlNoChannels'), { id: 'tl-nochannels' });
  const tbl = el('table', '', { id: 'tl-channels', class: 'grid' });
  tbl.append(el('caption', t('tlChannels')));
  const head = el('tr');
  for (const k of ['tlSide', 'tlPackets', 'tlLost', 'tlLate', 'tlGap']) head.append(el('th', t(k), { scope: 'col' }));
  tbl.append(el('thead'));
  tbl.tHead.append(head);
  const body = el('tbody');
  for (const ch of chans) {
    const expected = ch.packets + ch.lost;
    const pct = expected ? (100 * ch.lost / expected).toFixed(1) : '0.0';
    const tr = el('tr', '', { 'data-side': ch.side });
    tr.append(el('th', t('side-' + ch.side) || ch.side, { scope: 'row' }), el('td', String(ch.packets)),
      el('td', ch.lost + ' (' + pct + ' %)'), el('td', String(ch.late)), el('td', String(ch.gap_ms)));
    body.append(tr);
  }
  tbl.append(body);
  const box = el('div', '', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': t('tlChannels') });
  box.append(tbl);
  return box;
}

// showTimeline draws the timeline into #timeline: the track (spans and
// marks placed by their share of the call) and the event list.
async function showTimeline(main, rec) {
  const box = $('#timeline', main);
  if (!box) return;
  const view = state.view;
  let notes = [];
  try {
    notes = (await api('/api/v1/recordings/' + encodeURIComponent(rec.id) + '/notes')).notes || [];
  } catch (e) {
    // no notes shown (refused or failed): the rest of the timeline stands
  }
  if (view !== state.view) return;
  drawTimeline(main, box, rec, notes);
  state.redraw = () => drawTimeline(main, box, rec, notes); // in the other language, notes not fetched again
  if (state.me.can.note && !$('#note-form', main)) box.after(noteForm(main, box, rec, (n) => { notes = n; }));
}

// noteForm is the form that adds a note to rec, at the playback position
// or on the whole call, for the roles that write notes; once added the
// timeline is drawn again with the notes as they are now (set hands
// them to the redraw).
function noteForm(main, box, rec, set) {
  const audio = $('#audio', main);
  const form = el('form', '', { id: 'note-form', class: 'note-form' });
  const text = el('textarea', '', { id: 'note-text', name: 'body', maxlength: '2000', rows: '3' });
  const here = el('input', '', { id: 'note-here', type: 'checkbox' });
  here.checked = true;
  const pos = el('span', fmtOffset(0), { id: 'note-pos', class: 'hint' });
  const add = el('button', t('ntAdd'), { type: 'submit', id: 'note-add', 'data-i18n': 'ntAdd' });
  const hereRow = el('div', '', { class: 'note-here' });
  hereRow.append(here, el('label', t('ntHere'), { for: 'note-here', 'data-i18n': 'ntHere' }), document.createTextNode(' '), pos);
  form.append(el('h3', t('ntTitle'), { 'data-i18n': 'ntTitle' }), el('label', t('ntText'), { for: 'note-text', 'data-i18n': 'ntText' }),
    text, hereRow, add);
  audio.addEventListener('timeupdate', () => { pos.textContent = fmtOffset(audio.currentTime || 0); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = text.value.trim();
    if (!body) { sayT('ntEmpty', null, true); text.focus(); return; }
    const at = here.checked ? Math.round((audio.currentTime || 0) * 10) / 10 : undefined;
    const view = state.view;
    add.disabled = true;
    try {
      await api('/api/v1/recordings/' + encodeURIComponent(rec.id) + '/notes', { method: 'POST', body: { at, body } });
      const notes = (await api('/api/v1/recordings/' + encodeURIComponent(rec.id) + '/notes')).notes || [];
      if (view !== state.view) return;
      set(notes);
      text.value = '';
      drawTimeline(main, box, rec, notes);
      state.redraw = () => drawTimeline(main, box, rec, notes);
      if (at === undefined) sayT('ntAddedWhole'); else sayT('ntAdded', { at: fmtOffset(at) });
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
    } finally {
      add.disabled = false;
    }
  });
  return form;
}

function drawTimeline(main, box, rec, notes) {
  const evs = timelineEvents(rec, notes);
  const timed = evs.filter((e) => e.at !== null);
  const dur = ((rec.manifest || {}).recording || {}).duration_seconds || rec.duration_seconds || 0;
  const lo = Math.min(0, ...timed.map((e) => e.at));
  const hi = Math.max(dur, ...timed.map((e) => e.to ?? e.at), lo + 1);
  const pct = (s) => (100 * (s - lo) / (hi - lo)) + '%';
  const audio = $('#audio', main);
  const seek = (at) => {
    audio.currentTime = Math.max(0, at);
    audio.dispatchEvent(new Event('timeupdate'));
  };
  const track = el('div', '', { id: 'tl-track', class: 'tl-track', role: 'group', 'aria-label': t('tlTrack') });
  if (lo < 0) {
    const pre = el('div', '', { class: 'tl-pre', 'aria-hidden': 'true' });
    pre.style.left = '0';
    pre.style.width = pct(0);
    track.append(pre);
  }
  for (const e of timed) {
    if (e.to === undefined || e.to === null) continue;
    const span = el('div', e.kind === 'segment' ? e.agent : '', { class: 'tl-span tl-' + e.kind + (e.kind === 'segment' ? ' tl-seg' + (e.n % 2) : ''), title: e.text, 'aria-hidden': 'true' });
    span.style.left = pct(e.at);
    span.style.width = 'calc(' + pct(e.to) + ' - ' + pct(e.at) + ')';
    track.append(span);
  }
  for (const e of timed) {
    if (!['consent', 'end', 'note'].includes(e.kind) && !(e.kind === 'segment')) continue;
    const label = t('tlSeek', { what: e.text, at: fmtOffset(e.at) });
    const b = el('button', '', { type: 'button', class: 'tl-mark tl-m-' + e.kind, 'aria-label': label, title: label, 'data-at': String(e.at) });
    b.dataset.kind = e.kind;
    b.style.left = pct(e.at);
    b.addEventListener('click', () => seek(e.at));
    track.append(b);
  }
  const list = el('ol', '', { id: 'tl-events', class: 'tl-events' });
  for (const e of evs) {
    const li = el('li', '', { 'data-kind': e.kind });
    li.append(el('time', e.at === null ? t('tlWhole') : fmtOffset(e.at)), document.createTextNode(' ' + e.text));
    list.append(li);
  }
  box.replaceChildren(el('h3', t('tlTitle'), { id: 'h-timeline' }), track, el('p', t('tlEvents'), { class: 'hint', id: 'tl-events-label' }), list, lossFigures(rec));
  list.setAttribute('aria-labelledby', 'tl-events-label');
  box.hidden = false;
}
