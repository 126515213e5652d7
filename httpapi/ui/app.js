// Kiroku web UI: sign in with a token, search, listen, hold, audit,
// incident reports and contract ends (read only).
// Plain JavaScript, no build step, no third-party code. The token stays
// in sessionStorage (this tab only); audio is fetched through short-lived
// tickets so that the token never goes into a URL.
'use strict';

const L = {
  en: {
    skip: 'Skip to content', nav: 'Main', navSearch: 'Search', navAudit: 'Audit log', signOut: 'Sign out',
    signInTitle: 'Sign in', token: 'Access token', tokenHint: 'The token your administrator gave you. It is kept in this tab only.',
    signIn: 'Sign in', signedInAs: 'Signed in as', searchTitle: 'Search recordings', from: 'From', to: 'To',
    line: 'Line', purpose: 'Purpose', any: 'Any', decision: 'Consent decision',
    'dec-notified': 'Notified (recorded)', 'dec-opted-out': 'Opted out', 'dec-hung-up-during-notice': 'Hung up during the notice',
    callerFilter: 'Caller number (privacy officers)', agentIdFilter: 'Agent ID (exactly as the agent platform gives it)',
    agentId: 'Agent ID', minDuration: 'Minimum duration (seconds)', sort: 'Order',
    newest: 'Newest first', oldest: 'Oldest first', searchBtn: 'Search', results: 'Results', started: 'Started',
    duration: 'Duration', caller: 'Caller', audio: 'Audio', hold: 'Legal hold', noResults: 'No recordings match.',
    more: 'More results', back: 'Back to the results', recordingTitle: 'Recording', metadata: 'Details',
    consentEvidence: 'Consent evidence', manifest: 'Call manifest (JSON)', player: 'Listen',
    noAudio: 'This call was not recorded; only its consent evidence is kept.',
    reason: 'Reason for listening (recorded in the audit log)', play: 'Play', download: 'Download',
    audioLabel: 'Recording audio', channels: 'Channels', chBoth: 'Both (caller left, agent right)', chCaller: 'Caller only',
    chAgent: 'Agent only', holdTitle: 'Legal hold', holdReason: 'Reason (recorded in the audit log)',
    placeHold: 'Place a legal hold', releaseHold: 'Release the legal hold', heldBecause: 'Held: ', notHeld: 'Not held.',
    auditTitle: 'Audit log', actor: 'Actor', action: 'Action', target: 'Target (recording id)', verify: 'Verify the chain',
    auditEntries: 'Entries', at: 'Time', reasonCol: 'Reason', detail: 'Detail', yes: 'Yes', no: 'No', none: '—',
    id: 'Id', ended: 'Ended', answered: 'Answered', dialled: 'Dialled number', state: 'State', retainUntil: 'Kept until',
    audioSize: 'Audio size', audioSha: 'Audio SHA-256', agent: 'Agent', client: 'Client', noticeFile: 'Notice played',
    noticeSha: 'Notice SHA-256', noticeCompleted: 'Notice heard to the end', optOutDigit: 'Opt-out key offered',
    optOut: 'Opt-out', cutShort: 'Cut short', silent: 'No audio received', silentOn: 'Yes, but silent: {ch}',
    'ch-caller': 'caller', 'ch-agent': 'agent', masked: '(masked)', verifyOk: 'The chain is intact: {n} entries checked.',
    verifyBroken: 'The chain is BROKEN at entry {seq}: {why}', needReason: 'Give a reason first.',
    badToken: 'That token was not accepted.', expired: 'Your session ended; sign in again.',
    playing: 'Playing.', holdPlaced: 'Legal hold placed.', holdReleased: 'Legal hold released.', loading: 'Loading…',
    zoneNote: 'Times in {zone} (the time zone setting).', badTime: 'A time is not a date and time such as 2026-11-05 09:30.',
    tz: 'Time zone', tzBrowser: 'This browser’s ({zone})', maxDuration: 'Maximum duration (seconds)', held: 'Held',
    notHeldOpt: 'Not held', endReason: 'End reason', sipCallId: 'SIP Call-ID', pageSize: 'Rows a page',
    exportCsv: 'Export CSV', prevPage: 'Previous page', nextPage: 'Next page', pages: 'Result pages',
    count: '{from}–{to} of {total} recordings', moreThan: 'more than {n}', countNone: 'No recordings match.', sortBy: 'Sort by {col}',
    'end-caller-hangup': 'Caller hung up', 'end-agent-hangup': 'Agent hung up', 'end-downstream-failed': 'Agent side unreachable',
    'end-shutdown': 'Shutdown', 'end-answer-failed': 'Answer failed', 'end-media-failed': 'Media failed',
    'end-media-timeout': 'No audio (timeout)', 'end-session-expired': 'Session expired', 'end-max-duration': 'Longest call reached',
    'end-no-ack': 'Caller never acknowledged', 'end-interrupted': 'Interrupted (restart)',
    waveCaller: 'Caller (left)', waveAgent: 'Agent (right)', waveCallerImg: 'Caller\'s waveform: click to seek',
    waveAgentImg: 'Agent\'s waveform: click to seek', back10: '−10 s', fwd10: '+10 s', speed: 'Speed',
    shortcuts: 'Keys (outside text fields): k play or pause, j back 10 s, l forward 10 s, < and > slower and faster.',
    bytes: '{n} bytes', restricted: 'restricted (stop of use)', stored: 'stored',
    navIncidents: 'Incident report', navContracts: 'Contract ends', downloaded: 'Downloaded {name}.',
    incTitle: 'Incident report',
    incIntro: 'Which recordings an actor, a client or a time window touched, from the audit log. Give at least one filter.',
    incActor: 'Actor (token name, retention, kirokud…)', incMake: 'Make the report', incReport: 'Report',
    incCsv: 'Download CSV', incRecs: 'Recordings and their audit entries',
    incNoRecs: 'No recording was accessed, exported or changed.', incCallers: 'Caller numbers affected',
    incDenied: 'Refused attempts', incOther: 'Entries about no recording', targetCol: 'Target', generated: 'Generated',
    figRecordings: 'Recordings', figEntries: 'Audit entries', figCallers: 'Distinct callers',
    figDeleted: 'Recordings deleted since (numbers no longer held)', figDenied: 'Refused attempts',
    figWithheld: 'Recordings left out (purposes not open to your roles)',
    incWithheld: '{n} recording(s) touched are left out: their purposes are not open to your roles.',
    incUnknown: '{n} recording(s) deleted since: their caller numbers are no longer held.', incNoCallers: 'None.',
    'kind-accessed': 'accessed', 'kind-exported': 'exported', 'kind-changed': 'changed', deleted: 'deleted',
    ceTitle: 'Contract ends',
    ceNoButtons: 'This page only reads: a return and its destruction are started and confirmed deliberately with kirokuctl, never from the browser.',
    cePlanTitle: 'Dry run (nothing is changed)', cePlanBtn: 'Show the plan', ceRuns: 'Runs', ceCounts: 'Recordings by state',
    ceNone: 'No contract-end run yet.', ceBack: 'Back to the contract ends', ceRun: 'Contract-end run',
    ceCert: 'Certificate of return and destruction', ceNoCert: 'Not certified yet: the run is not finished.',
    ceJson: 'Download the certificate (JSON)', finished: 'Finished', returnedTo: 'Returned to', operators: 'Run by',
    auditRange: 'Audit entries', planRecordings: 'Recordings to return', planWithAudio: 'With audio',
    planRestricted: 'Restricted (stop of use)', planHeld: 'Under legal hold: returned but kept',
    planToDestroy: 'To destroy once returned', planBytes: 'Sealed size', planFirst: 'First recording started',
    planLast: 'Last recording started', planRun: 'Unfinished run (a run would resume it)',
    planBlocked: 'A run is blocked:', planOk: 'Nothing blocks a run.',
    'ce-running': 'running', 'ce-awaiting-confirmation': 'awaiting the recipient\'s checksums', 'ce-done': 'done (certified)',
    'item-pending': 'pending', 'item-exported': 'exported', 'item-verified': 'verified', 'item-failed': 'failed (kept)',
    'item-held': 'held (kept)', 'item-shredded': 'key destroyed', 'item-destroyed': 'destroyed', 'item-gone': 'deleted meanwhile',
  },
  ja: {
    skip: '本文へ移動', nav: 'メイン', navSearch: '検索', navAudit: '監査ログ', signOut: 'サインアウト',
    signInTitle: 'サインイン', token: 'アクセストークン', tokenHint: '管理者から渡されたトークン。このタブの中だけに保持します。',
    signIn: 'サインイン', signedInAs: 'サインイン中:', searchTitle: '録音の検索', from: '開始日時（から）', to: '終了日時（まで）',
    line: '回線', purpose: '利用目的', any: 'すべて', decision: '同意の記録',
    'dec-notified': '通知済み（録音）', 'dec-opted-out': '録音拒否', 'dec-hung-up-during-notice': '案内中に切断',
    callerFilter: '発信者番号（個人情報保護担当者のみ）', agentIdFilter: 'オペレーターID（ACDが通知するとおりに）',
    agentId: 'オペレーターID', minDuration: '最短の長さ（秒）', sort: '並び順',
    newest: '新しい順', oldest: '古い順', searchBtn: '検索', results: '検索結果', started: '開始',
    duration: '長さ', caller: '発信者', audio: '音声', hold: 'リーガルホールド', noResults: '該当する録音はありません。',
    more: 'さらに表示', back: '検索結果に戻る', recordingTitle: '録音', metadata: '詳細',
    consentEvidence: '同意の証跡', manifest: '通話マニフェスト（JSON）', player: '再生',
    noAudio: 'この通話は録音されていません。同意の証跡のみ保存されています。',
    reason: '再生の理由（監査ログに記録されます）', play: '再生', download: 'ダウンロード',
    audioLabel: '録音の音声', channels: 'チャンネル', chBoth: '両方（左: 発信者、右: オペレーター）', chCaller: '発信者のみ',
    chAgent: 'オペレーターのみ', holdTitle: 'リーガルホールド', holdReason: '理由（監査ログに記録されます）',
    placeHold: 'リーガルホールドを設定', releaseHold: 'リーガルホールドを解除', heldBecause: '保全中: ', notHeld: '保全されていません。',
    auditTitle: '監査ログ', actor: '実行者', action: '操作', target: '対象（録音ID）', verify: 'チェーンを検証',
    auditEntries: '記録', at: '日時', reasonCol: '理由', detail: '詳細', yes: 'あり', no: 'なし', none: '—',
    id: 'ID', ended: '終了', answered: '応答', dialled: '着信番号', state: '状態', retainUntil: '保存期限',
    audioSize: '音声のサイズ', audioSha: '音声のSHA-256', agent: 'オペレーター', client: '委託元', noticeFile: '再生した案内',
    noticeSha: '案内のSHA-256', noticeCompleted: '案内を最後まで再生', optOutDigit: '録音拒否のキー',
    optOut: '録音拒否', cutShort: '途中で終了', silent: '音声を受信せず', silentOn: 'あり（無音: {ch}）',
    'ch-caller': '発信者', 'ch-agent': 'オペレーター', masked: '（マスク済み）', verifyOk: 'チェーンは完全です（{n} 件を検証）。',
    verifyBroken: 'チェーンが第 {seq} 件で壊れています: {why}', needReason: '先に理由を入力してください。',
    badToken: 'トークンが受け付けられませんでした。', expired: 'セッションが終了しました。もう一度サインインしてください。',
    playing: '再生中。', holdPlaced: 'リーガルホールドを設定しました。', holdReleased: 'リーガルホールドを解除しました。', loading: '読み込み中…',
    zoneNote: '時刻は {zone}（タイムゾーン設定）で入力します。', badTime: '時刻が 2026-11-05 09:30 のような日時ではありません。',
    tz: 'タイムゾーン', tzBrowser: 'このブラウザー（{zone}）', maxDuration: '最長の長さ（秒）', held: '保全中',
    notHeldOpt: '保全なし', endReason: '終了の理由', sipCallId: 'SIP Call-ID', pageSize: '1ページの件数',
    exportCsv: 'CSVで書き出す', prevPage: '前のページ', nextPage: '次のページ', pages: '検索結果のページ',
    count: '全 {total} 件中 {from}–{to} 件', moreThan: '{n} 件超', countNone: '該当する録音はありません。', sortBy: '{col}で並べ替え',
    'end-caller-hangup': '発信者が切断', 'end-agent-hangup': 'オペレーターが切断', 'end-downstream-failed': 'オペレーター側に接続できず',
    'end-shutdown': '停止', 'end-answer-failed': '応答に失敗', 'end-media-failed': '音声の失敗',
    'end-media-timeout': '音声なし（タイムアウト）', 'end-session-expired': 'セッション切れ', 'end-max-duration': '最長時間に到達',
    'end-no-ack': '発信者の確認なし', 'end-interrupted': '中断（再起動）',
    waveCaller: '発信者（左）', waveAgent: 'オペレーター（右）', waveCallerImg: '発信者の波形（クリックで移動）',
    waveAgentImg: 'オペレーターの波形（クリックで移動）', back10: '−10秒', fwd10: '+10秒', speed: '速度',
    shortcuts: 'キー（入力欄の外で）: k 再生／一時停止、j 10秒戻る、l 10秒進む、< と > 遅く／速く。',
    bytes: '{n} バイト', restricted: '利用停止中', stored: '保存済み',
    navIncidents: 'インシデント報告', navContracts: '契約終了', downloaded: '{name} をダウンロードしました。',
    incTitle: 'インシデント報告',
    incIntro: '監査ログから、実行者・委託元・期間が関わった録音を一覧にします。条件を1つ以上指定してください。',
    incActor: '実行者（トークン名、retention、kirokud など）', incMake: '報告を作成', incReport: '報告',
    incCsv: 'CSVをダウンロード', incRecs: '録音とその監査記録',
    incNoRecs: 'アクセス・持ち出し・変更された録音はありません。', incCallers: '影響を受けた発信者番号',
    incDenied: '拒否された試み', incOther: '録音に関わらない記録', targetCol: '対象', generated: '作成日時',
    figRecordings: '録音', figEntries: '監査記録', figCallers: '発信者（重複なし）',
    figDeleted: 'その後削除された録音（番号は保持していません）', figDenied: '拒否された試み',
    figWithheld: '除外した録音（あなたのロールに開かれていない目的）',
    incWithheld: '対象となった録音のうち {n} 件は除外しています: その目的はあなたのロールに開かれていません。',
    incUnknown: 'その後削除された録音 {n} 件: 発信者番号はもう保持していません。', incNoCallers: 'なし。',
    'kind-accessed': '閲覧', 'kind-exported': '持ち出し', 'kind-changed': '変更', deleted: '削除済み',
    ceTitle: '契約終了',
    ceNoButtons: 'このページは閲覧専用です。返却と消去の開始・確認は kirokuctl で意図して行い、ブラウザからはできません。',
    cePlanTitle: '事前確認（何も変更しません）', cePlanBtn: '計画を表示', ceRuns: '実行一覧', ceCounts: '状態別の録音数',
    ceNone: '契約終了の実行はまだありません。', ceBack: '契約終了の一覧に戻る', ceRun: '契約終了の実行',
    ceCert: '返却・消去証明書', ceNoCert: 'まだ証明されていません（実行が終わっていません）。',
    ceJson: '証明書をダウンロード（JSON）', finished: '終了', returnedTo: '返却先', operators: '実行者',
    auditRange: '監査記録', planRecordings: '返却する録音', planWithAudio: '音声あり',
    planRestricted: '利用停止中', planHeld: 'リーガルホールド中（返却して保持）',
    planToDestroy: '返却後に消去', planBytes: '暗号化済みサイズ', planFirst: '最初の録音の開始',
    planLast: '最後の録音の開始', planRun: '未完了の実行（実行すると再開）',
    planBlocked: '実行できない理由:', planOk: '実行を妨げるものはありません。',
    'ce-running': '実行中', 'ce-awaiting-confirmation': '受領者のチェックサム待ち', 'ce-done': '完了（証明済み）',
    'item-pending': '未返却', 'item-exported': '返却済み（未検証）', 'item-verified': '検証済み', 'item-failed': '失敗（保持）',
    'item-held': '保全のため保持', 'item-shredded': '鍵を消去', 'item-destroyed': '消去済み', 'item-gone': '他の理由で削除',
  },
};

