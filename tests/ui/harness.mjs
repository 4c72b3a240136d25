// harness.mjs - what the dashboard's browser tests stand on: a real
// `symbi up` on a free loopback port with a temporary data directory, the
// CLI against the same store, a JSON client for seeding, and Debian's
// Chromium driven by playwright-core (tests/tools/node_modules).
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, "../..");
const require = createRequire(path.join(ROOT, "tests/tools/package.json"));
export const { chromium } = require("playwright-core");
export const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
export const BIN = process.env.SYMBI_BIN || path.join(ROOT, "build/symbi");
export const BUILD = process.env.SYMBI_BUILD || path.join(ROOT, "build");
export const CHROMIUM = process.env.SYMBI_CHROMIUM || "/usr/bin/chromium";

const AGENTS = `agent echoer {
  command: "echo echoed $SYMBI_JOB_NAME"
}
agent writer {
  command: "echo wrote"
}
`;

function cleanEnv(home, extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SYMBI_")) env[k] = v;
  return { ...env, SYMBI_HOME: home, NO_COLOR: "1", ...extra };
}

// Starts `symbi up`; resolves {url, home, cli, call, stop} once it listens.
export async function startDaemon({ key } = {}) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "symbi-ui-"));
  fs.mkdirSync(path.join(home, "agents"));
  fs.writeFileSync(path.join(home, "agents", "ui.symbi"), AGENTS);
  const env = cleanEnv(home, key ? { SYMBI_API_KEY: key } : {});
  const log = path.join(home, "daemon.log");
  const out = fs.openSync(log, "w");
  const proc = spawn(BIN, ["up", "--listen", "127.0.0.1:0", "--agents", path.join(home, "agents")],
    { env, cwd: home, stdio: ["ignore", out, out] });
  const deadline = Date.now() + 20000;
  let port = null;
  while (port === null) {
    const m = /listening on \S+ port=(\d+)/.exec(fs.readFileSync(log, "utf8"));
    if (m) port = Number(m[1]);
    else if (proc.exitCode !== null) throw new Error(`symbi up exited:\n${fs.readFileSync(log, "utf8")}`);
    else if (Date.now() > deadline) throw new Error(`symbi up not listening:\n${fs.readFileSync(log, "utf8")}`);
    else await new Promise((r) => setTimeout(r, 25));
  }
  const url = `http://127.0.0.1:${port}`;
  const d = {
    url, home, key, log,
    cli: (...args) => execFileSync(BIN, args, { env, cwd: home, encoding: "utf8", timeout: 30000 }),
    async call(method, p, body, { auth = true, headers = {} } = {}) {
      const h = { ...headers };
      if (auth && key) h.Authorization = `Bearer ${key}`;
      if (body !== undefined) h["Content-Type"] = "application/json";
      const r = await fetch(url + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      let data = text;
      try { data = JSON.parse(text); } catch { /* not JSON */ }
      return { status: r.status, headers: r.headers, data, text };
    },
    async stop() {
      if (proc.exitCode !== null) {
        fs.rmSync(home, { recursive: true, force: true });
        return;
      }
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 20000);
      await done;
      clearTimeout(t);
      fs.closeSync(out);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
  return d;
}

// Chromium, or {skip: reason} when it cannot start here (not installed,
// no sandbox as root without --no-sandbox, no display libraries ...).
export async function launch() {
  if (!fs.existsSync(CHROMIUM)) return { skip: `${CHROMIUM} is not installed` };
  // Chromium's sandbox needs user namespaces and refuses to run as root:
  // as root (CI containers) it runs without it; the pages are our own
  const args = process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [];
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 30000 });
    return { browser };
  } catch (e) {
    return { skip: `Chromium cannot start: ${String(e.message).split("\n")[0]}` };
  }
}

// Polls fn until it returns a truthy value (bounded); returns that value.
export async function until(fn, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function artifactsDir() {
  const dir = path.join(BUILD, "ui-artifacts");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
