// The staffsync admin console: the guide's four set-up steps as a wizard, then checks, dry
// runs, Sync Now, runs, the protocol, hand-over and secret rotation. Plain DOM, no
// framework: every text goes in through textContent, never as HTML.

import { call, tokenTenant, ApiError } from './api.js';
import { t, label, apply, getLang, setLang } from './i18n.js';

const PHASES = ['users', 'workspaces', 'timesheets', 'absences'];
const AREAS = [...PHASES, 'setup'];
const STATUSES = ['active', 'onboarding', 'leave', 'inactive'];
const TERMINAL = ['succeeded', 'partially_failed', 'failed', 'skipped'];
const MAIN_FLAGS = ['enable_background_sync', 'enable_personio_hire_date', 'enable_personio_last_working_day',
  'only_approved_staffomatic_absences', 'only_verified_staffomatic_work_timers', 'invite_staffomatic_users'];
const TOKEN_KEY = 'staffsync.token';
const PAGE = 200;

const $ = (id) => document.getElementById(id);

const state = {
  token: '', role: '', tenantId: '', tenant: null, view: '',
  employees: null, explicitOn: new Set(), explicitOff: new Set(), selection: null, shown: PAGE,
  dry: null, syncRows: [], checks: null, runsCursor: '', protoCursor: '',
};

// ------------------------------------------------------------------ small helpers

/** el builds an element; children are nodes or strings (always text). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function clear(node) { node.replaceChildren(); }

function showError(err) {
  const box = $('error');
  for (const i of document.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  if (!err) { box.textContent = ''; box.hidden = true; return; }
  // The field the API names is marked in the form the admin is looking at.
  const input = err.field ? document.querySelector(`#view-${state.view} [data-field="${CSS.escape(err.field)}"]`) : null;
  if (input) input.setAttribute('aria-invalid', 'true');
  const msg = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  box.replaceChildren(el('strong', { text: msg }));
  // The field by the label the admin sees (the API's name of it when it is not on screen).
  const lbl = input && input.id ? document.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
  const fieldName = lbl ? lbl.textContent.trim() : err.field;
  if (fieldName) box.append(' ', el('span', { class: 'small', text: t('errField', { field: fieldName }) }));
  if (err.detail) box.append(el('div', { class: 'small detail', text: err.detail }));
  box.hidden = false;
}

/**
 * ourWords is err said in the page's language (key), with the API's own sentence kept
 * beside it in small print as the detail an operator may need.
 */
function ourWords(err, key) {
  const e = new ApiError(err.status, err.code, t(key));
  e.detail = err.message;
  return e;
}

function notice(text) { $('notice').textContent = text || ''; }