const auditActions = ['search', 'search-export', 'view', 'play', 'download', 'hold', 'release-hold', 'denied', 'audit-read', 'audit-verify',
  'calls-list', 'pause', 'resume', 'store', 'delete', 'delete-orphan', 'retention-change', 'read', 'reject', 'drop', 'rebuild'];

const endReasons = ['caller-hangup', 'agent-hangup', 'downstream-failed', 'shutdown', 'answer-failed', 'media-failed',
  'media-timeout', 'session-expired', 'max-duration', 'no-ack', 'interrupted'];

// pages are the pages other scripts add (live.js): each has match(hash),
// render(hash) and, optionally, nav() to show or hide its nav link.
const pages = [];

const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

const newSearch = (params) => ({ params, rows: [], cursors: [''], page: 0, next: '', total: null });

const state = {
  lang: localStorage.getItem('kiroku.lang') || (navigator.language.startsWith('ja') ? 'ja' : 'en'),
  token: sessionStorage.getItem('kiroku.token') || '',
  me: null,
  search: newSearch(null),
  tz: '', // the signed-in user's time zone; '' for the browser's
  tzUser: '', // whose setting tz is
  audio: null, // Web Audio graph, made on the first play
  after: '', // the page asked for before signing in
  nav: '', // the nav entry of the page shown
  view: 0, // counts pages mounted, so an answer for a page left is dropped
  redraw: null, // redraws the page's data in the current language
};

