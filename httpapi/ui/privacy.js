// Kiroku web UI: the privacy officer's pages — data-subject requests
// (create, disclose, correct, stop and resume use, erase after
// confirming its plan, refuse), the retention plan with the recordings
// each purpose loses next, and legal holds (list, bulk hold).
// Loaded after app.js and uses its helpers (L, state, $, t, el, api,
// request, say, fmtTime, setNav, dl).
'use strict';

Object.assign(L.en, {
  navRequests: 'Requests', navRetention: 'Retention', navHolds: 'Holds',
  reqTitle: 'Data-subject requests', reqNew: 'New request', reqKind: 'Kind', reqCallers: 'Caller numbers (one a line)',
  reqRequester: 'Requester (the person or their agent)', reqVerification: 'How the identity was verified (document and reference)',
  reqVerified: 'Verification', reqVerificationHint: 'Required: a request is taken only once the person is verified. Never the document itself.',
  reqCreate: 'Create the request', reqCreated: 'Request {id} created.', reqList: 'Requests', reqNone: 'No requests yet.',
  reqReceived: 'Received', reqOutcome: 'Outcome', reqOpen: 'Open', reqOperator: 'Operator', reqAnswered: 'Answered',
  reqResult: 'Result', reqBack: 'Back to the requests', reqDetail: 'Request',
  'kind-disclosure': 'Disclosure', 'kind-correction': 'Correction', 'kind-stop-of-use': 'Stop of use',
  'kind-resume-use': 'Resume use', 'kind-erasure': 'Erasure', 'kind-stop-third-party-provision': 'Stop third-party provision',
  'out-answered': 'Answered', 'out-refused': 'Refused',
  reqDisclose: 'Disclose and download the ZIP', reqDiscloseAgain: 'Download the ZIP again',
  reqDiscloseHint: 'Each download is written to the audit log.',
  reqCorrectField: 'Field', reqCorrectValue: 'New value', reqCorrect: 'Correct',
  reqStopUse: 'Stop the use', reqResumeUse: 'Resume the use', reqStopProvision: 'Stop third-party provision',
  reqDone: 'Done: {what}.', reqRefuseReason: 'Reason for refusing', reqRefuse: 'Refuse the request', reqRefused: 'The request is refused.',
  reqAnswer: 'Answer', reqChanged: 'Recordings changed ({n})', reqChangedNone: 'None: no stored recording of these numbers was changed.',
  reqRefusedBecause: 'Refused because', reqEventsDropped: 'Webhook events not sent', reqLater: 'Recordings not stored yet',
  'later-stop-of-use': 'Stored restricted when they arrive (each audited with this request).',
  'later-resume-use': 'Stored usable when they arrive.', reqProvisionEffect: 'Effect',
  provisionStopped: 'Every provision to a third party of these numbers\' recordings is refused from now on.',
  reqConfirmStopUse: 'I have checked the numbers: restrict the use of every recording of {callers}',
  reqConfirmStopProvision: 'I have checked the numbers: refuse every provision of the recordings of {callers} to third parties',
  reqConfirmRefuse: 'Refuse this request for good: it can no longer be answered',
  reqCorrectHint: 'Sets the field on every stored recording of the request\'s numbers; the audit log keeps the value before and after.',
  erHoldReason: 'Why it is held', erPlan: 'Erasure plan', erShowPlan: 'Show what the erasure destroys', erDestroy: 'To be destroyed ({n})',
  erHeld: 'Kept: under legal hold ({n})', erNone: 'None.', erNotStored: 'Not yet stored', erConfirmBox: 'I have checked the list: destroy these {n} recordings for good',
  erErase: 'Erase', erErased: 'Erased: {n} recordings destroyed, {h} kept under hold.', erStale: 'The plan changed; here it is as it is now. Check it again.',
  withAudio: 'with audio', manifestOnly: 'manifest only',
  retTitle: 'Retention plan', retPurpose: 'Purpose', retClient: 'Client', retStored: 'Stored', retDue: 'Due now', retHeld: 'Held',
  retOldest: 'Oldest kept', retNext: 'Recordings each purpose loses next', retNextOf: '{purpose}: the next {n} to go',
  retUntil: 'Retained until', retNoNext: 'Nothing stored that a purge would delete.', retPurge: 'Purge now',
  retPurgeReason: 'Reason for the purge', retPurged: 'Purge: {d} deleted, {h} held, {f} failed.',
  retPreview: 'Preview a changed limit', retPreviewLimit: 'New retention limit', retPreviewHint: 'Such as 30d, 12w, 6m or 1y. Nothing is changed: the limit itself is set in the configuration.',
  retPreviewDo: 'Preview', retNewUntil: 'Retained until, with the new limit',
  retPreviewSays: '{p}: {from} → {to}. Of {n} stored, {e} would be kept less long, {l} longer, {u} unchanged; {d} would be due at once ({h} of them held, so kept).',
  retPreviewNone: 'None would be due at once.',
  holdsTitle: 'Legal holds', holdsList: 'Recordings under legal hold', holdsNone: 'No recording is held.',
  bulkTitle: 'Hold recordings in bulk', bulkCaller: 'Caller number', bulkFrom: 'From', bulkTo: 'To',
  bulkReason: 'Reason (kept in the audit log)', bulkHint: 'Give a caller number, a time range, or both.',
  bulkOn: 'Hold', bulkOff: 'Release', bulkDo: 'Apply', bulkResult: '{n} recordings changed.',
  bulkZone: 'Times in {zone} (the time zone setting above).', bulkRange: 'Started from {from} until before {to}.',
  bulkBadTime: 'A time is not a date and time such as 2026-11-05 09:30.',
});