/** run wraps an action: clears the messages, disables the button, shows any error. */
async function run(button, fn) {
  showError(null);
  notice('');
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && state.role === 'tenant') {
      signOut();
      showError(ourWords(err, 'errExpired'));
      return undefined;
    }
    showError(err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

const api = (name, params = {}, opts = {}) => call(state.token, name, { id: state.tenantId, ...params }, opts);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fmtTime(s) {
  if (!s) return '–';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString(getLang() === 'de' ? 'de-DE' : 'en-GB');
}

function countsText(counts) {
  if (!counts) return '';
  return Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${t('count_' + k)}`).join(' · ') || '–';
}

function statusBadge(status) {
  return el('span', { class: 'badge st-' + status, 'data-status': status, text: t('status_' + status) });
}

// ------------------------------------------------------------------ sign-in and views

function setToken(token) {
  state.token = token;
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off: this page only */ }
}

/**
 * forgetTenantForms empties the forms a tenant's data fills, so the next tenant signed in
 * to in this tab does not see the last one's credentials, filters or protocol filter.
 */
function forgetTenantForms() {
  for (const id of ['cred-form', 'rules-form', 'proto-form', 'runs-form', 'handover-form']) $(id).reset();
  delete $('cred-form').dataset.filled;
  for (const id of ['sel-search']) $(id).value = '';
  for (const id of ['sel-status', 'sel-show']) $(id).value = '';
}

function signOut() {
  forgetTenantForms();
  state.token = ''; state.role = ''; state.tenantId = ''; state.tenant = null; state.employees = null;
  state.dry = null; state.syncRows = []; state.checks = null; state.credResult = null;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
  $('nav').hidden = true;
  $('signout').hidden = true;
  $('tenant-name').textContent = '';
  $('signin-token').value = '';
  show('signin');
}

async function signIn(token) {
  token = token.trim();
  const tid = tokenTenant(token);
  if (tid) {
    let tenant;
    try {
      tenant = await call(token, 'getTenant', { id: tid });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        throw ourWords(err, 'errSignin');
      }
      throw err;
    }
    setToken(token);
    if (tid !== state.tenantId) forgetTenantForms();
    Object.assign(state, { role: 'tenant', tenantId: tid, tenant, employees: null, dry: null, syncRows: [], checks: null });
    $('tenant-name').textContent = tenant.name;
    $('nav').hidden = false;
    $('signout').hidden = false;
    return;
  }
  try {
    await call(token, 'listTenants', { limit: 1 });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      throw ourWords(err, 'errNotToken');
    }
    throw err;
  }
  setToken(token);
  Object.assign(state, { role: 'operator', tenantId: '', tenant: null });
  $('nav').hidden = true;
  $('signout').hidden = false;
  $('tenant-name').textContent = '';
}

function firstView() {
  const runs = state.tenant && state.tenant.last_runs ? Object.values(state.tenant.last_runs).filter(Boolean) : [];
  return runs.length ? 'sync' : 'selection';
}

const renderers = {
  credentials: renderCredentials, sources: renderSources, selection: renderSelection, settings: renderSettings,
  checks: () => { drawChecks(); if (!state.checks) runChecks(); }, dryrun: renderDryButtons, sync: renderSyncButtons, runs: renderRunsFilter, protocol: renderProtoFilter, admin: () => {},
};

function show(view, { focus = true } = {}) {
  state.view = view;
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + view;
  for (const b of document.querySelectorAll('nav button[data-view]')) {
    if (b.dataset.view === view) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  }
  const r = renderers[view];
  if (r) r();
  if (focus) {
    const h = document.querySelector('#view-' + view + ' h1');
    if (h) { h.tabIndex = -1; h.focus(); }
  }
}

async function refreshTenant() {
  state.tenant = await api('getTenant');
  $('tenant-name').textContent = state.tenant.name;
}

// ------------------------------------------------------------------ step 1: credentials

function credMode() { return document.querySelector('input[name="cred-mode"]:checked').value; }

function renderCredentials() {
  const creating = state.role === 'operator';
  $('cred-name-row').hidden = !creating;
  $('cred-name').required = creating;
  $('cred-keep').hidden = creating; // an existing tenant's secrets are never read back
  document.querySelector('#cred-h [data-i18n="credTitle"]').textContent = creating ? t('credNewTitle') : t('credTitle');
  // The last report stays (drawn again in another language) until the next save.
  if (state.credResult) showMissing(state.credResult); else $('cred-result').hidden = true;
  const tn = state.tenant;
  if (tn && !$('cred-form').dataset.filled) {
    $('cred-client-id').value = tn.personio.client_id || '';
    $('cred-personio-url').value = tn.personio.base_url || '';
    $('cred-subdomain').value = tn.staffomatic.subdomain || '';
    $('cred-email').value = tn.staffomatic.admin_email || '';
    $('cred-staffomatic-url').value = tn.staffomatic.base_url || '';
    $('cred-form').dataset.filled = '1';
  }
  toggleCredMode();
}

function toggleCredMode() {
  const file = credMode() === 'file';
  $('cred-typed').hidden = file;
  $('cred-filerow').hidden = !file;
}

async function credentialsBody() {
  const body = {};
  const personioURL = $('cred-personio-url').value.trim();
  if (credMode() === 'file') {
    const f = $('cred-file').files[0];
    if (!f) throw new ApiError(0, 'invalid', t('credNoFile'), 'personio_credentials_file');
    // The file carries the id and secret only: the API would use Personio's own address.
    if (personioURL) throw new ApiError(0, 'invalid', t('credFileURL'), 'personio.base_url');
    body.personio_credentials_file = await f.text();
  } else if ($('cred-client-id').value.trim() || $('cred-client-secret').value) {
    body.personio = { client_id: $('cred-client-id').value.trim(), client_secret: $('cred-client-secret').value };
    if (personioURL) body.personio.base_url = personioURL;
  }
  const staffomatic = { subdomain: $('cred-subdomain').value.trim(), email: $('cred-email').value.trim() };
  if ($('cred-password').value) staffomatic.password = $('cred-password').value;
  if ($('cred-staffomatic-url').value.trim()) staffomatic.base_url = $('cred-staffomatic-url').value.trim();
  body.staffomatic = staffomatic;
  body.verify = $('cred-verify').checked;
  return body;
}

/** attrName is a Personio attribute's name in the page's language (the API's name otherwise). */
function attrName(a) {
  const name = label('attr_', a.key);
  return name === a.key ? a.name : name;
}

function showMissing(res) {
  state.credResult = res;
  $('cred-verified').textContent = res.verified ? t('credVerified') : t('credNotVerified');
  const missing = res.missing_personio_attributes || [];
  const intro = $('cred-missing-intro');
  intro.className = missing.length ? '' : 'ok';
  intro.textContent = missing.length ? t('credMissingIntro') : t('credAllAttributes');
  // By the name Personio shows in the admin's language (the guide's list), with its key.
  $('cred-missing').replaceChildren(...missing.map((a) => el('li', { class: 'bad', 'data-key': a.key }, attrName(a), ' ', el('code', { text: a.key }))));
  $('cred-result').hidden = false;
}

async function saveCredentials(ev) {
  ev.preventDefault();
  await run($('cred-save'), async () => {
    const body = await credentialsBody();
    if (state.role === 'operator') {
      body.name = $('cred-name').value.trim();
      const created = await call(state.token, 'createTenant', {}, { body });
      $('cred-client-secret').value = '';
      $('cred-password').value = '';
      await secrets({ admin_token: created.admin_token, ...created.webhook_secrets,
        personio_url: created.webhooks.personio_url, staffomatic_url: created.webhooks.staffomatic_url });
      await signIn(created.admin_token);
      show('credentials', { focus: false });
      notice(t('credCreated', { id: created.tenant_id }));
      showMissing(created);
      $('cred-next').focus();
      return;
    }
    const res = await api('putCredentials', {}, { body });
    // The employees and checks were read with the old credentials: step 3 and the checks
    // read them again with the new ones.
    state.employees = null;
    state.checks = null;
    $('cred-client-secret').value = '';
    $('cred-password').value = '';
    if (res.personio_webhook_token) await secrets({ personio_token: res.personio_webhook_token });
    await refreshTenant();
    notice(t('saved'));
    showMissing(res);
    $('cred-next').focus();
  });
}

// ------------------------------------------------------------------ step 2: sources

function renderSources() {
  if (!state.tenant) return;
  const s = state.tenant.sources;
  $('src-ts-' + s.timesheets).checked = true;
  $('src-abs-' + s.absences).checked = true;
}

async function saveSources(ev) {
  ev.preventDefault();
  await run($('src-save'), async () => {
    const body = {
      timesheets: document.querySelector('input[name="src-ts"]:checked').value,
      absences: document.querySelector('input[name="src-abs"]:checked').value,
    };
    const res = await api('putSources', {}, { body });
    state.tenant.sources = res.sources;
    notice(t('saved'));
    show('selection');
  });
}

// ------------------------------------------------------------------ step 3: selection

async function loadEmployees() {
  const all = [];
  let cursor = '';
  do {
    const page = await api('listEmployees', { limit: 500, cursor });
    all.push(...page.employees);
    cursor = page.next_cursor;
  } while (cursor);
  const sel = await api('getSelection');
  setSelection(sel);
  state.employees = all;
}

function setSelection(sel) {
  state.selection = sel;
  state.explicitOn = new Set(sel.selected);
  state.explicitOff = new Set(sel.deselected);
}

async function renderSelection() {
  fillRules();
  if (state.employees) { fillStatuses(); drawEmployees(); return; }
  $('sel-count').textContent = t('selLoading');
  clear($('sel-body'));
  await run(null, async () => {
    await loadEmployees();
    fillStatuses();
    fillRules();
    drawEmployees();
  });
}

/** fillStatuses offers the Personio statuses the employees have, in the page's language. */
function fillStatuses() {
  const statuses = [...new Set(state.employees.map((e) => e.personio_status))].sort();
  const select = $('sel-status');
  const keep = select.value;
  select.replaceChildren(el('option', { value: '', text: t('all') }), ...statuses.map((s) => el('option', { value: s, text: label('pstatus_', s) })));
  select.value = keep;
}

function filtered() {
  const status = $('sel-status').value;
  const q = $('sel-search').value.trim().toLowerCase();
  const showing = $('sel-show').value;
  return (state.employees || []).filter((e) => {
    if (status && e.personio_status !== status) return false;
    if (showing === 'on' && !e.selected) return false;
    if (showing === 'off' && e.selected) return false;
    if (showing === 'problem' && e.match !== 'none' && e.match !== 'conflict') return false;
    if (!q) return true;
    return [e.first_name + ' ' + e.last_name, e.email, e.personio_id, e.staffomatic_user_id].some((v) => (v || '').toLowerCase().includes(q));
  });
}

const MATCH_TEXT = { email: 'matchEmail', custom_id: 'matchCustomId', none: 'matchNone', conflict: 'matchConflict' };

/** matchText: no match creates a user only for an employee switched on. */
function matchText(e) {
  if (e.match === 'none' && !e.selected) return t('matchNoneOff');
  return t(MATCH_TEXT[e.match] || 'matchNone');
}

function drawEmployees() {
  const rows = filtered();
  const body = $('sel-body');
  clear(body);
  const on = (state.employees || []).filter((e) => e.selected).length;
  $('sel-count').textContent = t('selCount', { shown: rows.length, total: (state.employees || []).length, on });
  if (!rows.length) body.append(el('tr', {}, el('td', { colspan: 5, text: t('selNone') })));
  for (const e of rows.slice(0, state.shown)) {
    const name = `${e.first_name} ${e.last_name}`.trim() || e.personio_id;
    const nameId = 'emp-name-' + e.personio_id;
    const box = el('input', { type: 'checkbox', role: 'switch', id: 'emp-' + e.personio_id, 'data-pid': e.personio_id,
      'aria-label': t('selSwitchLabel', { name }), onchange: (ev) => toggleEmployee(e, ev.target) });
    box.checked = e.selected;
    const how = state.explicitOn.has(e.personio_id) || state.explicitOff.has(e.personio_id) ? t('selByYou') : t('selByRule');
    body.append(el('tr', { 'data-pid': e.personio_id },
      el('td', {}, el('span', { class: 'switch' }, box, el('span', { class: 'small', text: e.selected ? t('yes') : t('no') })), el('div', { class: 'small', text: how })),
      el('td', { id: nameId }, el('div', { text: name }), el('div', { class: 'small', text: [e.email, '#' + e.personio_id].filter(Boolean).join(' · ') })),
      el('td', { 'data-status': e.personio_status, text: label('pstatus_', e.personio_status) }),
      el('td', {}, el('span', { class: 'badge m-' + e.match, text: matchText(e) }),
        e.staffomatic_user_id ? el('div', { class: 'small', text: '#' + e.staffomatic_user_id }) : null),
      el('td', { class: 'reason', text: e.match_reason || '' })));
  }
  $('sel-more').hidden = rows.length <= state.shown;
}

async function toggleEmployee(emp, box) {
  const want = box.checked;
  box.disabled = true;
  const ok = await run(null, async () => {
    const sel = await api('putSelection', {}, { body: want ? { select: [emp.personio_id] } : { deselect: [emp.personio_id] } });
    setSelection(sel);
    emp.selected = want;
    return true;
  });
  if (!ok) box.checked = !want;
  box.disabled = false;
  const id = box.id;
  drawEmployees();
  const again = $(id);
  if (again) again.focus();
}

async function bulk(kind, button) {
  const ids = filtered().map((e) => e.personio_id);
  if (!ids.length) return;
  const question = { select: 'selBulkConfirmOn', deselect: 'selBulkConfirmOff', clear: 'selBulkConfirmClear' }[kind];
  if (!(await confirmDialog(t(question, { n: ids.length })))) return;
  await run(button, async () => {
    for (let i = 0; i < ids.length; i += 1000) {
      setSelection(await api('putSelection', {}, { body: { [kind]: ids.slice(i, i + 1000) } }));
    }
    await loadEmployees();
    drawEmployees();
    notice(t('selBulkDone', { n: ids.length }));
  });
}

function fillRules() {
  const ai = (state.selection && state.selection.auto_include) || {};
  for (const s of STATUSES) $('rule-st-' + s).checked = (ai.statuses || []).includes(s);
  $('rule-offices').value = (ai.offices || []).join(', ');
  $('rule-departments').value = (ai.departments || []).join(', ');
  $('rule-attr-key').value = ai.attribute ? ai.attribute.key : '';
  $('rule-attr-value').value = ai.attribute ? ai.attribute.value : '';
  $('rule-match').value = ai.match || 'all';
}

const splitList = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

async function saveRules(ev) {
  ev.preventDefault();
  await run($('rules-save'), async () => {
    const ai = { match: $('rule-match').value, statuses: STATUSES.filter((s) => $('rule-st-' + s).checked),
      offices: splitList($('rule-offices').value), departments: splitList($('rule-departments').value) };
    const key = $('rule-attr-key').value.trim();
    if (key || $('rule-attr-value').value.trim()) ai.attribute = { key, value: $('rule-attr-value').value.trim() };
    setSelection(await api('putSelection', {}, { body: { auto_include: ai } }));
    await loadEmployees();
    drawEmployees();
    notice(t('rulesSaved'));
  });
}

// ------------------------------------------------------------------ step 4: settings

function settingRow(key, input) {
  const help = 'help-' + key;
  input.id = 'set-' + key;
  input.setAttribute('aria-describedby', help);
  return el('div', { class: 'setting' },
    el('div', { class: 'check' }, input, el('label', { for: input.id, text: t('setting_' + key) })),
    el('p', { class: 'hint', id: help, text: t('help_' + key) }));
}

// The type-id lists the API's settings hold (every other setting is a switch).
const TYPE_IDS = ['fallback_personio_time_off_type_ids_for_entitlements',
  'personio_time_off_type_ids_for_vacation_days_deduction', 'personio_time_off_type_ids_for_paid_vacations'];

/**
 * renderSettings shows the guide's important settings first and every other setting the
 * API returns under "further settings", so a setting the API adds is never hidden.
 */
function renderSettings() {
  if (!state.tenant) return;
  const s = state.tenant.settings;
  // data-field is the name the API's errors give the setting, so an error marks it.
  const flag = (k) => { const i = el('input', { type: 'checkbox', 'data-key': k, 'data-field': k }); i.checked = !!s[k]; return settingRow(k, i); };
  const ids = (k) => {
    const help = 'help-' + k;
    return el('div', { class: 'setting row' },
      el('label', { for: 'set-' + k, text: t('setting_' + k) }),
      el('input', { type: 'text', id: 'set-' + k, 'data-ids': k, 'data-field': k, inputmode: 'numeric', value: (s[k] || []).join(', '), 'aria-describedby': help }),
      el('p', { class: 'hint', id: help, text: t('help_' + k) + ' ' + t('setTypeIdsHint') }));
  };
  const others = [...new Set([...Object.keys(s), ...TYPE_IDS])].filter((k) => !MAIN_FLAGS.includes(k)).sort();
  $('set-flags').replaceChildren(...MAIN_FLAGS.map(flag));
  $('set-more').replaceChildren(...others.filter((k) => typeof s[k] === 'boolean').map(flag),
    ...others.filter((k) => typeof s[k] !== 'boolean').map(ids));
}

async function saveSettings(ev) {
  ev.preventDefault();
  await run($('set-save'), async () => {
    // Only what the admin changed is sent: a setting left out keeps its value.
    const body = {};
    const current = state.tenant.settings;
    for (const i of document.querySelectorAll('#set-form input[data-key]')) {
      if (i.checked !== !!current[i.dataset.key]) body[i.dataset.key] = i.checked;
    }
    for (const i of document.querySelectorAll('#set-form input[data-ids]')) {
      const parts = splitList(i.value);
      if (parts.some((p) => !/^[1-9][0-9]*$/.test(p))) {
        i.focus();
        throw new ApiError(0, 'invalid', t('setBadIds', { name: t('setting_' + i.dataset.ids) }), i.dataset.ids);
      }
      const ids = parts.map(Number);
      if (ids.join(',') !== (current[i.dataset.ids] || []).join(',')) body[i.dataset.ids] = ids;
    }
    if (!Object.keys(body).length) { notice(t('saved')); show('checks'); return; }
    const res = await api('putSettings', {}, { body });
    state.tenant.settings = res.settings;
    await refreshTenant();
    notice(t('saved'));
    show('checks');
  });
}

// ------------------------------------------------------------------ checks

async function runChecks() {
  await run($('chk-run'), async () => {
    state.checks = await api('checks');
    drawChecks();
  });
}

/** drawChecks shows the last checks' findings (again after a change of language). */
function drawChecks() {
  const c = state.checks;
  const out = $('chk-result');
  if (!c) { clear(out); return; }
  const section = (title, items, render, hint) => el('div', { class: 'card checklist' },
    el('h2', { text: title }), hint && items.length ? el('p', { class: 'hint', text: hint }) : null,
    items.length ? el('ul', {}, items.map((i) => el('li', {}, render(i)))) : el('p', { class: 'ok', text: t('chkNone') }));
  out.replaceChildren(
    el('p', { id: 'chk-summary', class: c.ok ? 'ok' : 'bad', text: c.ok ? t('chkOk') : t('chkNotOk') }),
    section(t('chkMissingAttrs'), c.missing_personio_attributes, (a) => [attrName(a), ' ', el('code', { text: a.key })]),
    section(t('chkCategories'), c.unmatched_time_off_types, (n) => n, t('chkCategoriesHint')),
    section(t('chkTypes'), c.unmatched_absence_categories || [], (n) => n, t('chkTypesHint')),
    section(t('chkConflicts'), c.conflicts, (x) => `${x.name} (#${x.personio_id}): ${x.reason}`),
    section(t('chkDuplicates'), c.duplicate_emails, (d) => `${d.email} (${d.system}: ${d.ids.join(', ')})`),
    section(t('chkUnmatched'), c.unmatched_users, (u) => `${u.name} <${u.email}> #${u.staffomatic_user_id}`));
}

// ------------------------------------------------------------------ runs: polling

/** waitRun polls a run every second until it has ended, calling onUpdate each time. */
async function waitRun(runId, onUpdate) {
  const deadline = Date.now() + 15 * 60 * 1000;
  for (;;) {
    const r = await api('getRun', { run_id: runId, limit: 1 });
    onUpdate(r);
    if (TERMINAL.includes(r.status) || Date.now() > deadline) return r;
    await sleep(1000);
  }
}

function phaseButtons(container, label, onClick, phases) {
  container.replaceChildren(...phases.map((p) => el('button', { type: 'button', id: container.id + '-' + p, 'data-phase': p,
    text: t(label, { phase: t('phase_' + p) }), onclick: (ev) => onClick(p, ev.currentTarget) })));
}

// ------------------------------------------------------------------ dry run

function renderDryButtons() { phaseButtons($('dry-buttons'), 'dryButton', dryRun, PHASES); drawDry(); }

function diffClass(action) {
  if (/^(create|invite|add)/.test(action)) return ['add', '+'];
  if (/^(delete|remove|deactivate|lock|decline|unlink)/.test(action)) return ['remove', '−'];
  if (/^(update|link|patch|approve|move|relink|unlock|set)/.test(action)) return ['change', '~'];
  return ['note', '·'];
}

// Fields whose values are words of the API (yes, no, sent, not sent) rather than data.
const WORD_FIELDS = ['locked', 'invitation'];

/** changeList is a record's field diff (API field changes): field, old value, new value. */
function changeList(changes) {
  if (!changes || !changes.length) return null;
  const value = (c, v) => (WORD_FIELDS.includes(c.field) ? label('val_', v.replace(/ /g, '_')) : v);
  return el('ul', { class: 'changes' }, changes.map((c) => el('li', { 'data-field': c.field },
    el('span', { class: 'field', text: label('field_', c.field) + ': ' }),
    c.from !== '' ? el('del', { text: value(c, c.from) }) : null, c.from !== '' ? ' → ' : null,
    el('ins', { text: c.to === '' ? '∅' : value(c, c.to) }))));
}

/**
 * recordName is who or what an action or entry is about (person, workspace, absence type),
 * followed by its record kind and ids in small print for whoever compares with a vendor.
 */
function recordName(a) {
  const name = [a.person, a.workspace, a.absence_type].filter(Boolean).join(' · ');
  const ids = a.source_id ? `${label('kind_', a.kind)} ${a.source_id}${a.target_id ? ' → ' + a.target_id : ''}` : label('kind_', a.kind);
  return [name ? el('span', { class: 'who', text: name }) : null, ' ', el('span', { class: 'ids', text: name ? `(${ids})` : ids })];
}

function writesText(n) { return n === 1 ? t('writesOne') : t('writes', { n }); }

function diffLine(a) {
  const [cls, sign] = diffClass(a.action);
  return el('li', { class: cls, 'data-action': a.action, 'data-writes': a.writes || 0 },
    el('span', { class: 'sign', 'aria-hidden': 'true', text: sign }), el('strong', { text: label('action_', a.action) + ':' }), ' ', recordName(a),
    a.writes ? el('span', { class: 'writes', text: ' · ' + writesText(a.writes) }) : null,
    changeList(a.changes),
    a.reason ? el('div', { class: 'reason', text: a.reason }) : null);
}

async function dryRun(phase, button) {
  state.dry = null;
  clear($('dry-status'));
  clear($('dry-diff'));
  $('dry-more').hidden = true;
  await run(button, async () => {
    const q = await api('syncNow', { phase }, { body: { dry_run: true } });
    const runId = q.run_ids[0];
    // Another dry run started meanwhile replaces this one on screen; this one stops drawing.
    const d = { phase, runId, run: null, actions: [], cursor: '', writes: 0 };
    state.dry = d;
    d.run = await waitRun(runId, (r) => { d.run = r; if (state.dry === d) drawDry(); });
    if (state.dry === d) await moreDiff();
  });
}

/** moreDiff reads the plan's next page; the diff is kept to be drawn again in another language. */
async function moreDiff() {
  const d = state.dry;
  const r = await api('getRun', { run_id: d.runId, limit: 100, cursor: d.cursor });
  const actions = (r.plan && r.plan.actions) || [];
  d.actions.push(...actions);
  d.writes += actions.reduce((n, a) => n + (a.writes || 0), 0);
  d.cursor = r.plan ? r.plan.next_cursor : '';
  d.loaded = true;
  drawDry();
}

/** drawDry shows the dry run's status, its summary (actions and writes) and its diff. */
function drawDry() {
  const d = state.dry;
  const status = $('dry-status');
  if (!d) return;
  const r = d.run;
  const parts = [el('p', { id: 'dry-run-status', 'data-run': d.runId }, t('phase_' + d.phase), ': ',
    statusBadge(r ? r.status : 'queued'), ' ', r && !d.loaded ? countsText(r.counts) : '')];
  if (r && r.error) parts.push(el('p', { class: 'bad', text: r.error }));
  if (d.loaded) {
    parts.push(el('p', { text: r.counts.planned ? t('dryPlanned', { n: r.counts.planned }) : t('dryEmpty') }));
    // The writes of every line are the writes the real run makes; until the last page is
    // read the sum is of the lines shown.
    if (d.actions.length) {
      parts.push(el('p', { id: 'dry-writes', 'data-writes': d.writes, text: d.cursor
        ? t('dryWritesShown', { w: d.writes, n: d.actions.length }) : t('dryWrites', { w: d.writes }) }));
    }
  }
  status.replaceChildren(...parts);
  $('dry-diff').replaceChildren(...d.actions.map(diffLine));
  $('dry-more').hidden = !d.cursor;
}

// ------------------------------------------------------------------ Sync Now

function renderSyncButtons() {
  phaseButtons($('sync-buttons'), 'syncButton', syncNow, [...PHASES, 'all']);
  drawSchedule();
  drawSync();
}

/** drawSchedule says when the data moves without Sync Now: never while background sync is off. */
function drawSchedule() {
  const tn = state.tenant;
  const p = $('sync-schedule');
  if (!tn) { p.textContent = ''; return; }
  if (!tn.background_sync) {
    p.className = 'bad';
    p.textContent = t('syncBackgroundOff');
    return;
  }
  // The next run of each area, soonest first.
  const seen = new Set();
  const next = (tn.next_runs || []).filter((r) => !seen.has(r.phase) && seen.add(r.phase));
  p.className = 'hint';
  p.textContent = t('syncNext') + ' ' + next.map((r) => `${t('phase_' + r.phase)} ${fmtTime(r.at)} (${t('mode' + r.mode[0].toUpperCase() + r.mode.slice(1))})`).join(' · ');
}

async function syncNow(phase, button) {
  await run(button, async () => {
    const q = await api('syncNow', { phase }, { body: { mode: $('sync-mode').value } });
    const skipped = (q.skipped || []).map((s) => t('syncSkipped', { phase: t('phase_' + s.phase), reason: s.reason }));
    notice([t(q.queued.length === 1 ? 'syncQueuedOne' : 'syncQueued', { n: q.queued.length }), ...skipped].join(' '));
    // The rows are kept (newest first) to be drawn again, in another language too.
    const watches = q.queued.map((item) => {
      const row = { phase: item.phase, runId: item.run_id, run: null };
      state.syncRows.unshift(row);
      return waitRun(item.run_id, (r) => { row.run = r; drawSync(); });
    });
    drawSync();
    // The end of each run is said in the live region too, so a screen reader hears it.
    const ended = await Promise.all(watches);
    notice([...ended.map((r) => t('syncEnded', { phase: t('phase_' + r.phase), status: t('status_' + r.status) }) +
      (countsText(r.counts) && countsText(r.counts) !== '–' ? ' ' + countsText(r.counts) : '')), ...skipped].join(' '));
  });
}

/** drawSync shows the runs started on this page with their live status. */
function drawSync() {
  $('sync-body').replaceChildren(...state.syncRows.map((row) => {
    const r = row.run;
    return el('tr', { 'data-run': row.runId, 'data-phase': row.phase },
      el('td', { text: t('phase_' + row.phase) }),
      el('td', {}, statusBadge(r ? r.status : 'queued'), r && r.error ? el('div', { class: 'small bad', text: r.error }) : null),
      el('td', { text: r ? countsText(r.counts) : '' }),
      el('td', { class: 'small', text: row.runId }));
  }));
}

// ------------------------------------------------------------------ runs

function renderRunsFilter() {
  const sel = $('runs-phase');
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '', text: t('all') }), ...PHASES.map((p) => el('option', { value: p, text: t('phase_' + p) })));
  sel.value = keep;
  loadRuns(true);
}