const $ = (sel, root = document) => root.querySelector(sel);
const t = (key, vars = {}) => (L[state.lang][key] || L.en[key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k]);

// say shows a message in the live region; problems stand out.
function say(msg, problem) {
  state.said = null;
  $('#status').textContent = msg || '';
  $('#status').className = problem ? 'problem' : '';
}

// sayT says the message key (with params) and says it again in the other
// language when the user switches.
function sayT(key, params, problem) {
  say(t(key, params || undefined), problem);
  state.said = { key, params, problem };
}

function translate(root = document) {
  document.documentElement.lang = state.lang;
  root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll('[data-i18n-aria]').forEach((el) => { el.setAttribute('aria-label', t(el.dataset.i18nAria)); });
  zoneNotes(root);
  const other = state.lang === 'ja' ? 'en' : 'ja';
  $('#lang').textContent = other === 'ja' ? '日本語' : 'English';
  $('#lang').lang = other;
}

class HTTPError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

// request sends the token in its header and returns a successful
// response unread; an error answer throws with the API's message.
async function request(path, opts = {}) {
  const headers = Object.assign({ Authorization: 'Bearer ' + state.token }, opts.headers || {});
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method: opts.method || 'GET', headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: 'no-store' });
  if (res.status === 401 && !opts.signingIn) {
    signOut(t('expired'));
    throw new HTTPError(401, t('expired'));
  }
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    throw new HTTPError(res.status, (body && body.error) || res.statusText);
  }
  return res;
}

async function api(path, opts = {}) {
  const res = await request(path, opts);
  try { return await res.json(); } catch (_) { return null; /* not JSON */ }
}

// saveAs fetches path with the token in its header and saves the answer
// as name through an object URL: the token never goes into a URL.
async function saveAs(path, name, opts = {}) {
  try {
    const blob = await (await request(path, opts)).blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', '', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    sayT('downloaded', { name });
  } catch (e) {
    if (e.status !== 401) say(e.message, true);
  }
}

function signOut(msg) {
  state.token = ''; state.me = null; state.search = newSearch(null); state.tzUser = '';
  sessionStorage.removeItem('kiroku.token');
  if (state.audio) { state.audio.ctx.close(); state.audio = null; }
  location.hash = '#/signin';
  render();
  say(msg || '', !!msg);
}

// zone is the time zone times are shown and typed in: the user's
// setting, else the browser's.
function zone() { return state.tz || browserZone; }

function fmtTime(s) {
  if (!s) return t('none');
  return new Date(s).toLocaleString(state.lang === 'ja' ? 'ja-JP' : 'en-GB', { timeZone: zone(), timeZoneName: 'short' });
}