Object.assign(L.ja, {
  navRequests: '本人請求', navRetention: '保存期間', navHolds: 'リーガルホールド',
  reqTitle: '本人からの請求', reqNew: '新しい請求', reqKind: '種類', reqCallers: '発信者番号（1行に1件）',
  reqRequester: '請求者（本人または代理人）', reqVerification: '本人確認の方法（書類と控え番号）',
  reqVerified: '本人確認', reqVerificationHint: '必須：本人確認が済んだ請求だけを受け付けます。書類そのものは記録しないでください。',
  reqCreate: '請求を登録', reqCreated: '請求 {id} を登録しました。', reqList: '請求一覧', reqNone: '請求はまだありません。',
  reqReceived: '受付日時', reqOutcome: '結果', reqOpen: '未対応', reqOperator: '担当者', reqAnswered: '回答日時',
  reqResult: '回答内容', reqBack: '請求一覧に戻る', reqDetail: '請求',
  'kind-disclosure': '開示', 'kind-correction': '訂正', 'kind-stop-of-use': '利用停止',
  'kind-resume-use': '利用再開', 'kind-erasure': '消去', 'kind-stop-third-party-provision': '第三者提供の停止',
  'out-answered': '回答済み', 'out-refused': '拒否',
  reqDisclose: '開示して ZIP をダウンロード', reqDiscloseAgain: 'ZIP をもう一度ダウンロード',
  reqDiscloseHint: 'ダウンロードのたびに監査ログに記録されます。',
  reqCorrectField: '項目', reqCorrectValue: '新しい値', reqCorrect: '訂正する',
  reqStopUse: '利用を停止', reqResumeUse: '利用を再開', reqStopProvision: '第三者提供を停止',
  reqDone: '完了：{what}', reqRefuseReason: '拒否の理由', reqRefuse: '請求を拒否', reqRefused: '請求を拒否しました。',
  reqAnswer: '回答', reqChanged: '変更した録音（{n} 件）', reqChangedNone: 'なし：この番号の保存済み録音で変更したものはありません。',
  reqRefusedBecause: '拒否の理由', reqEventsDropped: '送らなかった Webhook イベント', reqLater: 'まだ保存されていない録音',
  'later-stop-of-use': '保存時に利用停止の状態で保存します（それぞれこの請求とともに監査ログに記録）。',
  'later-resume-use': '保存時に通常どおり利用できる状態で保存します。', reqProvisionEffect: '効果',
  provisionStopped: 'この番号の録音の第三者提供は、今後すべて拒否されます。',
  reqConfirmStopUse: '番号を確認しました：{callers} のすべての録音の利用を停止します',
  reqConfirmStopProvision: '番号を確認しました：{callers} の録音の第三者提供をすべて拒否します',
  reqConfirmRefuse: 'この請求を拒否します。拒否した請求には、あとから回答できません',
  reqCorrectHint: '請求の番号の保存済み録音すべてにこの項目を設定します。変更前と変更後の値は監査ログに残ります。',
  erHoldReason: '保全の理由', erPlan: '消去計画', erShowPlan: '消去されるものを表示', erDestroy: '消去されるもの（{n} 件）',
  erHeld: '保持されるもの：リーガルホールド中（{n} 件）', erNone: 'なし。', erNotStored: '未保存', erConfirmBox: '一覧を確認しました：この {n} 件の録音を完全に消去します',
  erErase: '消去する', erErased: '消去しました：{n} 件を消去、{h} 件はホールドにより保持。', erStale: '計画が変わりました。現在の計画を確認し直してください。',
  withAudio: '音声あり', manifestOnly: 'マニフェストのみ',
  retTitle: '保存期間の計画', retPurpose: '利用目的', retClient: 'クライアント', retStored: '保存数', retDue: '期限到来', retHeld: 'ホールド',
  retOldest: '最古の保存', retNext: '各利用目的で次に消える録音', retNextOf: '{purpose}：次に消える {n} 件',
  retUntil: '保存期限', retNoNext: '削除の対象になる録音はありません。', retPurge: '今すぐ削除を実行',
  retPurgeReason: '削除の理由', retPurged: '削除：{d} 件削除、{h} 件ホールド、{f} 件失敗。',
  retPreview: '保存期間の変更を試算', retPreviewLimit: '新しい保存期間', retPreviewHint: '30d、12w、6m、1y など。何も変更しません。保存期間そのものは設定で変えます。',
  retPreviewDo: '試算', retNewUntil: '新しい期間での保存期限',
  retPreviewSays: '{p}：{from} → {to}。保存中の {n} 件のうち、{e} 件は短く、{l} 件は長く、{u} 件は変わりません。{d} 件がすぐに期限到来になります（うち {h} 件はホールド中のため保存）。',
  retPreviewNone: 'すぐに期限到来になる録音はありません。',
  holdsTitle: 'リーガルホールド', holdsList: 'リーガルホールド中の録音', holdsNone: 'ホールド中の録音はありません。',
  bulkTitle: '一括ホールド', bulkCaller: '発信者番号', bulkFrom: '開始', bulkTo: '終了',
  bulkReason: '理由（監査ログに残ります）', bulkHint: '発信者番号、期間、またはその両方を指定してください。',
  bulkOn: 'ホールド', bulkOff: '解除', bulkDo: '適用', bulkResult: '{n} 件の録音を変更しました。',
  bulkZone: '時刻は {zone}（上のタイムゾーン設定）で入力します。', bulkRange: '対象：開始日時が {from} から {to} より前まで。',
  bulkBadTime: '時刻が 2026-11-05 09:30 のような日時ではありません。',
});