async function loadRuns(fresh) {
  await run(null, async () => {
    if (fresh) { state.runsCursor = ''; clear($('runs-body')); }
    const page = await api('listRuns', { phase: $('runs-phase').value, limit: 20, cursor: state.runsCursor });
    const body = $('runs-body');
    // A phase-filtered page can be empty with a cursor (the API reads a bounded number of
    // pages a request): only an empty last page means there are none.
    if (fresh && !page.runs.length && !page.next_cursor) body.append(el('tr', {}, el('td', { colspan: 6, text: t('runsNone') })));
    for (const r of page.runs) {
      body.append(el('tr', { 'data-run': r.run_id },
        el('td', { text: fmtTime(r.started_at || r.queued_at) }),
        el('td', { text: t('phase_' + r.phase) }),
        el('td', { text: (t('mode' + r.mode[0].toUpperCase() + r.mode.slice(1)) || r.mode) + (r.dry_run ? ' · ' + t('runDry') : '') }),
        el('td', {}, statusBadge(r.status), r.error ? el('div', { class: 'small bad', text: r.error }) : null),
        el('td', { text: countsText(r.counts) }),
        el('td', {}, el('button', { type: 'button', class: 'secondary', text: r.run_id, 'aria-label': t('protoTitle') + ': ' + r.run_id,
          onclick: () => { $('proto-run').value = r.run_id; $('proto-area').value = ''; show('protocol'); } }))));
    }
    state.runsCursor = page.next_cursor;
    $('runs-more').hidden = !state.runsCursor;
  });
}