// parseTime reads a datetime-local value (2026-11-05T09:30[:15]) as a
// time in zone() and returns it as RFC 3339 in UTC ('' for none, null
// for no such time). The browser's Date would read it in its own zone.
function parseTime(v) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(v || '');
  if (!v) return '';
  if (!m) return null;
  const wall = Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const f = new Intl.DateTimeFormat('en-US', { timeZone: zone(), hourCycle: 'h23', year: 'numeric', month: 'numeric',
    day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  // offset is how far the zone's clock is ahead of UTC at instant ms.
  const offset = (ms) => {
    const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, +x.value]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - ms;
  };
  // Twice, for a wall time near a change of offset.
  const first = wall - offset(wall);
  return new Date(wall - offset(first)).toISOString();
}

// loadZone reads the signed-in user's zone setting (kept per token name
// in this browser) and fills the zone picker.
function loadZone() {
  const box = $('#tz-field');
  box.hidden = !state.me;
  if (!state.me) return;
  if (state.tzUser !== state.me.name) {
    state.tzUser = state.me.name;
    state.tz = localStorage.getItem('kiroku.tz.' + state.me.name) || '';
  }
  const sel = $('#tz');
  const zones = (Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : ['UTC', 'Asia/Tokyo']).filter((z) => z !== 'UTC');
  sel.replaceChildren(el('option', t('tzBrowser', { zone: browserZone }), { value: '' }), el('option', 'UTC', { value: 'UTC' }),
    ...zones.map((z) => el('option', z, { value: z })));
  sel.value = state.tz;
}

function fmtDuration(sec) {
  const s = Math.round(sec || 0);
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function mount(tplID) {
  const main = $('#main');
  state.view++;
  state.redraw = null;
  main.replaceChildren($(tplID).content.cloneNode(true));
  translate(main);
  main.focus();
  return main;
}

function setNav(active) {
  state.nav = active;
  loadZone();
  $('#nav').hidden = !state.me;
  $('#signout').hidden = !state.me;
  $('#nav-audit').hidden = !(state.me && state.me.can.audit);
  $('#nav-incidents').hidden = !(state.me && state.me.can.incident);
  $('#nav-contracts').hidden = !(state.me && canContracts());
  pages.forEach((p) => p.nav && p.nav());
  if (typeof privacyNav === 'function') privacyNav(); // privacy.js
  $('#who').textContent = state.me ? t('signedInAs') + ' ' + state.me.name + ' (' + state.me.roles.join(', ') + ')' : '';
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.getAttribute('href') === '#/' + active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
}

// ---- sign in ----

function renderSignIn() {
  setNav('');
  const main = mount('#tpl-signin');
  $('#signin-form', main).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    state.token = $('#token', main).value.trim();
    try {
      state.me = await api('/api/v1/me', { signingIn: true });
    } catch (e) {
      state.token = '';
      say(e.status === 401 ? t('badToken') : e.message, true);
      return;
    }
    sessionStorage.setItem('kiroku.token', state.token);
    say('');
    location.hash = state.after || '#/search'; // where the user was going before signing in
    state.after = '';
  });
}

// ---- search ----

// sortable: the result columns a user may sort by (by caller: privacy
// officers only, as the API has it).
function sortable(key) { return key !== 'caller' || state.me.can.search_caller; }

// formParams is a form's fields as a query, its times (datetime-local,
// read in the user's zone setting) as RFC 3339; it throws when a time
// is not one.
function formParams(form) {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form)) {
    if (v === '') continue;
    if (k !== 'from' && k !== 'to') { p.set(k, v); continue; }
    const at = parseTime(v);
    if (at === null) throw new Error(t('badTime'));
    p.set(k, at);
  }
  return p;
}

// zoneNotes names the zone setting in each form's zone note: the zone
// the form's times are read in.
function zoneNotes(root = document) {
  root.querySelectorAll('.zone-note').forEach((n) => { n.textContent = t('zoneNote', { zone: zone() }); });
}

function searchParams(form) {
  const p = new URLSearchParams();
  for (const [k, v] of new FormData(form)) {
    if (v === '') continue;
    p.set(k, v); // from and to as typed: local times in the zone sent with them
  }
  p.set('tz', zone());
  return p;
}

function renderSearch() {
  setNav('search');
  const main = mount('#tpl-search');
  const form = $('#search-form', main);
  const sel = $('#f-purpose', main);
  for (const p of state.me.purposes) sel.append(el('option', p.name + (p.description ? ' — ' + p.description : ''), { value: p.name }));
  const ends = $('#f-end', main);
  for (const r of endReasons) ends.append(el('option', t('end-' + r), { value: r }));
  $('#caller-field', main).hidden = !state.me.can.search_caller;
  main.querySelectorAll('#results th[data-sort]').forEach((th) => {
    if (!sortable(th.dataset.sort)) return;
    const b = el('button', th.textContent, { type: 'button', class: 'sort' });
    b.dataset.i18n = th.dataset.i18n;
    th.removeAttribute('data-i18n');
    th.replaceChildren(b);
    b.addEventListener('click', async () => {
      const key = th.dataset.sort;
      const cur = form.elements.sort.value;
      // A new column starts ascending (start time: newest first); the
      // same column again turns the order round.
      let next = key === 'started_at' ? '-started_at' : key;
      if (cur === key) next = '-' + key; else if (cur === '-' + key) next = key;
      form.elements.sort.value = next;
      if (!state.search.params) return;
      state.search = newSearch(Object.fromEntries(new FormData(form)));
      await runSearch(main, form);
    });
  });
  if (state.search.params) {
    for (const [k, v] of Object.entries(state.search.params)) if (form.elements[k]) form.elements[k].value = v;
    showResults(main);
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    state.search = newSearch(Object.fromEntries(new FormData(form)));
    await runSearch(main, form);
  });
  $('#next', main).addEventListener('click', async () => { state.search.page++; await runSearch(main, form); });
  $('#prev', main).addEventListener('click', async () => { state.search.page--; await runSearch(main, form); });
  $('#export', main).addEventListener('click', () => {
    const p = searchParams(form);
    p.delete('limit');
    saveAs('/api/v1/recordings/export?' + p.toString(), 'recordings.csv');
  });
  state.redraw = () => showResults(main);
}

// runSearch fetches the page state.search.page of the search in form:
// the first page without a cursor (it brings the total), each later one
// with the cursor the page before it ended at.
async function runSearch(main, form) {
  const btn = $('#search-btn', main);
  btn.disabled = true;
  sayT('loading');
  const p = searchParams(form);
  const cursor = state.search.cursors[state.search.page];
  if (cursor) p.set('cursor', cursor); else p.set('count', '1');
  try {
    const res = await api('/api/v1/recordings?' + p.toString());
    if (res.total !== undefined) state.search.total = res.total_at_least ? t('moreThan', { n: res.total.toLocaleString() }) : res.total;
    state.search.rows = res.recordings;
    state.search.next = res.next_cursor || '';
    state.search.cursors[state.search.page + 1] = state.search.next;
    say('');
    showResults(main);
  } catch (e) {
    if (e.status !== 401) say(e.message, true);
  } finally {
    btn.disabled = false;
  }
}