const privacyKinds = ['disclosure', 'correction', 'stop-of-use', 'resume-use', 'erasure', 'stop-third-party-provision'];

function hasRole(...roles) { return !!state.me && roles.some((r) => state.me.roles.includes(r)); }
const canRequests = () => hasRole('privacy-officer');
const canRetention = () => hasRole('privacy-officer', 'auditor', 'admin');
const canPurge = () => hasRole('privacy-officer', 'admin');
const canBulkHold = () => hasRole('privacy-officer');

// privacyNav shows the nav entries the token's roles open.
function privacyNav() {
  $('#nav-requests').hidden = !canRequests();
  $('#nav-retention').hidden = !canRetention();
  $('#nav-holds').hidden = !canBulkHold();
}

// page mounts an empty page titled key and returns its main element.
function privacyPage(nav, key) {
  setNav(nav);
  const main = $('#main');
  state.view++;
  state.redraw = null;
  main.replaceChildren(el('h1', t(key), { 'data-i18n': key }));
  main.focus();
  return main;
}

// field is a labelled input (or the given control) in a div.
function field(id, key, control, hint) {
  const d = el('div');
  control.id = id;
  d.append(el('label', t(key), { for: id, 'data-i18n': key }), control);
  if (hint) {
    const h = el('p', t(hint), { class: 'hint', id: id + '-hint', 'data-i18n': hint });
    control.setAttribute('aria-describedby', h.id);
    d.append(h);
  }
  return d;
}

function button(key, attrs = {}) {
  return el('button', t(key), Object.assign({ type: 'button', 'data-i18n': key }, attrs));
}