// ------------------------------------------------------------------ protocol

function renderProtoFilter() {
  const sel = $('proto-area');
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '', text: t('all') }), ...AREAS.map((a) => el('option', { value: a, text: t('phase_' + a) })));
  sel.value = keep;
  loadProtocol(true);
}

function isoOf(id) {
  const v = $(id).value;
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d) ? v : d.toISOString();
}

function protoParams() {
  return { area: $('proto-area').value, from: isoOf('proto-from'), to: isoOf('proto-to'), run_id: $('proto-run').value.trim() };
}

async function loadProtocol(fresh) {
  await run($('proto-apply'), async () => {
    if (fresh) state.protoCursor = '';
    const page = await api('protocol', { ...protoParams(), limit: 50, cursor: state.protoCursor });
    const body = $('proto-body');
    if (fresh) clear(body);
    if (fresh && !page.entries.length) body.append(el('tr', {}, el('td', { colspan: 6, text: t('protoNone') })));
    for (const e of page.entries) {
      body.append(el('tr', { 'data-area': e.area, 'data-run': e.run_id },
        el('td', { text: fmtTime(e.time) }),
        el('td', { text: t('phase_' + e.area) }),
        el('td', {}, recordName(e)),
        el('td', { 'data-action': e.action }, label('action_', e.action), e.writes ? el('div', { class: 'small', text: writesText(e.writes) }) : null),
        el('td', { text: t('count_' + e.outcome) }),
        el('td', { class: 'reason' }, e.reason, changeList(e.changes))));
    }
    state.protoCursor = page.next_cursor;
    $('proto-more').hidden = !state.protoCursor;
  });
}