function showResults(main) {
  const table = $('#results', main);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const r of state.search.rows) {
    const tr = el('tr');
    tr.dataset.id = r.id;
    const first = el('td');
    first.append(el('a', fmtTime(r.started_at), { href: '#/recordings/' + r.id }));
    tr.append(first, el('td', fmtDuration(r.duration_seconds), { class: 'duration' }), el('td', r.line), el('td', r.purpose),
      el('td', r.caller), el('td', r.agent_id || t('none'), { class: 'agent-id' }), el('td', t('dec-' + r.decision)),
      el('td', r.end_reason ? t('end-' + r.end_reason) : t('none'), { class: 'end-reason' }), el('td', audioCell(r)),
      el('td', r.legal_hold ? t('yes') : t('no')));
    if (r.state === 'restricted') tr.children[0].append(' ', el('span', '(' + t('restricted') + ')', { class: 'held' }));
    body.append(tr);
  }
  const sort = $('#f-sort', main).value;
  main.querySelectorAll('#results th[data-sort]').forEach((th) => {
    const key = th.dataset.sort;
    if (sort === key) th.setAttribute('aria-sort', 'ascending');
    else if (sort === '-' + key) th.setAttribute('aria-sort', 'descending');
    else th.removeAttribute('aria-sort');
    const b = $('button', th);
    if (b) b.title = t('sortBy', { col: t(b.dataset.i18n) });
  });
  const s = state.search;
  const n = s.rows.length;
  table.hidden = n === 0;
  $('#no-results', main).hidden = !s.params || n !== 0;
  const limit = Number($('#f-limit', main).value) || 50;
  const from = s.page * limit + 1;
  $('#count', main).textContent = !s.params ? '' : (s.total === 0 || n === 0 ? '' :
    t('count', { from, to: from + n - 1, total: s.total === null ? '?' : s.total }));
  $('#pager', main).hidden = !s.params || (s.page === 0 && !s.next);
  $('#prev', main).disabled = s.page === 0;
  $('#next', main).disabled = !s.next;
  $('#export', main).hidden = !s.params || s.total === 0;
}

// silentChannels names the channels that received no packet ('' when
// none): a recording never reads as audio where it holds silence.
function silentChannels(r) {
  return (r.silent_channels || []).map((c) => t('ch-' + c)).join(', ');
}

function audioCell(r) {
  if (!r.has_audio) return t('no');
  const s = silentChannels(r);
  return s ? t('silentOn', { ch: s }) : t('yes');
}

// ---- one recording ----

function dl(target, rows) {
  target.replaceChildren();
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === '') continue;
    target.append(el('dt', t(k)), el('dd', String(v)));
  }
}

async function renderRecording(id) {
  setNav('search');
  const main = mount('#tpl-recording');
  $('#r-id', main).textContent = id;
  let rec;
  try {
    rec = await api('/api/v1/recordings/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status !== 401) say(e.message, true);
    return;
  }
  showRecording(main, rec);
  wirePlayer(main, rec);
  wireHold(main, rec);
  showTimeline(main, rec); // timeline.js
}

function showRecording(main, rec) {
  dl($('#r-meta', main), [
    ['started', fmtTime(rec.started_at)], ['answered', rec.answered_at && fmtTime(rec.answered_at)],
    ['ended', rec.ended_at && fmtTime(rec.ended_at)], ['duration', fmtDuration(rec.duration_seconds)],
    ['line', rec.line], ['dialled', rec.dialled],
    ['purpose', rec.purpose + (rec.purpose_description ? ' — ' + rec.purpose_description : '')],
    ['caller', rec.caller + (rec.caller_masked ? ' ' + t('masked') : '')], ['client', rec.client], ['agent', rec.agent],
    ['agentId', rec.agent_id],
    ['state', t(rec.state) || rec.state], ['retainUntil', fmtTime(rec.retain_until)],
    ['hold', rec.legal_hold ? t('heldBecause') + rec.hold_reason : t('no')],
    ['audioSize', rec.audio_size ? t('bytes', { n: rec.audio_size }) : ''], ['audioSha', rec.audio_sha256],
    ['cutShort', rec.cut_short ? t('yes') : ''],
    ['silent', silentChannels(rec)],
  ]);
  const c = rec.consent || {};
  const n = c.notice || {};
  const o = c.opt_out;
  dl($('#r-consent', main), [
    ['decision', c.decision ? t('dec-' + c.decision) : ''], ['noticeFile', n.file], ['noticeSha', n.sha256],
    ['noticeCompleted', n.completed === undefined ? '' : (n.completed ? t('yes') : t('no'))],
    ['optOutDigit', c.opt_out_digit], ['optOut', o ? o.digit + ' · ' + fmtTime(o.at) + ' · ' + o.via : ''],
  ]);
  $('#r-manifest', main).textContent = JSON.stringify(rec.manifest, null, 2);
  const hold = $('#hold-section', main);
  hold.hidden = !rec.can.hold;
  $('#hold-state', main).textContent = rec.legal_hold ? t('heldBecause') + rec.hold_reason : t('notHeld');
  $('#hold-state', main).className = rec.legal_hold ? 'held' : '';
  const btn = $('#hold-toggle', main);
  btn.textContent = rec.legal_hold ? t('releaseHold') : t('placeHold');
  btn.dataset.held = rec.legal_hold ? '1' : '0';
}

// channelGraph routes the element through Web Audio: caller is the left
// channel, agent the right; each mode sets four gains (source channel to
// output ear) so either voice can be heard alone in both ears.
function channelGraph(audio) {
  if (state.audio && state.audio.element === audio) return state.audio;
  if (state.audio) state.audio.ctx.close();
  const ctx = new AudioContext();
  const src = ctx.createMediaElementSource(audio);
  const split = ctx.createChannelSplitter(2);
  const merge = ctx.createChannelMerger(2);
  src.connect(split);
  const g = {};
  for (const [name, from, to] of [['LL', 0, 0], ['LR', 0, 1], ['RL', 1, 0], ['RR', 1, 1]]) {
    g[name] = ctx.createGain();
    split.connect(g[name], from);
    g[name].connect(merge, 0, to);
  }
  merge.connect(ctx.destination);
  state.audio = { ctx, element: audio, g };
  return state.audio;
}

function setChannels(mode) {
  if (!state.audio) return;
  const m = { both: [1, 0, 0, 1], caller: [1, 1, 0, 0], agent: [0, 0, 1, 1] }[mode];
  ['LL', 'LR', 'RL', 'RR'].forEach((k, i) => { state.audio.g[k].gain.value = m[i]; });
  const fs = $('#channels');
  if (fs) fs.dataset.gains = m.join(','); // what is routed where, for tests and the curious
}

const speeds = ['0.5', '0.75', '1', '1.25', '1.5', '2'];

// skip moves the playing position by sec, within the audio.
function skip(audio, sec) {
  if (!audio.src) return;
  const end = Number.isFinite(audio.duration) ? audio.duration : Infinity;
  audio.currentTime = Math.min(Math.max(0, audio.currentTime + sec), end);
}

// setSpeed sets the playback rate from the speed list (step moves along it).
function setSpeed(audio, sel, step) {
  const i = Math.min(Math.max(0, speeds.indexOf(sel.value) + step), speeds.length - 1);
  sel.value = speeds[i];
  audio.playbackRate = Number(sel.value);
}

// drawWave draws one channel's peaks, the part already played darker.
function drawWave(canvas, peaks, played) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, n = peaks.length;
  ctx.clearRect(0, 0, w, h);
  for (let i = 0; i < n; i++) {
    const x = i * w / n, v = Math.max(1, peaks[i] * h);
    ctx.fillStyle = x < played * w ? '#0b5cad' : '#8c959f';
    ctx.fillRect(x, (h - v) / 2, Math.max(1, w / n - 0.5), v);
  }
}