function section(key) {
  const s = el('section', null, { class: 'card' });
  s.append(el('h2', t(key), { 'data-i18n': key }));
  return s;
}

// table builds a scrollable table with header keys and rows of cells
// (strings or elements).
function table(id, caption, heads, rows) {
  // Focusable, so a keyboard scrolls a table wider than the screen.
  const wrap = el('div', null, { class: 'scroll', tabindex: '0' });
  const tb = el('table', null, { class: 'grid', id });
  if (caption) tb.append(el('caption', caption));
  const tr = el('tr');
  for (const h of heads) tr.append(el('th', t(h), { scope: 'col', 'data-i18n': h }));
  tb.append(el('thead'), el('tbody'));
  tb.tHead.append(tr);
  for (const r of rows) {
    const row = el('tr');
    for (const c of r) {
      const td = el('td');
      if (c instanceof Node) td.append(c); else td.textContent = c === undefined || c === null ? '' : String(c);
      row.append(td);
    }
    tb.tBodies[0].append(row);
  }
  wrap.append(tb);
  return wrap;
}

function failed(e) { if (e.status !== 401) say(e.message, true); }

// busy disables btn while fn runs.
async function busy(btn, fn) {
  btn.disabled = true;
  try { await fn(); } catch (e) { failed(e); } finally { btn.disabled = false; }
}

function recLink(id) { return el('a', id, { href: '#/recordings/' + id }); }

// ---- requests ----

async function renderRequests() {
  const main = privacyPage('requests', 'reqTitle');
  const view = state.view;
  const form = el('form', null, { id: 'req-form', class: 'card filters' });
  const kind = el('select', null, { name: 'kind', required: '' });
  for (const k of privacyKinds) kind.append(el('option', t('kind-' + k), { value: k, 'data-i18n': 'kind-' + k }));
  const callers = el('textarea', null, { name: 'callers', rows: '2', required: '', inputmode: 'tel', autocomplete: 'off' });
  const requester = el('input', null, { name: 'requester', required: '', maxlength: '200', autocomplete: 'off' });
  const verification = el('input', null, { name: 'verification', required: '', maxlength: '500', autocomplete: 'off' });
  const create = el('button', t('reqCreate'), { type: 'submit', id: 'req-create', 'data-i18n': 'reqCreate' });
  form.append(el('h2', t('reqNew'), { 'data-i18n': 'reqNew' }), field('req-kind', 'reqKind', kind), field('req-callers', 'reqCallers', callers),
    field('req-requester', 'reqRequester', requester), field('req-verification', 'reqVerification', verification, 'reqVerificationHint'), create);
  const list = el('section', null, { id: 'req-list' });
  main.append(form, list);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(create, async () => {
      const body = { kind: kind.value, callers: callers.value.split(/[\s,]+/).filter(Boolean),
        requester: requester.value.trim(), verification: verification.value.trim() };
      const r = await api('/api/v1/requests', { method: 'POST', body });
      sayT('reqCreated', { id: r.id });
      location.hash = '#/requests/' + r.id;
    });
  });
  let res;
  try { res = await api('/api/v1/requests'); } catch (e) { if (view === state.view) failed(e); return; }
  if (view !== state.view) return;
  const show = () => {
    const rows = res.requests.map((q) => [el('a', q.id, { href: '#/requests/' + q.id }), t('kind-' + q.kind), fmtTime(q.received_at),
      q.requester, q.outcome ? t('out-' + q.outcome) : t('reqOpen')]);
    list.replaceChildren(el('h2', t('reqList')),
      rows.length ? table('req-table', '', ['id', 'reqKind', 'reqReceived', 'reqRequester', 'reqOutcome'], rows) : el('p', t('reqNone')));
  };
  show();
  state.redraw = show;
}

