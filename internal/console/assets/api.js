// The console's only way to the server: the public API of internal/httpapi/openapi.yaml.
// Every route it calls is in `routes` (a Go test checks each against the document), and
// every error is turned into the API's own message, never a raw body.

import { t } from './i18n.js';

/** The routes the console calls: method and path as written in openapi.yaml. */
export const routes = {
  listTenants: ['GET', '/v1/tenants'],
  createTenant: ['POST', '/v1/tenants'],
  getTenant: ['GET', '/v1/tenants/{id}'],
  putCredentials: ['PUT', '/v1/tenants/{id}/credentials'],
  putSources: ['PUT', '/v1/tenants/{id}/sources'],
  listEmployees: ['GET', '/v1/tenants/{id}/employees'],
  getSelection: ['GET', '/v1/tenants/{id}/selection'],
  putSelection: ['PUT', '/v1/tenants/{id}/selection'],
  putSettings: ['PUT', '/v1/tenants/{id}/settings'],
  handOver: ['POST', '/v1/tenants/{id}/owner'],
  rotateWebhookSecrets: ['POST', '/v1/tenants/{id}/webhook-secrets'],
  syncNow: ['POST', '/v1/tenants/{id}/sync/{phase}'],
  listRuns: ['GET', '/v1/tenants/{id}/runs'],
  getRun: ['GET', '/v1/tenants/{id}/runs/{run_id}'],
  protocol: ['GET', '/v1/tenants/{id}/protocol'],
  checks: ['GET', '/v1/tenants/{id}/checks'],
};

/** ApiError is a failed call, with the API's message (or a sentence of ours). */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

// The API lives where the console does, minus /console/ (a stage prefix is kept).
const base = location.pathname.replace(/\/console(\/.*)?$/, '');

/**
 * call sends one request. params fill the {placeholders} (encoded) and the rest become
 * the query; empty values are left out. opts: body (JSON), accept ('text/csv' returns
 * {text, headers}).
 */
export async function call(token, name, params = {}, opts = {}) {
  const [method, template] = routes[name];
  const query = new URLSearchParams();
  const path = template.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(params[key] ?? ''));
  for (const [key, value] of Object.entries(params)) {
    if (!template.includes('{' + key + '}') && value !== undefined && value !== null && value !== '') {
      query.set(key, String(value));
    }
  }
  const headers = { Accept: opts.accept || 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const qs = query.toString();
  let res;
  try {
    res = await fetch(base + path + (qs ? '?' + qs : ''), {
      method, headers, body, cache: 'no-store', credentials: 'omit', redirect: 'error',
    });
  } catch {
    throw new ApiError(0, 'network', t('errNetwork'));
  }
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON: never shown raw */ }
    const e = data && typeof data === 'object' ? data.error : null;
    if (e && typeof e.message === 'string' && e.message !== '') {
      throw new ApiError(res.status, String(e.code || ''), e.message, typeof e.field === 'string' ? e.field : '');
    }
    throw new ApiError(res.status, 'http_' + res.status, t('errStatus', { status: res.status }));
  }
  if (opts.accept === 'text/csv') {
    return { text: await res.text(), headers: res.headers };
  }
  try {
    return await res.json();
  } catch {
    throw new ApiError(res.status, 'bad_response', t('errBadResponse'));
  }
}

/** tokenTenant is the tenant id an admin token names (sst_<tenant>.<secret>), or ''. */
export function tokenTenant(token) {
  const m = /^sst_([a-z0-9][a-z0-9-]{0,62})\.[A-Za-z0-9_-]+$/.exec(token || '');
  return m ? m[1] : '';
}