// loadWaveform asks the API for the recording's peaks (an audited read,
// with the listener's reason) and draws them under the player; a click
// on either channel seeks there.
async function loadWaveform(main, rec, reason) {
  const view = state.view;
  let wf;
  try {
    wf = await api('/api/v1/recordings/' + rec.id + '/waveform?buckets=600', { headers: { 'X-Kiroku-Reason': encodeURIComponent(reason) } });
  } catch (e) {
    return; // no waveform (refused, or audio in no stored format): the player works without it
  }
  if (view !== state.view) return;
  const audio = $('#audio', main);
  const box = $('#waveform', main);
  const canvases = [$('#wave-caller', main), $('#wave-agent', main)];
  const draw = () => {
    const played = audio.duration ? audio.currentTime / audio.duration : 0;
    canvases.forEach((c, i) => drawWave(c, wf.channels[i] || [], played));
  };
  box.dataset.buckets = String(wf.channels[0].length);
  box.dataset.seconds = String(wf.seconds);
  box.hidden = false;
  draw();
  audio.addEventListener('timeupdate', draw);
  for (const c of canvases) {
    c.addEventListener('click', (ev) => {
      const r = c.getBoundingClientRect();
      const total = Number.isFinite(audio.duration) ? audio.duration : wf.seconds;
      audio.currentTime = Math.min(Math.max(0, (ev.clientX - r.left) / r.width), 1) * total;
      draw();
    });
  }
}

// playerKeys: k play or pause, j and l 10 s back and forward, < and >
// slower and faster, on the recording page, outside text fields.
function playerKeys(ev) {
  const audio = $('#audio');
  if (!audio || !audio.src || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target.closest && ev.target.closest('input, select, textarea, [contenteditable]')) return;
  const sel = $('#speed');
  switch (ev.key) {
    case 'k': if (audio.paused) { if (state.audio) state.audio.ctx.resume(); audio.play(); } else audio.pause(); break;
    case 'j': skip(audio, -10); break;
    case 'l': skip(audio, 10); break;
    case '<': setSpeed(audio, sel, -1); break;
    case '>': setSpeed(audio, sel, 1); break;
    default: return;
  }
  ev.preventDefault();
}

// watchStall restarts playback that stopped moving: a media pipeline can
// stall (seen in Chromium after quick seeks on a loaded machine) with
// the audio buffered, playing and no error. Three seconds without
// progress while playing, the position is set again and the audio graph
// resumed; the count is kept on the element for tests and the curious.
function watchStall(audio) {
  const view = state.view;
  let last = -1, still = 0;
  const timer = setInterval(() => {
    if (view !== state.view) { clearInterval(timer); return; }
    if (audio.paused || audio.ended || !audio.src) { still = 0; last = -1; return; }
    if (audio.currentTime !== last) { last = audio.currentTime; still = 0; return; }
    if (++still < 3) return;
    still = 0;
    audio.dataset.restarts = String(Number(audio.dataset.restarts || 0) + 1);
    if (state.audio && state.audio.ctx.state === 'suspended') state.audio.ctx.resume();
    audio.currentTime = audio.currentTime;
  }, 1000);
}

function wirePlayer(main, rec) {
  const audio = $('#audio', main);
  $('#back10', main).addEventListener('click', () => skip(audio, -10));
  $('#fwd10', main).addEventListener('click', () => skip(audio, 10));
  $('#speed', main).addEventListener('change', () => setSpeed(audio, $('#speed', main), 0));
  if (!rec.has_audio) {
    $('#no-audio', main).hidden = false;
    $('#play-form', main).hidden = true;
    $('#transport', main).hidden = true;
    $('#shortcuts', main).hidden = true;
    audio.hidden = true;
    $('#channels', main).hidden = true;
    return;
  }
  const mode = () => main.querySelector('input[name="ch"]:checked').value;
  main.querySelectorAll('input[name="ch"]').forEach((r) => r.addEventListener('change', () => setChannels(mode())));
  const ticket = async (download) => {
    const reason = $('#reason', main).value.trim();
    if (!reason) { sayT('needReason', null, true); $('#reason', main).focus(); return null; }
    return api('/api/v1/recordings/' + rec.id + '/audio-ticket', { method: 'POST', body: { reason, download } });
  };
  $('#play-form', main).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const g = channelGraph(audio);
      await g.ctx.resume();
      setChannels(mode());
      const tk = await ticket(false);
      if (!tk) return;
      const first = !audio.src;
      audio.src = tk.url;
      await audio.play();
      if (first) watchStall(audio);
      audio.playbackRate = Number($('#speed', main).value); // a new source starts at 1×
      sayT('playing');
      loadWaveform(main, rec, $('#reason', main).value.trim());
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
    }
  });
  $('#download', main).addEventListener('click', async () => {
    try {
      const tk = await ticket(true);
      if (!tk) return;
      const a = el('a', '', { href: tk.url, download: rec.audio_file || rec.id + '.wav' });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
    }
  });
}

function wireHold(main, rec) {
  $('#hold-form', main).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const reason = $('#hold-reason', main).value.trim();
    if (!reason) { sayT('needReason', null, true); return; }
    const on = $('#hold-toggle', main).dataset.held !== '1';
    const btn = $('#hold-toggle', main);
    btn.disabled = true;
    try {
      await api('/api/v1/recordings/' + rec.id + '/hold', { method: on ? 'PUT' : 'DELETE',
        headers: { 'X-Kiroku-Reason': encodeURIComponent(reason) } });
      const fresh = await api('/api/v1/recordings/' + rec.id);
      showRecording(main, fresh);
      $('#hold-reason', main).value = '';
      say(on ? t('holdPlaced') : t('holdReleased'));
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
    } finally {
      btn.disabled = false;
    }
  });
}