// answerRows are the rows of a request's answer: what it changed, why
// it was refused; what the page has no words for as the API wrote it.
function answerRows(q) {
  let r = q.result;
  if (typeof r === 'string') { try { r = JSON.parse(r); } catch (_) { r = { result: r }; } }
  r = Object.assign({}, r || {});
  const rows = [];
  if (q.outcome === 'refused' && r.reason) rows.push(['reqRefusedBecause', r.reason]);
  delete r.reason;
  if (Array.isArray(r.recordings)) {
    const ul = el('ul', null, { id: 'req-changed' });
    for (const id of r.recordings) { const li = el('li'); li.append(recLink(id)); ul.append(li); }
    rows.push(['reqChanged', r.recordings.length ? ul : t('reqChangedNone'), { n: r.recordings.length }]);
    delete r.recordings;
  }
  if (r.not_yet_stored) rows.push(['reqLater', t('later-' + q.kind)]);
  delete r.not_yet_stored;
  if (r.events_dropped) rows.push(['reqEventsDropped', String(r.events_dropped)]);
  delete r.events_dropped;
  if (q.kind === 'stop-third-party-provision' && r.effect) { rows.push(['reqProvisionEffect', t('provisionStopped')]); delete r.effect; }
  if (Object.keys(r).length) rows.push(['reqResult', JSON.stringify(r)]);
  return rows;
}

// confirmed is a checkbox labelled key that enables btn only while it
// is ticked: the step before an act that restricts or refuses.
function confirmed(id, key, vars, btn) {
  const box = el('input', null, { type: 'checkbox', id });
  const lab = el('label', t(key, vars), { for: id, class: 'inline', 'data-tkey': key, 'data-tvars': JSON.stringify(vars) });
  btn.disabled = true;
  box.addEventListener('change', () => { btn.disabled = !box.checked; });
  const d = el('div', null, { class: 'confirm' });
  d.append(box, lab);
  return d;
}

async function renderRequest(id) {
  const main = privacyPage('requests', 'reqDetail');
  const view = state.view;
  let q;
  try { q = await api('/api/v1/requests/' + id); } catch (e) { if (view === state.view) failed(e); return; }
  if (view !== state.view) return;
  const meta = el('dl', null, { id: 'req-meta' });
  const answer = el('section', null, { id: 'req-answer', class: 'card' });
  const acts = el('section', null, { id: 'req-actions', class: 'card' });
  const back = el('p');
  back.append(el('a', t('reqBack'), { href: '#/requests', 'data-i18n': 'reqBack' }));
  main.append(back, meta, answer, acts);
  const show = () => {
    dl(meta, [['id', q.id], ['reqKind', t('kind-' + q.kind)], ['caller', (q.callers || []).join(', ')], ['reqRequester', q.requester],
      ['reqVerified', q.verification], ['reqReceived', fmtTime(q.received_at)],
      ['reqOutcome', q.outcome ? t('out-' + q.outcome) : t('reqOpen')], ['reqAnswered', q.answered_at && fmtTime(q.answered_at)],
      ['reqOperator', q.operator]]);
    answer.hidden = !q.outcome;
    answer.replaceChildren(el('h2', t('reqAnswer')));
    const d = el('dl');
    for (const [k, v, vars] of q.outcome ? answerRows(q) : []) {
      const dd = el('dd');
      if (v instanceof Node) dd.append(v); else dd.textContent = v;
      d.append(el('dt', t(k, vars)), dd);
    }
    answer.append(d);
  };
  show();
  const reload = async () => { q = await api('/api/v1/requests/' + id); show(); actions(); };
  // A language switch keeps what was typed: only the texts change.
  state.redraw = () => {
    show();
    acts.querySelectorAll('[data-tkey]').forEach((e) => { e.textContent = t(e.dataset.tkey, JSON.parse(e.dataset.tvars)); });
  };
  const callers = () => (q.callers || []).join(', ');
  const actions = () => {
    acts.replaceChildren();
    acts.hidden = false;
    if (q.kind === 'disclosure' && q.outcome !== 'refused') {
      const b = button(q.outcome === 'answered' ? 'reqDiscloseAgain' : 'reqDisclose', { id: 'req-disclose' });
      b.addEventListener('click', () => busy(b, async () => {
        await saveAs('/api/v1/requests/' + id + '/disclose', 'disclosure-' + id + '.zip', { method: 'POST' });
        await reload();
      }));
      acts.append(b, el('p', t('reqDiscloseHint'), { class: 'hint' }));
    }
    if (q.outcome) { acts.hidden = q.kind !== 'disclosure' || q.outcome === 'refused'; return; } // only a disclosure is fetched again
    if (q.kind === 'correction') {
      const f = el('select', null, {});
      f.append(el('option', 'customer_ref', { value: 'customer_ref' }));
      const v = el('input', null, { maxlength: '200', autocomplete: 'off' });
      const b = button('reqCorrect', { id: 'req-correct' });
      b.addEventListener('click', () => busy(b, async () => {
        await api('/api/v1/requests/' + id + '/correct', { method: 'POST', body: { field: f.value, value: v.value } });
        sayT('reqDone', { what: t('kind-correction') });
        await reload();
      }));
      const d = el('div', null, { class: 'actions' });
      d.append(field('req-field', 'reqCorrectField', f), field('req-value', 'reqCorrectValue', v, 'reqCorrectHint'), b);
      acts.append(d);
    }
    // Stopping use or provision restricts: each waits for its box.
    const simple = { 'stop-of-use': ['reqStopUse', 'stop-use', 'reqConfirmStopUse'], 'resume-use': ['reqResumeUse', 'resume-use'],
      'stop-third-party-provision': ['reqStopProvision', 'stop-provision', 'reqConfirmStopProvision'] }[q.kind];
    if (simple) {
      const b = button(simple[0], { id: 'req-act' });
      b.addEventListener('click', () => busy(b, async () => {
        await api('/api/v1/requests/' + id + '/' + simple[1], { method: 'POST' });
        sayT('reqDone', { what: t('kind-' + q.kind) });
        await reload();
      }));
      const d = el('div', null, { class: 'actions' });
      if (simple[2]) d.append(confirmed('req-act-confirm', simple[2], { callers: callers() }, b));
      d.append(b);
      acts.append(d);
    }
    if (q.kind === 'erasure') erasure(acts, id, reload);
    const reason = el('input', null, { maxlength: '500', autocomplete: 'off' });
    const rb = button('reqRefuse', { id: 'req-refuse' });
    rb.addEventListener('click', () => busy(rb, async () => {
      await api('/api/v1/requests/' + id + '/refuse', { method: 'POST', body: { reason: reason.value } });
      sayT('reqRefused');
      await reload();
    }));
    const rd = el('div', null, { class: 'actions' });
    rd.append(field('req-refuse-reason', 'reqRefuseReason', reason), confirmed('req-refuse-confirm', 'reqConfirmRefuse', {}, rb), rb);
    acts.append(rd);
  };
  actions();
}

