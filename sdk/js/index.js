// @symbiont/sdk-js - the guide's JavaScript client for symbi's HTTP API
// (SPEC §9.1, §14): an ES module on Node 18+ fetch, no dependencies.

const JOB_OPTIONS = {
  name: 'name',
  agentId: 'agent_id',
  cronExpr: 'cron_expr',
  at: 'at',
  timezone: 'timezone',
  sessionMode: 'session_mode',
  delivery: 'delivery',
  webhookUrl: 'webhook_url',
  webhookHeaders: 'webhook_headers',
  slackChannel: 'slack_channel',
  slackWebhookUrl: 'slack_webhook_url',
  emailRecipients: 'email_recipients',
  logFile: 'log_file',
  policy: 'policy',
  heartbeat: 'heartbeat',
  maxConcurrent: 'max_concurrent',
  maxRetries: 'max_retries',
  jitter: 'jitter',
  catchUp: 'catch_up',
  startingDeadline: 'starting_deadline',
  dstGap: 'dst_gap',
  dstOverlap: 'dst_overlap',
  input: 'input',
  agentPinJwt: 'agent_pin_jwt',
  oneShot: 'one_shot',
};
const HEARTBEAT_OPTIONS = {
  enabled: 'enabled',
  contextMode: 'context_mode',
  maxIterations: 'max_iterations',
};

export const VERSION = '0.1.0';

/** An error answer from symbi (or no answer): status, code, details. */
export class SymbiontError extends Error {
  constructor(message, { status = null, code = null, details = null } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
  }
}
/** 400 or 422: a bad field, cron expression, time zone or query. */
export class ValidationError extends SymbiontError {
  get field() {
    return this.details && typeof this.details === 'object' ? (this.details.field ?? null) : null;
  }
}
/** 401: no API key, or a wrong or revoked one. */
export class AuthenticationError extends SymbiontError {}
/** 403: the key or approver may not do this. */
export class PermissionDeniedError extends SymbiontError {}
/** 404: no such job, run or route. */
export class NotFoundError extends SymbiontError {}
/** 409: name taken, concurrency limit reached, or the wrong state. */
export class ConflictError extends SymbiontError {}
/** The server could not be reached, or its answer was not JSON. */
export class ConnectionError extends SymbiontError {}

const BY_STATUS = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: ValidationError,
};

function errorFor(status, body) {
  let message = `HTTP ${status}`;
  let code = null;
  let details = null;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    message = String(body.error || message);
    code = body.code ?? null;
    details = body.details && typeof body.details === 'object' ? body.details : null;
  } else if (typeof body === 'string' && body.trim()) {
    message = body.trim().slice(0, 500);
  }
  const Cls = BY_STATUS[status] || SymbiontError;
  return new Cls(message, { status, code, details });
}