// ---- audit ----

function renderAudit() {
  setNav('audit');
  const main = mount('#tpl-audit');
  const sel = $('#a-action', main);
  for (const a of auditActions) sel.append(el('option', a, { value: a }));
  let after = 0;
  const form = $('#audit-form', main);
  const load = async (more) => {
    try {
      const p = formParams(form);
      if (more) p.set('after', after);
      const res = await api('/api/v1/audit?' + p.toString());
      const body = $('#audit-table', main).tBodies[0];
      if (!more) body.replaceChildren();
      for (const e of res.entries) {
        const tr = el('tr');
        const target = el('td');
        if (/^[0-9a-f-]{36}$/.test(e.target || '')) target.append(el('a', e.target, { href: '#/recordings/' + e.target }));
        else target.textContent = e.target || '';
        tr.append(el('td', e.seq), el('td', fmtTime(e.at)), el('td', e.actor), el('td', e.action), target,
          el('td', e.reason || ''), el('td', e.detail ? JSON.stringify(e.detail) : '', { class: 'detail' }));
        body.append(tr);
      }
      after = res.next_after || 0;
      $('#audit-table', main).hidden = body.rows.length === 0;
      $('#audit-more', main).hidden = !res.next_after;
      say('');
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  $('#audit-more', main).addEventListener('click', () => load(true));
  $('#verify', main).addEventListener('click', async () => {
    try {
      const v = await api('/api/v1/audit/verify');
      $('#verify-result', main).textContent = v.ok ? t('verifyOk', { n: v.entries }) : t('verifyBroken', { seq: v.broken_at, why: v.why });
      $('#verify-result', main).className = v.ok ? '' : 'held';
    } catch (e) {
      if (e.status !== 401) say(e.message, true);
    }
  });
  load(false);
}

// ---- incident report ----

// clientField turns the free-text client field id into a select of the
// token's clients when the token is scoped to some.
function clientField(main, id, any) {
  const cs = state.me.clients || [];
  if (!cs.length) return;
  const input = $('#' + id, main);
  const sel = el('select', null, { id, name: input.name });
  if (any) sel.append(el('option', t('any'), { value: '', 'data-i18n': 'any' }));
  for (const c of cs) sel.append(el('option', c.name ? c.id + ' — ' + c.name : c.id, { value: c.id }));
  input.replaceWith(sel);
}

function renderIncidents() {
  setNav('incidents');
  const main = mount('#tpl-incidents');
  clientField(main, 'i-client', true);
  const form = $('#inc-form', main);
  let query = null; // the query of the report shown, for its CSV
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = $('#inc-btn', main);
    const view = state.view;
    btn.disabled = true;
    sayT('loading');
    try {
      const p = formParams(form);
      const rep = await api('/api/v1/incidents?' + p.toString());
      if (view !== state.view) return;
      query = p;
      state.redraw = () => showIncident(main, rep);
      say('');
      showIncident(main, rep);
    } catch (e) {
      if (view !== state.view) return;
      $('#inc-report', main).hidden = true;
      if (e.status !== 401) say(e.message, true);
    } finally {
      btn.disabled = false;
    }
  });
  $('#inc-csv', main).addEventListener('click', () => {
    const p = new URLSearchParams(query);
    p.set('format', 'csv');
    saveAs('/api/v1/incidents?' + p.toString(), 'incident-report.csv');
  });
}

// entryRow is one audit entry of a report as a table row; target, when
// given, fills the fourth cell instead of the action.
function entryRow(e, target) {
  const tr = el('tr');
  tr.append(el('td', e.seq), el('td', fmtTime(e.at)), el('td', e.actor),
    target ? el('td', e.target || '') : el('td', e.action), el('td', e.reason || ''));
  return tr;
}

function showIncident(main, rep) {
  dl($('#inc-figures', main), [
    ['generated', fmtTime(rep.generated_at)], ['figRecordings', rep.recordings.length],
    ['figEntries', rep.audit_entries + (rep.first_seq ? ' (#' + rep.first_seq + '–#' + rep.last_seq + ')' : '')],
    ['figCallers', rep.callers.length], ['figDeleted', rep.callers_unknown], ['figDenied', rep.denied.length],
    ['figWithheld', rep.recordings_withheld],
  ]);
  $('#inc-withheld', main).textContent = rep.recordings_withheld ? t('incWithheld', { n: rep.recordings_withheld }) : '';
  const table = $('#inc-recs', main);
  table.querySelectorAll('tbody').forEach((b) => b.remove());
  for (const r of rep.recordings) {
    const body = el('tbody', null, { 'data-id': r.id });
    const head = el('th', null, { scope: 'rowgroup', colspan: '5', class: 'group' });
    // A deleted recording has nothing left to open.
    head.append(r.state === 'deleted' ? el('code', r.id) : el('a', r.id, { href: '#/recordings/' + r.id }));
    const facts = [['client', r.client], ['purpose', r.purpose], ['line', r.line],
      ['started', r.started_at && fmtTime(r.started_at)], ['caller', r.caller],
      ['state', t(r.state) + (r.deleted ? ' (' + r.deleted + ')' : '')]]
      .filter(([, v]) => v).map(([k, v]) => t(k) + ': ' + v);
    const kinds = ['accessed', 'exported', 'changed'].filter((k) => r[k]).map((k) => t('kind-' + k));
    head.append(el('span', ' · ' + facts.concat(kinds.length ? [kinds.join(', ')] : []).join(' · ')));
    body.append(el('tr'));
    body.rows[0].append(head);
    for (const e of r.entries) body.append(entryRow(e));
    table.append(body);
  }
  table.hidden = rep.recordings.length === 0;
  $('#inc-no-recs', main).hidden = rep.recordings.length !== 0;
  const callers = $('#inc-callers', main);
  callers.replaceChildren(...rep.callers.map((c) => el('li', c)));
  if (!rep.callers.length) callers.append(el('li', t('incNoCallers')));
  $('#inc-unknown', main).textContent = rep.callers_unknown ? t('incUnknown', { n: rep.callers_unknown }) : '';
  for (const [id, list, target] of [['#inc-denied', rep.denied, true], ['#inc-other', rep.other, false]]) {
    const tb = $(id, main);
    tb.tBodies[0].replaceChildren(...list.map((e) => entryRow(e, target)));
    tb.hidden = list.length === 0;
  }
  $('#inc-report', main).hidden = false;
}

// ---- contract ends (read only: runs start and are confirmed with kirokuctl) ----

function canContracts() {
  return state.me.can.contract_end || state.me.can.incident;
}

function itemCounts(items) {
  return Object.keys(items || {}).sort().map((k) => t('item-' + k) + ' ' + items[k]).join(' · ');
}