// erasure shows the plan of an erasure, lists what it destroys and what
// a hold keeps, and erases only once the list is explicitly confirmed.
function erasure(acts, id, reload) {
  const box = el('div', null, { id: 'er-plan' });
  const showBtn = button('erShowPlan', { id: 'er-show' });
  acts.append(showBtn, box);
  const planRows = (list) => list.map((r) => [recLink(r.id), fmtTime(r.started_at), r.line, r.purpose, r.client || '',
    r.audio ? t('withAudio') : t('manifestOnly'), r.hold_reason || '']);
  const showPlan = (plan) => {
    const heads = ['id', 'started', 'line', 'purpose', 'client', 'audio', 'erHoldReason'];
    const confirm = el('input', null, { type: 'checkbox', id: 'er-confirm' });
    const lab = el('label', t('erConfirmBox', { n: plan.destroy.length }), { for: 'er-confirm', class: 'inline' });
    const go = el('button', t('erErase'), { type: 'button', id: 'er-erase', disabled: '' });
    confirm.addEventListener('change', () => { go.disabled = !confirm.checked; });
    box.replaceChildren(el('h2', t('erPlan')),
      el('h3', t('erDestroy', { n: plan.destroy.length })),
      plan.destroy.length ? table('er-destroy', '', heads, planRows(plan.destroy)) : el('p', t('erNone')),
      el('h3', t('erHeld', { n: plan.held.length })),
      plan.held.length ? table('er-held', '', heads, planRows(plan.held)) : el('p', t('erNone')));
    if (plan.not_yet_stored) box.append(el('p', t('erNotStored') + ': ' + plan.not_yet_stored, { class: 'hint' }));
    const c = el('div', null, { class: 'actions' });
    c.append(confirm, lab, go);
    box.append(c);
    go.addEventListener('click', () => busy(go, async () => {
      if (!confirm.checked) return;
      const res = await request('/api/v1/requests/' + id + '/erase', { method: 'POST', body: { confirm: plan.confirm } }).catch((e) => e);
      if (res instanceof Error) {
        if (res.status === 409 || res.status === 428) {
          showPlan(await api('/api/v1/requests/' + id + '/erasure-plan'));
          sayT('erStale', null, true);
          return;
        }
        throw res;
      }
      const out = await res.json();
      sayT('erErased', { n: (out.erased || []).length, h: (out.held || []).length });
      await reload();
    }));
  };
  showBtn.addEventListener('click', () => busy(showBtn, async () => {
    showPlan(await api('/api/v1/requests/' + id + '/erasure-plan'));
  }));
}

