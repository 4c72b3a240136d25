// bullmq.mjs - the BullMQ harness of `make bench` (bench/bench.py drives it):
// one measurement per invocation, printed as one JSON object on stdout.
//   node bullmq.mjs REDIS_PORT add N BATCH      jobs added (delayed a day) with addBulk
//   node bullmq.mjs REDIS_PORT latency SECONDS  100 delayed jobs due each second
//   node bullmq.mjs REDIS_PORT burst N CONC     N jobs due at one instant, worker concurrency CONC
//   node bullmq.mjs REDIS_PORT throughput N CONC noop|true
//   node bullmq.mjs REDIS_PORT multi N WORKERS CONC   WORKERS worker processes, exactly-once check
//   node bullmq.mjs REDIS_PORT worker CONC      (a worker process of `multi`)
import { Queue, Worker } from 'bullmq';
import { execFile } from 'node:child_process';
import { fork } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const [port, cmd, ...args] = process.argv.slice(2);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
const QUEUE = 'bench';
const sleep = ms => new Promise(r => setTimeout(r, ms));

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

// Adds jobs [{due}] as delayed jobs in batches of 2,000 (addBulk: one round trip each).
async function addDue(q, dues, prefix) {
    const now = Date.now();
    for (let i = 0; i < dues.length; i += 2000) {
        const batch = dues.slice(i, i + 2000).map((due, k) => ({
            name: 'j',
            data: { due, n: `${prefix}${i + k}` },
            opts: { delay: Math.max(0, due - now), jobId: `${prefix}${i + k}` },
        }));
        await q.addBulk(batch);
    }
}

// Waits until `n` jobs are completed (bounded by `limitMs`); returns the count.
async function waitCompleted(q, n, limitMs) {
    const deadline = Date.now() + limitMs;
    let c = 0;
    while (Date.now() < deadline) {
        c = (await q.getJobCounts('completed')).completed;
        if (c >= n) break;
        await sleep(100);
    }
    return c;
}

async function completedJobs(q) {
    const jobs = [];
    const total = (await q.getJobCounts('completed')).completed;
    for (let i = 0; i < total; i += 5000) jobs.push(...(await q.getJobs(['completed'], i, i + 4999)));
    return jobs.filter(j => j);
}

async function main() {
    const q = new Queue(QUEUE, { connection });
    if (cmd !== 'worker') await q.obliterate({ force: true }).catch(() => {});
    if (cmd === 'add') {
        const [n, batch] = args.map(Number);
        const far = Date.now() + 86400000;
        const t0 = performance.now();
        for (let i = 0; i < n; i += batch) {
            const jobs = [];
            for (let k = i; k < Math.min(n, i + batch); k++)
                jobs.push({ name: `job-${k}`, data: { k }, opts: { delay: far - Date.now() } });
            await q.addBulk(jobs);
        }
        const s = (performance.now() - t0) / 1000;
        // a worker process holding the queue open, as a deployment would run it
        const w = new Worker(QUEUE, async () => {}, { connection, concurrency: 64 });
        await w.waitUntilReady();
        await sleep(2000);
        out({ n, seconds: s, per_s: n / s, client_rss_mib: process.memoryUsage().rss / 1048576 });
        await w.close();
    } else if (cmd === 'latency') {
        const secs = Number(args[0]);
        const t0 = Math.ceil(Date.now() / 1000) * 1000 + 3000;
        const dues = [];
        for (let s = 0; s < secs; s++) for (let k = 0; k < 100; k++) dues.push(t0 + s * 1000);
        await addDue(q, dues, 'l');
        const w = new Worker(QUEUE, async () => {}, { connection, concurrency: 200 });
        await w.waitUntilReady();
        const done = await waitCompleted(q, dues.length, (secs + 30) * 1000);
        const jobs = await completedJobs(q);
        await w.close();
        out({ n: dues.length, done, due: jobs.map(j => j.data.due), lag: jobs.map(j => j.processedOn - j.data.due) });
    } else if (cmd === 'burst' || cmd === 'throughput') {
        const n = Number(args[0]), conc = Number(args[1]), body = args[2] || 'noop';
        const t = Math.ceil(Date.now() / 1000) * 1000 + 3000 + Math.ceil(n / 5); // after the adds
        await addDue(q, new Array(n).fill(t), 'b');
        const fn = body === 'true' ? async () => { await run('/bin/true'); } : async () => {};
        const w = new Worker(QUEUE, fn, { connection, concurrency: conc });
        await w.waitUntilReady();
        const late = Date.now() > t;
        const done = await waitCompleted(q, n, 600000);
        const jobs = await completedJobs(q);
        await w.close();
        const started = Math.max(...jobs.map(j => j.processedOn)) - t;
        const finished = Math.max(...jobs.map(j => j.finishedOn)) - t;
        out({ n, done, late, started_s: started / 1000, recorded_s: finished / 1000, per_s: done / (finished / 1000) });
    } else if (cmd === 'multi') {
        const n = Number(args[0]), workers = Number(args[1]), conc = Number(args[2]);
        const t = Math.ceil(Date.now() / 1000) * 1000 + 3000 + Math.ceil(n / 5); // after the adds
        await addDue(q, new Array(n).fill(t), 'm');
        const kids = [];
        for (let i = 0; i < workers; i++) {
            const k = fork(new URL(import.meta.url).pathname, [port, 'worker', String(conc)], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
            let text = '';
            k.stdout.on('data', d => { text += d; });
            kids.push({ k, result: () => text, exited: new Promise(r => k.on('exit', r)) });
        }
        await Promise.all(kids.map(c => new Promise(r => c.k.once('message', r))));
        const late = Date.now() > t;
        const done = await waitCompleted(q, n, 600000);
        const jobs = await completedJobs(q);
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
        const finished = Math.max(...jobs.map(j => j.finishedOn)) - t;
        out({ n, done, late, workers, duplicates, lost, recorded_s: finished / 1000, per_s: done / (finished / 1000) });
    } else if (cmd === 'worker') {
        const ids = [];
        const w = new Worker(QUEUE, async job => { ids.push(job.id); }, { connection, concurrency: Number(args[0]) });
        await w.waitUntilReady();
        process.send('ready');
        await new Promise(r => process.once('message', r));
        await w.close();
        process.stdout.write(JSON.stringify({ ids }) + '\n');
        await q.close();
        return;
    } else {
        throw new Error(`unknown command ${cmd}`);
    }
    await q.close();
}

// exit once stdout is flushed (a pipe takes 64 KiB before a write goes asynchronous)
main().then(() => process.stdout.write('', () => process.exit(0)), e => { console.error(e); process.exit(1); });