async function renderContracts() {
  setNav('contract-ends');
  const main = mount('#tpl-contracts');
  const view = state.view;
  let runs = null;
  let plan = null;
  const redraw = () => {
    if (runs) showRuns(main, runs);
    if (plan) showPlan(main, plan);
  };
  if (state.me.can.contract_end) {
    $('#ce-plan-section', main).hidden = false;
    clientField(main, 'ce-client', false);
    $('#ce-plan-form', main).addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const btn = $('#ce-plan-btn', main);
      btn.disabled = true;
      sayT('loading');
      plan = null;
      try {
        const client = $('#ce-client', main).value.trim();
        const p = await api('/api/v1/clients/' + encodeURIComponent(client) + '/contract-end');
        if (view !== state.view) return;
        plan = p;
        say('');
      } catch (e) {
        if (view !== state.view) return;
        if (e.status !== 401) say(e.message, true);
      } finally {
        btn.disabled = false;
      }
      showPlan(main, plan);
      state.redraw = redraw;
    });
  }
  try {
    const res = await api('/api/v1/contract-ends');
    if (view !== state.view) return;
    runs = res.runs;
  } catch (e) {
    if (view === state.view && e.status !== 401) say(e.message, true);
    return;
  }
  showRuns(main, runs);
  state.redraw = redraw;
}

function showRuns(main, runs) {
  const table = $('#ce-runs', main);
  table.tBodies[0].replaceChildren(...runs.map((r) => {
    const tr = el('tr', null, { 'data-id': r.id });
    const started = el('td');
    started.append(el('a', fmtTime(r.started_at), { href: '#/contract-ends/' + r.id }));
    tr.append(el('td', r.client), el('td', t('ce-' + r.state)), started,
      el('td', r.finished_at ? fmtTime(r.finished_at) : t('none')), el('td', itemCounts(r.items)));
    return tr;
  }));
  table.hidden = runs.length === 0;
  $('#ce-none', main).hidden = runs.length !== 0;
}

function showPlan(main, plan) {
  const out = $('#ce-plan', main);
  const blockers = $('#ce-blockers', main);
  if (!plan) {
    out.replaceChildren();
    blockers.replaceChildren();
    return;
  }
  dl(out, [
    ['client', plan.client + (plan.client_name ? ' — ' + plan.client_name : '')],
    ['planRecordings', plan.recordings], ['planWithAudio', plan.with_audio], ['planRestricted', plan.restricted],
    ['planHeld', plan.held], ['planToDestroy', plan.to_destroy], ['planBytes', t('bytes', { n: plan.sealed_bytes })],
    ['planFirst', plan.first && fmtTime(plan.first)], ['planLast', plan.last && fmtTime(plan.last)],
  ]);
  if (plan.unfinished_run) {
    const dd = el('dd');
    dd.append(el('a', plan.unfinished_run.id, { href: '#/contract-ends/' + plan.unfinished_run.id }));
    out.append(el('dt', t('planRun')), dd);
  }
  const bs = plan.blockers || [];
  blockers.replaceChildren(...(bs.length ? [el('li', t('planBlocked'))].concat(bs.map((b) => el('li', b))) : [el('li', t('planOk'))]));
  blockers.className = bs.length ? 'held' : '';
}

async function renderContract(id) {
  setNav('contract-ends');
  const main = mount('#tpl-contract');
  const view = state.view;
  $('#ce-id', main).textContent = id;
  let run;
  let text = '';
  try {
    run = await api('/api/v1/contract-ends/' + id);
    if (run.certificate) text = await (await request('/api/v1/contract-ends/' + id + '/certificate?format=text')).text();
  } catch (e) {
    if (view === state.view && e.status !== 401) say(e.message, true);
    return;
  }
  if (view !== state.view) return;
  const show = () => {
    const tg = run.target || {};
    dl($('#ce-meta', main), [
      ['client', run.client], ['state', t('ce-' + run.state)],
      ['returnedTo', tg.kind === 's3' ? 's3://' + tg.bucket + '/' + (tg.prefix || '') : 'ZIP'],
      ['operators', (run.operators || []).join(', ')], ['started', fmtTime(run.started_at)],
      ['finished', run.finished_at && fmtTime(run.finished_at)], ['ceCounts', itemCounts(run.items)],
      ['auditRange', run.audit_first_seq ? '#' + run.audit_first_seq + '–#' + (run.audit_last_seq || '') : ''],
    ]);
  };
  show();
  state.redraw = show;
  const certified = !!run.certificate;
  $('#ce-no-cert', main).hidden = certified;
  $('#ce-cert', main).hidden = !certified;
  $('#ce-cert', main).textContent = text;
  $('#ce-json', main).hidden = !certified;
  $('#ce-json', main).addEventListener('click', () => saveAs('/api/v1/contract-ends/' + id + '/certificate?format=json', 'certificate-' + id + '.json'));
}

// ---- routing ----

async function render() {
  const hash = location.hash || '#/search';
  if (!state.token) {
    if (hash !== '#/signin') { state.after = hash; location.hash = '#/signin'; return; }
    renderSignIn();
    return;
  }
  if (!state.me) {
    try { state.me = await api('/api/v1/me'); } catch (e) { return; }
  }
  say('');
  const m = hash.match(/^#\/recordings\/([0-9a-f-]{36})$/);
  if (m) return renderRecording(m[1]);
  if (hash === '#/audit' && state.me.can.audit) return renderAudit();
  if (hash === '#/incidents' && state.me.can.incident) return renderIncidents();
  if (hash === '#/contract-ends' && canContracts()) return renderContracts();
  const ce = hash.match(/^#\/contract-ends\/([0-9a-f-]{36})$/);
  if (ce && canContracts()) return renderContract(ce[1]);
  const page = pages.find((p) => p.match(hash));
  if (page) return page.render(hash);
  if (typeof privacyRoute === 'function' && privacyRoute(hash)) return; // privacy.js
  if (hash !== '#/search') { location.hash = '#/search'; return; }
  renderSearch();
}

window.addEventListener('hashchange', render);
document.addEventListener('DOMContentLoaded', () => {
  $('#lang').addEventListener('click', () => {
    state.lang = state.lang === 'ja' ? 'en' : 'ja';
    localStorage.setItem('kiroku.lang', state.lang);
    translate();
    setNav(state.nav);
    loadZone();
    if (state.said) sayT(state.said.key, state.said.params, state.said.problem);
    if (state.redraw) state.redraw();
  });
  $('#signout').addEventListener('click', () => signOut());
  document.addEventListener('keydown', playerKeys);
  $('#tz').addEventListener('change', () => {
    state.tz = $('#tz').value;
    if (state.me) localStorage.setItem('kiroku.tz.' + state.me.name, state.tz);
    zoneNotes();
    if (state.redraw) state.redraw(); else render();
  });
  translate();
  render();
});