// ---- retention ----

async function renderRetention() {
  const main = privacyPage('retention', 'retTitle');
  const view = state.view;
  let plan;
  try { plan = await api('/api/v1/retention/plan'); } catch (e) { if (view === state.view) failed(e); return; }
  if (view !== state.view) return;
  const purposes = [...new Set(plan.purposes.map((p) => p.purpose))];
  // The recordings each purpose loses next: its oldest not held, with
  // the date each is kept until.
  const next = {};
  for (const p of purposes) {
    try {
      const r = await api('/api/v1/recordings?' + new URLSearchParams({ purpose: p, hold: 'not-held', sort: 'started_at', limit: '5' }));
      next[p] = r.recordings;
    } catch (e) { failed(e); next[p] = []; }
  }
  if (view !== state.view) return;
  const box = el('div');
  main.append(box);
  const show = () => {
    const rows = plan.purposes.map((p) => [p.purpose, p.client || '', p.stored, p.due, p.held, p.oldest_kept ? fmtTime(p.oldest_kept) : '']);
    const parts = [table('ret-plan', '', ['retPurpose', 'retClient', 'retStored', 'retDue', 'retHeld', 'retOldest'], rows)];
    const s = section('retNext');
    s.id = 'ret-next';
    for (const p of purposes) {
      const rs = next[p] || [];
      s.append(el('h3', t('retNextOf', { purpose: p, n: rs.length })));
      s.append(rs.length ? table('ret-next-' + p, '', ['id', 'started', 'retUntil'],
        rs.map((r) => [recLink(r.id), fmtTime(r.started_at), fmtTime(r.retain_until)])) : el('p', t('retNoNext')));
    }
    parts.push(s, previewSection(purposes));
    if (canPurge()) {
      const ps = section('retPurge');
      const reason = el('input', null, { maxlength: '500', autocomplete: 'off' });
      const b = button('retPurge', { id: 'ret-purge' });
      b.addEventListener('click', () => busy(b, async () => {
        const r = await api('/api/v1/retention/purge', { method: 'POST', body: reason.value ? { reason: reason.value } : {} });
        sayT('retPurged', { d: r.deleted, h: r.held, f: r.failed }, r.failed > 0);
      }));
      ps.append(field('ret-reason', 'retPurgeReason', reason), b);
      parts.push(ps);
    }
    box.replaceChildren(...parts);
  };
  show();
  state.redraw = show;
}

// previewSection asks what a changed limit of a purpose would do before
// it is configured: how many recordings it re-dates, and which would be
// due at once (held ones kept). Nothing changes; the API audits the ask.
function previewSection(purposes) {
  const s = section('retPreview');
  s.id = 'ret-preview';
  const form = el('form', null, { id: 'prev-form', class: 'filters' });
  const purpose = el('select', null, { name: 'purpose' });
  for (const p of purposes) purpose.append(el('option', p, { value: p }));
  const limit = el('input', null, { name: 'retention', autocomplete: 'off', spellcheck: 'false', placeholder: '30d' });
  const go = el('button', t('retPreviewDo'), { type: 'submit', id: 'prev-do', 'data-i18n': 'retPreviewDo' });
  form.append(field('prev-purpose', 'retPurpose', purpose), field('prev-limit', 'retPreviewLimit', limit, 'retPreviewHint'), go);
  const out = el('div', null, { id: 'prev-result' });
  s.append(form, out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(go, async () => {
      const q = new URLSearchParams({ purpose: purpose.value, retention: limit.value.trim() });
      const pv = (await api('/api/v1/retention/plan?' + q.toString())).preview;
      out.replaceChildren(el('p', t('retPreviewSays', { p: pv.purpose, from: pv.from, to: pv.to, n: pv.stored, e: pv.earlier,
        l: pv.later, u: pv.unchanged, d: pv.due, h: pv.due_held }), { id: 'prev-says' }),
      pv.recordings.length ? table('prev-due', '', ['id', 'started', 'retUntil', 'retNewUntil', 'retHeld'],
        pv.recordings.map((r) => [recLink(r.id), fmtTime(r.started_at), fmtTime(r.retain_until), fmtTime(r.new_until),
          r.legal_hold ? t('yes') : ''])) : el('p', t('retPreviewNone')));
      say('');
    });
  });
  return s;
}