async function downloadCSV() {
  await run($('proto-csv'), async () => {
    const params = protoParams();
    let cursor = '';
    let csv = '';
    let rows = 0;
    // At most 200 pages (100,000 entries, the protocol of a large tenant's two months);
    // beyond that the admin is told to narrow the filter rather than given a silent cut.
    for (let pages = 0; pages < 200; pages++) {
      const res = await api('protocol', { ...params, limit: 500, cursor }, { accept: 'text/csv' });
      let text = res.text;
      if (csv) text = text.slice(text.indexOf('\n') + 1); // the header once
      csv += text;
      rows += Math.max(0, text.split('\n').filter(Boolean).length - (pages === 0 ? 1 : 0));
      cursor = res.headers.get('X-Next-Cursor') || '';
      if (!cursor) break;
    }
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
    const a = el('a', { href: url, download: `staffsync-protocol-${state.tenantId}${params.area ? '-' + params.area : ''}.csv`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    notice(cursor ? t('protoCSVCut', { n: rows }) : t('protoCSVDone', { n: rows }));
  });
}

// ------------------------------------------------------------------ hand-over and rotation

async function handOver(ev) {
  ev.preventDefault();
  const email = $('ho-email').value.trim();
  if (!(await confirmDialog(t('hoConfirm', { email })))) return;
  await run($('ho-submit'), async () => {
    const body = { staffomatic: { email, password: $('ho-password').value } };
    if ($('ho-name').value.trim()) body.name = $('ho-name').value.trim();
    const res = await api('handOver', {}, { body });
    $('ho-password').value = '';
    await secrets({ admin_token: res.admin_token });
    await signIn(res.admin_token);
    notice(t('hoDone', { email: res.owner.email }));
  });
}

async function rotate() {
  if (!(await confirmDialog(t('rotConfirm')))) return;
  await run($('rot-submit'), async () => {
    const res = await api('rotateWebhookSecrets');
    await secrets({ ...res.webhook_secrets, personio_url: res.webhooks.personio_url, staffomatic_url: res.webhooks.staffomatic_url });
    notice(t('rotDone'));
  });
}

// ------------------------------------------------------------------ dialogs

/**
 * modal shows dialog d until one of its buttons (or Escape) answers; the answer comes from
 * the button's own click, not from the dialog's close event, which the browser fires later
 * and which could reach the next question's listener.
 */
function modal(d, buttons, focus, onEscape) {
  return new Promise((resolve) => {
    const handlers = buttons.map(([button, answer]) => [button, () => finish(answer)]);
    const onCancel = (ev) => { ev.preventDefault(); finish(onEscape); };
    // Tab stays in the dialog: from its last button to its first and back (a modal dialog
    // makes the page behind it inert, but Tab could still leave for the browser's own bar).
    const onKey = (ev) => {
      if (ev.key !== 'Tab') return;
      const items = [...d.querySelectorAll('button:not([disabled])')];
      const edge = ev.shiftKey ? items[0] : items[items.length - 1];
      if (document.activeElement === edge) {
        ev.preventDefault();
        (ev.shiftKey ? items[items.length - 1] : items[0]).focus();
      }
    };
    function finish(answer) {
      for (const [button, h] of handlers) button.removeEventListener('click', h);
      d.removeEventListener('cancel', onCancel);
      d.removeEventListener('keydown', onKey);
      if (d.open) d.close();
      resolve(answer);
    }
    for (const [button, h] of handlers) button.addEventListener('click', h);
    d.addEventListener('cancel', onCancel);
    d.addEventListener('keydown', onKey);
    d.showModal();
    focus.focus();
  });
}

/** confirmDialog asks a yes/no question; Cancel has the focus, Escape is no. */
function confirmDialog(text) {
  $('confirm-text').textContent = text;
  return modal($('confirm-dialog'), [[$('confirm-ok'), true], [$('confirm-cancel'), false]], $('confirm-cancel'), false);
}

/** secrets shows values that the API returns once; they leave the page when it closes. */
async function secrets(values) {
  const list = $('secret-list');
  list.replaceChildren(...Object.entries(values).filter(([, v]) => v).flatMap(([k, v]) =>
    [el('dt', { text: t('secret_' + k) }), el('dd', {}, el('code', { 'data-secret': k, text: v }))]));
  await modal($('secret-dialog'), [[$('secret-done'), true]], $('secret-done'), true);
  clear(list);
}

// ------------------------------------------------------------------ start

function wire() {
  $('lang').value = getLang();
  $('lang').addEventListener('change', () => {
    setLang($('lang').value);
    apply();
    notice(''); // a message of the other language and of an earlier step
    if (!state.view) return;
    // The view is drawn again in the new language; what the admin typed or switched and
    // has not saved yet (settings, rules, filters) is put back.
    const typed = [...document.querySelectorAll(`#view-${state.view} input[id]:not([type=file]), #view-${state.view} select[id]`)]
      .map((i) => [i.id, i.type === 'checkbox' || i.type === 'radio' ? i.checked : i.value]);
    show(state.view, { focus: false });
    for (const [id, v] of typed) {
      const i = $(id);
      if (!i) continue;
      if (typeof v === 'boolean') i.checked = v; else i.value = v;
    }
  });
  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = ev.submitter || $('signin-form').querySelector('button');
    await run(button, async () => {
      await signIn($('signin-token').value);
      $('signin-token').value = '';
      show(state.role === 'operator' ? 'credentials' : firstView());
      if (state.role === 'operator') notice(t('signedInOperator'));
    });
  });
  $('signout').addEventListener('click', () => { signOut(); showError(null); notice(''); });
  // Going elsewhere leaves the last step's messages behind.
  const go = (view) => { showError(null); notice(''); show(view); };
  for (const b of document.querySelectorAll('nav button[data-view]')) b.addEventListener('click', () => go(b.dataset.view));
  for (const r of document.querySelectorAll('input[name="cred-mode"]')) r.addEventListener('change', toggleCredMode);
  $('cred-form').addEventListener('submit', saveCredentials);
  $('cred-next').addEventListener('click', () => go('sources'));
  for (const b of document.querySelectorAll('button[data-goto]')) b.addEventListener('click', () => go(b.dataset.goto));
  $('src-form').addEventListener('submit', saveSources);
  for (const id of ['sel-status', 'sel-show']) $(id).addEventListener('change', () => { state.shown = PAGE; drawEmployees(); });
  $('sel-search').addEventListener('input', () => { state.shown = PAGE; drawEmployees(); });
  $('sel-more').addEventListener('click', () => { state.shown += PAGE; drawEmployees(); });
  $('sel-bulk-on').addEventListener('click', (ev) => bulk('select', ev.currentTarget));
  $('sel-bulk-off').addEventListener('click', (ev) => bulk('deselect', ev.currentTarget));
  $('sel-bulk-clear').addEventListener('click', (ev) => bulk('clear', ev.currentTarget));
  $('rules-form').addEventListener('submit', saveRules);
  $('sel-next').addEventListener('click', () => go('settings'));
  $('set-form').addEventListener('submit', saveSettings);
  $('chk-run').addEventListener('click', runChecks);
  $('dry-more').addEventListener('click', (ev) => run(ev.currentTarget, moreDiff));
  $('runs-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadRuns(true); });
  $('runs-more').addEventListener('click', () => loadRuns(false));
  $('proto-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadProtocol(true); });
  $('proto-more').addEventListener('click', () => loadProtocol(false));
  $('proto-csv').addEventListener('click', downloadCSV);
  $('handover-form').addEventListener('submit', handOver);
  $('rot-submit').addEventListener('click', rotate);
}

/**
 * LINK_HOSTS are where a sign-in link signs in: make run's console on this computer, whose
 * banner prints one for the demo tenant. Anywhere else a link is refused: it would let
 * anyone who has a tenant sign an admin in to that tenant with a link, and the credentials
 * the admin types in next would be theirs to use (login CSRF).
 */
const LINK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** linkToken reads a sign-in link's token from the fragment and removes it from the address. */
function linkToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return '';
  history.replaceState(null, '', location.pathname + location.search);
  if (!LINK_HOSTS.test(location.hostname)) {
    showError(new Error(t('errLinkRefused')));
    return '';
  }
  try { return decodeURIComponent(m[1]); } catch { return ''; }
}

async function signInWith(token) {
  await run(null, async () => {
    await signIn(token);
    show(state.role === 'operator' ? 'credentials' : firstView());
  });
}

async function start() {
  apply();
  wire();
  // A sign-in link (make run prints one) carries the token in the fragment, which the
  // browser never sends; it is read once and removed from the address bar and history.
  // A link opened in a tab that shows the console already only changes the fragment.
  window.addEventListener('hashchange', () => {
    const token = linkToken();
    if (token) signInWith(token);
  });
  let token = linkToken();
  if (!token) {
    try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch { /* storage off */ }
  }
  show('signin', { focus: false });
  if (token) await signInWith(token);
  document.body.dataset.ready = '1';
}

start();
