// view.js - DOM building from elements (never parsed markup: every value is text), time
// formatting in UTC and a job's zone, the run sparkline, the runs-per-minute
// chart and the confirmation dialog.
const SVG = "http://www.w3.org/2000/svg";

// h("a", {href: "#/", class: "x"}, "text", child, ...): an element; null and
// false children are skipped, strings become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" || typeof c === "number" ? String(c) : c);
  }
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

const pad = (n) => String(n).padStart(2, "0");

// "2026-12-02 09:00:00 UTC"
export function fmtUTC(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

const zoneFormats = new Map();
// the instant in zone tz: "2026-12-02 10:00:00 CET"
export function fmtZone(iso, tz) {
  if (!iso) return "—";
  const zone = tz || "UTC";
  let f = zoneFormats.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat("en-CA", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
        minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
      });
    } catch {
      return fmtUTC(iso);
    }
    zoneFormats.set(zone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function relative(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.round((new Date(iso) - now) / 1000);
  const a = Math.abs(s);
  const txt = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` :
    a < 172800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return s >= 0 ? `in ${txt}` : `${txt} ago`;
}

// the letters of GET /api/v1/activity (docs/ui.md), in run-status order
export const LETTERS = {
  Q: "queued", A: "pending_approval", R: "running", S: "succeeded", F: "failed",
  T: "timed_out", D: "denied", K: "skipped", M: "missed", I: "interrupted",
};

export function badge(status) {
  return h("span", { class: `badge s-${status}` }, status.replace("_", " "));
}

// The last runs as bars, oldest on the left; letters come newest first.
export function sparkline(letters) {
  const runs = [...(letters || "")].reverse();
  const counts = {};
  for (const c of runs) counts[LETTERS[c]] = (counts[LETTERS[c]] || 0) + 1;
  const label = runs.length === 0 ? "No runs yet" : `Last ${runs.length} runs: ` +
    Object.entries(counts).map(([k, v]) => `${v} ${k.replace("_", " ")}`).join(", ");
  const w = 3, gap = 1, height = 18;
  const el = svg("svg", {
    class: "spark", width: 50 * (w + gap), height, viewBox: `0 0 ${50 * (w + gap)} ${height}`,
    role: "img", "aria-label": label,
  });
  const t = svg("title");
  t.textContent = label;
  el.append(t);
  runs.forEach((c, i) => {
    const st = LETTERS[c] || "queued";
    const bad = st === "failed" || st === "timed_out" || st === "interrupted";
    el.append(svg("rect", {
      x: i * (w + gap), y: bad ? 0 : 6, width: w, height: bad ? height : height - 6,
      class: `r-${st}`,
    }));
  });
  return el;
}

// Runs finished per minute (succeeded / failed / other stacked), with a
// text summary for screen readers.
export function minuteChart(perMinute) {
  const total = perMinute.reduce((a, m) => a + m.succeeded + m.failed + m.other, 0);
  const failed = perMinute.reduce((a, m) => a + m.failed, 0);
  const max = Math.max(1, ...perMinute.map((m) => m.succeeded + m.failed + m.other));
  const bw = 6, height = 60;
  const width = perMinute.length * bw;
  const label = `${total} runs finished in the last ${perMinute.length} minutes, ${failed} failed` +
    `; busiest minute ${max === 1 && total === 0 ? 0 : max}`;
  const el = svg("svg", {
    class: "chart", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none",
    role: "img", "aria-label": label,
  });
  const t = svg("title");
  t.textContent = label;
  el.append(t);
  perMinute.forEach((m, i) => {
    let y = height;
    for (const [k, v] of [["succeeded", m.succeeded], ["failed", m.failed], ["other", m.other]]) {
      if (!v) continue;
      const bh = (v / max) * (height - 2);
      y -= bh;
      el.append(svg("rect", { x: i * bw + 1, y, width: bw - 2, height: bh, class: `c-${k}` }));
    }
  });
  return { el, label };
}

// Opens the confirmation dialog; resolves {ok, value}. With input, a text
// field (e.g. the input of a manual run) is shown.
export function confirmDialog({ title, text, action, input }) {
  const dlg = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const ok = document.getElementById("confirm-ok");
  ok.textContent = action;
  const field = document.getElementById("confirm-field");
  const area = document.getElementById("confirm-input");
  field.hidden = !input;
  if (input) {
    document.getElementById("confirm-label").textContent = input.label;
    area.value = input.value || "";
  }
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dlg.addEventListener("close", function done() {
      dlg.removeEventListener("close", done);
      if (opener && opener.isConnected) opener.focus();
      resolve({ ok: dlg.returnValue === "ok", value: area.value });
    });
    dlg.returnValue = "";
    dlg.showModal();
    (input ? area : ok).focus();
  });
}

export function say(msg, isError) {
  const s = document.getElementById("status");
  s.textContent = msg;
  s.classList.toggle("error", !!isError);
}
