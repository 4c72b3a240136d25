// pgboss.mjs - the pg-boss harness of `make bench` (bench/bench.py drives it):
// one measurement per invocation, printed as one JSON object on stdout.
//   node pgboss.mjs URL add N BATCH       jobs inserted (startAfter a day later) with insert()
//   node pgboss.mjs URL latency SECONDS   100 jobs due (startAfter) each second
//   node pgboss.mjs URL burst N BATCH     N jobs due at one instant, fetched BATCH at a time
//   node pgboss.mjs URL throughput N BATCH noop|true
//   node pgboss.mjs URL multi N WORKERS BATCH   WORKERS worker processes, exactly-once check
//   node pgboss.mjs URL worker BATCH      (a worker process of `multi`)
// Workers poll at pg-boss's shortest allowed interval (0.5 s; the default is 2 s).
import PgBoss from 'pg-boss';
import { execFile, fork } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const [url, cmd, ...args] = process.argv.slice(2);
// a queue of its own per measurement (a worker of `multi` is given its parent's)
const QUEUE = process.env.PGBOSS_BENCH_QUEUE || `bench_${cmd}_${Date.now()}`;
const POLL = 0.5;
const sleep = ms => new Promise(r => setTimeout(r, ms));

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

async function boss() {
    const b = new PgBoss({ connectionString: url, max: 10, supervise: cmd !== 'worker', schedule: false });
    b.on('error', e => console.error('pg-boss:', e.message));
    await b.start();
    return b;
}

async function reset(b) {
    await b.createQueue(QUEUE);
}

async function insertDue(b, dues, prefix) {
    for (let i = 0; i < dues.length; i += 2000) {
        await b.insert(dues.slice(i, i + 2000).map((due, k) => ({
            name: QUEUE, data: { due, n: `${prefix}${i + k}` }, startAfter: new Date(due).toISOString(),
        })));
    }
}

async function sql(b, text, params = []) {
    return (await b.getDb().executeSql(text, params)).rows;
}

async function waitCompleted(b, n, limitMs) {
    const deadline = Date.now() + limitMs;
    let c = 0;
    while (Date.now() < deadline) {
        c = Number((await sql(b, "SELECT count(*) AS c FROM pgboss.job WHERE name = $1 AND state = 'completed'", [QUEUE]))[0].c);
        if (c >= n) break;
        await sleep(100);
    }
    return c;
}

async function times(b) {
    return await sql(b, `SELECT (data->>'due')::bigint AS due, data->>'n' AS n,
        (extract(epoch FROM started_on) * 1000)::bigint AS started,
        (extract(epoch FROM completed_on) * 1000)::bigint AS completed
        FROM pgboss.job WHERE name = $1 AND state = 'completed'`, [QUEUE]);
}

function work(b, batchSize, body) {
    const fn = body === 'true' ? () => run('/bin/true') : async () => {};
    return b.work(QUEUE, { batchSize, pollingIntervalSeconds: POLL }, jobs => Promise.all(jobs.map(fn)));
}

async function main() {
    const b = await boss();
    if (cmd !== 'worker') await reset(b);
    if (cmd === 'add') {
        const [n, batch] = args.map(Number);
        const far = new Date(Date.now() + 86400000).toISOString();
        const t0 = performance.now();
        for (let i = 0; i < n; i += batch) {
            const jobs = [];
            for (let k = i; k < Math.min(n, i + batch); k++) jobs.push({ name: QUEUE, data: { k }, startAfter: far });
            await b.insert(jobs);
        }
        const s = (performance.now() - t0) / 1000;
        await work(b, 64, 'noop');
        await sleep(2000);
        out({ n, seconds: s, per_s: n / s, client_rss_mib: process.memoryUsage().rss / 1048576 });
    } else if (cmd === 'latency') {
        const secs = Number(args[0]);
        const t0 = Math.ceil(Date.now() / 1000) * 1000 + 3000;
        const dues = [];
        for (let s = 0; s < secs; s++) for (let k = 0; k < 100; k++) dues.push(t0 + s * 1000);
        await insertDue(b, dues, 'l');
        await work(b, 200, 'noop');
        const done = await waitCompleted(b, dues.length, (secs + 30) * 1000);
        const rows = await times(b);
        out({ n: dues.length, done, due: rows.map(r => Number(r.due)), lag: rows.map(r => Number(r.started) - Number(r.due)) });
    } else if (cmd === 'burst' || cmd === 'throughput') {
        const n = Number(args[0]), batch = Number(args[1]), body = args[2] || 'noop';
        const t = Math.ceil(Date.now() / 1000) * 1000 + 3000 + Math.ceil(n / 5); // after the inserts
        await insertDue(b, new Array(n).fill(t), 'b');
        await work(b, batch, body);
        const late = Date.now() > t;
        const done = await waitCompleted(b, n, 600000);
        const rows = await times(b);
        const started = Math.max(...rows.map(r => Number(r.started))) - t;
        const finished = Math.max(...rows.map(r => Number(r.completed))) - t;
        out({ n, done, late, started_s: started / 1000, recorded_s: finished / 1000, per_s: done / (finished / 1000) });
    } else if (cmd === 'multi') {
        const n = Number(args[0]), workers = Number(args[1]), batch = Number(args[2]);
        const t = Math.ceil(Date.now() / 1000) * 1000 + 5000 + Math.ceil(n / 5); // workers started
        await insertDue(b, new Array(n).fill(t), 'm');
        const kids = [];
        for (let i = 0; i < workers; i++) {
            const k = fork(new URL(import.meta.url).pathname, [url, 'worker', String(batch)], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'], env: { ...process.env, PGBOSS_BENCH_QUEUE: QUEUE } });
            let text = '';
            k.stdout.on('data', d => { text += d; });
            kids.push({ k, result: () => text, exited: new Promise(r => k.on('exit', r)) });
        }
        await Promise.all(kids.map(c => new Promise(r => c.k.once('message', r))));
        const late = Date.now() > t;
        const done = await waitCompleted(b, n, 600000);
        const rows = await times(b);
        for (const c of kids) c.k.send('stop');
        await Promise.all(kids.map(c => c.exited));
        const seen = new Map();
        for (const c of kids) for (const id of JSON.parse(c.result()).ids) seen.set(id, (seen.get(id) || 0) + 1);
        let duplicates = 0, lost = 0;
        for (let i = 0; i < n; i++) {
            const c = seen.get(`m${i}`) || 0;
            if (c === 0) lost++;
            if (c > 1) duplicates += c - 1;
        }
        const finished = Math.max(...rows.map(r => Number(r.completed))) - t;
        out({ n, done, late, workers, duplicates, lost, recorded_s: finished / 1000, per_s: done / (finished / 1000) });
    } else if (cmd === 'worker') {
        const ids = [];
        await b.work(QUEUE, { batchSize: Number(args[0]), pollingIntervalSeconds: POLL }, async jobs => {
            for (const j of jobs) ids.push(j.data.n);
        });
        process.send('ready');
        await new Promise(r => process.once('message', r));
        await b.stop({ graceful: true, wait: true, timeout: 10000 });
        process.stdout.write(JSON.stringify({ ids }) + '\n');
        return;
    } else {
        throw new Error(`unknown command ${cmd}`);
    }
    await b.stop({ graceful: false, wait: true, timeout: 5000 });
}

// exit once stdout is flushed (a pipe takes 64 KiB before a write goes asynchronous)
main().then(() => process.stdout.write('', () => process.exit(0)), e => { console.error(e); process.exit(1); });
