// croner_cron.mjs - times croner (npm) on the expressions and start instants
// of bench_cron (read from bench/out/bench_cron.json, written by it earlier in
// the same run): ns per next fire (median over the expressions, UTC and
// Europe/Berlin) and parses per second; one JSON object on stdout.
import { Cron } from 'croner';
import { readFileSync } from 'node:fs';

const ours = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const N_STARTS = 300;

function starts() { // bench_cron.c's xorshift sequence
    let x = 88172645463325252n;
    const mask = (1n << 64n) - 1n, out = [];
    for (let i = 0; i < N_STARTS; i++) {
        x ^= (x << 13n) & mask;
        x ^= x >> 7n;
        x ^= (x << 17n) & mask;
        out.push(new Date((1767225600 + Number(x % BigInt(2 * 365 * 86400))) * 1000));
    }
    return out;
}

function median(xs) {
    const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeNext(expr, timezone, dates) {
    const c = new Cron(expr, { timezone, paused: true });
    let best = Infinity, sink = 0;
    for (let trial = 0; trial < 3; trial++) {
        const t0 = process.hrtime.bigint();
        for (const d of dates) sink += c.nextRun(d).getTime();
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / dates.length);
    }
    return sink === 0 ? NaN : best;
}

const dates = starts();
const utc = [], berlin = [];
for (const e of ours.expressions) {
    utc.push(timeNext(e.croniter, 'UTC', dates));
    berlin.push(timeNext(e.croniter, 'Europe/Berlin', dates));
}
let bestParse = Infinity;
for (let trial = 0; trial < 3; trial++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (let r = 0; r < 200; r++) for (const e of ours.expressions) { new Cron(e.croniter, { paused: true }); n++; }
    bestParse = Math.min(bestParse, Number(process.hrtime.bigint() - t0) / n);
}
process.stdout.write(JSON.stringify({ ns_utc: median(utc), ns_berlin: median(berlin), parse_per_s: 1e9 / bestParse }) + '\n');