// ---- holds ----

async function renderHolds() {
  const main = privacyPage('holds', 'holdsTitle');
  const view = state.view;
  const form = el('form', null, { id: 'bulk-form', class: 'card filters' });
  const caller = el('input', null, { name: 'caller', inputmode: 'tel', autocomplete: 'off' });
  const from = el('input', null, { name: 'from', type: 'datetime-local' });
  const to = el('input', null, { name: 'to', type: 'datetime-local' });
  const reason = el('input', null, { name: 'reason', required: '', maxlength: '500', autocomplete: 'off' });
  const on = el('select', null, { name: 'on' });
  on.append(el('option', t('bulkOn'), { value: 'true', 'data-i18n': 'bulkOn' }), el('option', t('bulkOff'), { value: 'false', 'data-i18n': 'bulkOff' }));
  const go = el('button', t('bulkDo'), { type: 'submit', id: 'bulk-do', 'data-i18n': 'bulkDo' });
  // The range is typed in the zone setting, as every time the UI shows;
  // the zone is named beside the fields.
  const zoneNote = el('p', null, { class: 'hint', id: 'bulk-zone' });
  for (const f of [from, to]) f.setAttribute('aria-describedby', 'bulk-zone');
  const range = el('div', null, { class: 'range' });
  range.append(field('bulk-from', 'bulkFrom', from), field('bulk-to', 'bulkTo', to), zoneNote);
  form.append(el('h2', t('bulkTitle'), { 'data-i18n': 'bulkTitle' }), field('bulk-caller', 'bulkCaller', caller, 'bulkHint'),
    range, field('bulk-reason', 'bulkReason', reason), field('bulk-on', 'hold', on), go);
  const out = el('p', null, { id: 'bulk-result', role: 'status' });
  const list = el('section', null, { id: 'holds-list' });
  main.append(form, out, list);
  let held = [];
  let done = null; // the last bulk hold's answer and range, as RFC 3339
  const show = () => {
    zoneNote.textContent = t('bulkZone', { zone: zone() });
    const rows = held.map((x) => [recLink(x.id), fmtTime(x.started_at), x.purpose, x.caller, fmtTime(x.retain_until)]);
    list.replaceChildren(el('h2', t('holdsList')),
      rows.length ? table('holds-table', '', ['id', 'started', 'purpose', 'caller', 'retUntil'], rows) : el('p', t('holdsNone')));
    out.textContent = !done ? '' : t('bulkResult', { n: done.changed }) + (done.from || done.to
      ? ' ' + t('bulkRange', { from: done.from ? fmtTime(done.from) : '…', to: done.to ? fmtTime(done.to) : '…' }) : '');
  };
  const load = async () => {
    const r = await api('/api/v1/recordings?' + new URLSearchParams({ hold: 'held', limit: '100' }));
    if (view !== state.view) return;
    held = r.recordings;
    show();
  };
  show();
  state.redraw = show;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = parseTime(from.value); const u = parseTime(to.value);
    if (f === null || u === null) { sayT('bulkBadTime', null, true); return; }
    busy(go, async () => {
      const body = { caller: caller.value.trim() || undefined, from: f || undefined, to: u || undefined,
        on: on.value === 'true', reason: reason.value.trim() };
      const r = await api('/api/v1/holds', { method: 'POST', body });
      done = { changed: r.changed, from: f, to: u };
      say('');
      await load();
    });
  });
  try { await load(); } catch (e) { if (view === state.view) failed(e); }
}

// privacyRoute renders the page of hash if it is one of these; false
// when it is not (or the token may not open it).
function privacyRoute(hash) {
  if (hash === '#/requests' && canRequests()) { renderRequests(); return true; }
  const m = hash.match(/^#\/requests\/([0-9a-zA-Z-]{1,64})$/);
  if (m && canRequests()) { renderRequest(m[1]); return true; }
  if (hash === '#/retention' && canRetention()) { renderRetention(); return true; }
  if (hash === '#/holds' && canBulkHold()) { renderHolds(); return true; }
  return false;
}
