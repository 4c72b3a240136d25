// daemon.mjs - starts a real `symbi up` for the SDK's tests: SYMBI_BIN (default
// build/symbi), a temporary data directory, an API key, two agents (one that
// echoes, one that fails), loopback port 0 read back from the log. With
// SYMBI_E2E_STORE=postgres://... (tests/run.d/postgres.sh) the store is a new
// schema of that database, dropped at stop().
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.SYMBI_BIN || resolve(here, '../../../build/symbi');
export const KEY = `symbi_${'7e'.repeat(32)}`;

const AGENTS = `agent echoer {
  command: "echo echoed $SYMBI_JOB_NAME"
}
agent failer {
  builtin: "fail"
}
`;

function psql(url, sql) {
  const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
}

export async function startDaemon() {
  const dir = mkdtempSync(join(tmpdir(), 'symbi-js-'));
  mkdirSync(join(dir, 'agents'));
  writeFileSync(join(dir, 'agents', 'sdk.symbi'), AGENTS);
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SYMBI_')) env[k] = v;
  }
  Object.assign(env, { SYMBI_HOME: dir, SYMBI_API_KEY: KEY, NO_COLOR: '1' });
  const admin = process.env.SYMBI_E2E_STORE || '';
  let pg = null;
  if (/^postgres(ql)?:\/\//.test(admin)) {
    const schema = `symbi_js_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    psql(admin, `CREATE SCHEMA ${schema}`);
    pg = { admin, schema, url: `${admin}${admin.includes('?') ? '&' : '?'}options=-csearch_path%3D${schema}` };
    env.SYMBI_STORE = pg.url;
  }
  const out = [];
  const proc = spawn(BIN, ['up', '--listen', '127.0.0.1:0', '--agents', join(dir, 'agents')], {
    env,
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout.on('data', (b) => out.push(b));
  proc.stderr.on('data', (b) => out.push(b));
  const deadline = Date.now() + 20000;
  let port = null;
  while (port === null) {
    const m = /listening on \S+ port=(\d+)/.exec(Buffer.concat(out).toString());
    if (m) port = Number(m[1]);
    else if (proc.exitCode !== null) throw new Error(`symbi up exited: ${Buffer.concat(out)}`);
    else if (Date.now() > deadline) throw new Error(`symbi up did not listen: ${Buffer.concat(out)}`);
    else await new Promise((r) => setTimeout(r, 20));
  }
  return {
    dir,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    // a run in pending_approval, as the policy gate leaves one (via sqlite3)
    insertPendingRun(jobId, jobName) {
      const id = randomUUID();
      const now = Date.now();
      const sql = `INSERT INTO runs (id, job_id, job_name, agent, trigger, scheduled_at, due_at,
        status, created_at) VALUES ('${id}', '${jobId}', '${jobName}', 'echoer', 'manual',
        ${now}, ${now}, 'pending_approval', ${now});`;
      if (pg !== null) {
        psql(pg.url, sql);
        return id;
      }
      const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', join(dir, 'symbi.db'), sql], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
      return id;
    },
    // a stored API key named name with scopes (`symbi api-key create`)
    createKey(name, scope) {
      const r = spawnSync(BIN, ['api-key', 'create', '--name', name, '--scope', scope], {
        env, cwd: dir, encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`api-key create: ${r.stderr}`);
      return r.stdout.trim();
    },
    async stop() {
      if (proc.exitCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await done;
      }
      if (pg !== null) psql(pg.admin, `DROP SCHEMA IF EXISTS ${pg.schema} CASCADE`);
      if (process.env.SYMBI_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
    },
    log: () => Buffer.concat(out).toString(),
  };
}

// Polls fn until it returns a truthy value.
export async function waitFor(fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}