const camel = (k) => k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * Keeps the API's snake_case keys and adds a camelCase getter beside each
 * (not enumerable, so JSON.stringify shows the server's keys only).
 */
export function wrap(value) {
  if (Array.isArray(value)) return value.map(wrap);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = wrap(v);
  for (const k of Object.keys(value)) {
    const c = camel(k);
    if (c !== k && !(c in out)) {
      Object.defineProperty(out, c, { get: () => out[k], enumerable: false });
    }
  }
  return out;
}

function mapOptions(opts, table, what) {
  const body = {};
  if (opts === undefined || opts === null) return body;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${what}: options must be an object`);
  }
  const snake = new Set(Object.values(table));
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    const key = table[k] ?? (snake.has(k) ? k : null);
    if (key === null) {
      throw new TypeError(`${what}: unknown option "${k}" (known: ${Object.keys(table).join(', ')})`);
    }
    body[key] = key === 'heartbeat' && v && typeof v === 'object'
      ? mapOptions(v, HEARTBEAT_OPTIONS, 'heartbeat')
      : v instanceof Date ? v.toISOString().replace(/\.\d{3}Z$/, 'Z') : v;
  }
  return body;
}

function timeArg(v) {
  return v instanceof Date ? v.toISOString().replace(/\.\d{3}Z$/, 'Z') : v;
}

const seg = (s) => encodeURIComponent(String(s));

export class SymbiontClient {
  /**
   * @param {{baseUrl?: string, apiKey?: string, timeout?: number}} options
   * baseUrl defaults to http://localhost:8080; timeout is in milliseconds.
   */
  constructor({ baseUrl = 'http://localhost:8080', apiKey, timeout = 30000 } = {}) {
    if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) {
      throw new TypeError(`baseUrl must be an http:// or https:// URL, not ${baseUrl}`);
    }
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.apiKey = apiKey || null;
    this.timeout = timeout;
    this.schedule = new ScheduleClient(this);
    this.runs = new RunsClient(this);
    this.audit = new AuditClient(this);
  }

  /** One request; resolves to the parsed (wrapped) JSON answer. */
  async request(method, path, { body, query } = {}) {
    let url = this.baseUrl + path;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null) q.append(k, String(timeArg(v)));
    }
    if ([...q].length) url += `?${q}`;
    const headers = { Accept: 'application/json', 'User-Agent': `symbiont-js/${VERSION}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    let resp;
    let text;
    try {
      resp = await fetch(url, {
        method,
        headers,
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeout),
      });
      text = await resp.text();
    } catch (e) {
      throw new ConnectionError(`cannot reach ${this.baseUrl}: ${e.cause?.code ?? e.message}`, {
        code: 'CONNECTION_ERROR',
      });
    }
    let parsed = null;
    let isJson = true;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
        isJson = false;
      }
    }
    if (resp.status >= 400) throw errorFor(resp.status, parsed);
    if (!isJson) {
      throw new ConnectionError(`answer is not JSON: ${text.slice(0, 200)}`, {
        status: resp.status,
        code: 'BAD_ANSWER',
      });
    }
    return wrap(parsed);
  }
}

export class ScheduleClient {
  constructor(client) {
    this._c = client;
  }

  /** POST /api/v1/schedule: camelCase (or snake_case) job options. */
  async create(options) {
    return this._c.request('POST', '/api/v1/schedule', {
      body: mapOptions(options, JOB_OPTIONS, 'schedule.create'),
    });
  }

  /** GET /api/v1/schedule: {status, agentId, limit, offset}. */
  async list(options) {
    const o = mapOptions(options, { status: 'status', agentId: 'agent_id', limit: 'limit', offset: 'offset' }, 'schedule.list');
    return this._c.request('GET', '/api/v1/schedule', { query: o });
  }

  async get(job) {
    return this._c.request('GET', `/api/v1/schedule/${seg(job)}`);
  }

  /** The guide's name for get: the job with status, next_run, counters. */
  async getStatus(job) {
    return this.get(job);
  }

  async update(job, options) {
    return this._c.request('PUT', `/api/v1/schedule/${seg(job)}`, {
      body: mapOptions(options, JOB_OPTIONS, 'schedule.update'),
    });
  }

  async delete(job) {
    return this._c.request('DELETE', `/api/v1/schedule/${seg(job)}`);
  }

  async pause(job) {
    return this._c.request('POST', `/api/v1/schedule/${seg(job)}/pause`);
  }

  async resume(job) {
    return this._c.request('POST', `/api/v1/schedule/${seg(job)}/resume`);
  }

  async reset(job) {
    return this._c.request('POST', `/api/v1/schedule/${seg(job)}/reset`);
  }

  /** POST .../run (202): {input}; resolves to the queued run. */
  async runNow(job, options) {
    const o = mapOptions(options, { input: 'input' }, 'schedule.runNow');
    return this._c.request('POST', `/api/v1/schedule/${seg(job)}/run`, {
      body: Object.keys(o).length ? o : undefined,
    });
  }

  /** Runs newest first: {status, limit, offset}. */
  async getHistory(job, options) {
    const o = mapOptions(options, { status: 'status', limit: 'limit', offset: 'offset' }, 'schedule.getHistory');
    return this._c.request('GET', `/api/v1/schedule/${seg(job)}/history`, { query: o });
  }

  /** {id, next_run, next_runs}: {count} (1..100). */
  async getNextRun(job, options) {
    const o = mapOptions(options, { count: 'count' }, 'schedule.getNextRun');
    return this._c.request('GET', `/api/v1/schedule/${seg(job)}/next_run`, { query: o });
  }

  /** The job's stored session context (SPEC §6.3). */
  async getContext(job) {
    return this._c.request('GET', `/api/v1/schedule/${seg(job)}/context`);
  }

  /** GET /api/v1/health/scheduler. */
  async health() {
    return this._c.request('GET', '/api/v1/health/scheduler');
  }
}

export class RunsClient {
  constructor(client) {
    this._c = client;
  }

  async get(runId) {
    return this._c.request('GET', `/api/v1/runs/${seg(runId)}`);
  }

  /** {approver} optional. */
  async approve(runId, options) {
    const o = mapOptions(options, { approver: 'approver' }, 'runs.approve');
    return this._c.request('POST', `/api/v1/runs/${seg(runId)}/approve`, {
      body: Object.keys(o).length ? o : undefined,
    });
  }

  async deny(runId, options) {
    const o = mapOptions(options, { approver: 'approver' }, 'runs.deny');
    return this._c.request('POST', `/api/v1/runs/${seg(runId)}/deny`, {
      body: Object.keys(o).length ? o : undefined,
    });
  }
}

export class AuditClient {
  constructor(client) {
    this._c = client;
  }

  /** GET /api/v1/audit: {type, job, since, until, limit}; Dates allowed. */
  async query(options) {
    const o = mapOptions(options, { type: 'type', job: 'job', since: 'since', until: 'until', limit: 'limit' }, 'audit.query');
    return this._c.request('GET', '/api/v1/audit', { query: o });
  }
}

export default SymbiontClient;
