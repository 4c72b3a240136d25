// jobs.js - the dashboard's first page: health and metrics at a glance
// (in-flight, queued, dead letters, schedule lag, approvals, runs per
// minute) and the jobs table with status/agent filters and name search.
import { ApiError, get } from "./api.js";
import { LETTERS, badge, fmtUTC, fmtZone, h, minuteChart, relative, sparkline } from "./view.js";

const STATUSES = ["active", "paused", "completed", "failed", "dead_letter"];

async function healthFigures() {
  try {
    return await get("/api/v1/health/scheduler");
  } catch (e) {
    if (e instanceof ApiError && e.body && typeof e.body === "object") return e.body;
    throw e;
  }
}

function card(label, value, id, warn) {
  return h("div", { class: warn ? "card warn" : "card", id },
    h("div", { class: "card-value" }, String(value)), h("div", { class: "card-label" }, label));
}

export function renderHealth(hs, pending, activity) {
  // the guide's shape, or upstream's 13 keys with [api] upstream_health
  const inFlight = hs.in_flight_jobs ?? hs.global_active_runs ?? 0;
  const dead = hs.dead_letter_jobs ?? hs.jobs_dead_letter ?? 0;
  const lag = hs.scheduler_lag_seconds ?? 0;
  const status = hs.status ?? (hs.is_running ? "healthy" : "unhealthy");
  const chart = minuteChart(activity.per_minute);
  return h("section", { class: "health", "aria-labelledby": "h-health" },
    h("h2", { id: "h-health" }, "Health"),
    h("div", { class: "cards" },
      card("Scheduler", status, "m-status", status !== "healthy"),
      card("In flight", inFlight, "m-inflight"),
      card("Queued", hs.queued_runs ?? 0, "m-queued"),
      card("Dead letters", dead, "m-dead", dead > 0),
      card("Schedule lag", `${Number(lag).toFixed(1)} s`, "m-lag", lag > 60),
      card("Pending approvals", pending, "m-approvals", pending > 0)),
    h("figure", { class: "chart-box" }, chart.el,
      h("figcaption", { id: "m-chart" }, "Runs per minute: " + chart.label)));
}

function lastResult(job, letters) {
  const st = letters ? LETTERS[letters[0]] : null;
  if (!st) return h("span", { class: "muted" }, "no runs");
  return h("span", {}, badge(st), " ",
    h("span", { class: "muted" }, job.last_run ? relative(job.last_run) : ""));
}

function row(job, letters) {
  const zone = job.timezone || "UTC";
  const next = job.next_run ? [
    h("div", {}, fmtUTC(job.next_run)),
    zone !== "UTC" ? h("div", { class: "muted" }, fmtZone(job.next_run, zone)) : null,
  ] : [h("span", { class: "muted" }, "—")];
  const tr = h("tr", { "data-id": job.id, "data-status": job.status, "data-agent": job.agent_id },
    h("th", { scope: "row", "data-label": "Name" },
      h("a", { href: `#/job/${encodeURIComponent(job.id)}`, class: "job-link" }, job.name)),
    h("td", { "data-label": "Agent" }, job.agent_id),
    h("td", { "data-label": "Status", class: "status-cell" }, badge(job.status)),
    h("td", { "data-label": "Schedule" },
      h("div", {}, job.description || job.cron_expr || "—"),
      job.cron_expr ? h("code", { class: "muted" }, job.cron_expr) : null),
    h("td", { "data-label": "Next run" }, next),
    h("td", { "data-label": "Last result" }, lastResult(job, letters)),
    h("td", { "data-label": "Last 50 runs" }, sparkline(letters)));
  tr.dataset.name = job.name.toLowerCase();
  return tr;
}

// Shows the rows that pass the filters; returns how many.
function applyFilters(tbody, f) {
  let shown = 0;
  const q = f.q.trim().toLowerCase();
  for (const tr of tbody.rows) {
    const ok = (!f.status || tr.dataset.status === f.status) &&
      (!f.agent || tr.dataset.agent === f.agent) && (!q || tr.dataset.name.includes(q));
    tr.hidden = !ok;
    if (ok) shown++;
  }
  return shown;
}

function select(id, label, options, value) {
  return [h("label", { for: id }, label),
    h("select", { id, name: id },
      h("option", { value: "" }, "All"),
      options.map((o) => h("option", { value: o, selected: o === value }, o.replace("_", " "))))];
}

// state: {status, agent, q} kept across refreshes (and in the URL).
export async function jobsPage(view, state) {
  const [jobs, activity, hs, pending] = await Promise.all([
    get("/api/v1/schedule"), get("/api/v1/activity?runs=50&minutes=60"), healthFigures(),
    get("/api/v1/runs?status=pending_approval&limit=1000"),
  ]);
  performance.mark("ui:data");
  const agents = [...new Set(jobs.map((j) => j.agent_id))].sort();
  const tbody = h("tbody", { id: "jobs-body" });
  const frag = document.createDocumentFragment();
  for (const j of jobs) frag.append(row(j, activity.recent[j.id] || ""));
  tbody.append(frag);
  const counter = h("p", { id: "jobs-count", class: "muted", "aria-live": "polite" });
  const update = () => {
    const n = applyFilters(tbody, state);
    counter.textContent = `Showing ${n} of ${jobs.length} jobs`;
    const p = new URLSearchParams();
    for (const k of ["status", "agent", "q"]) if (state[k]) p.set(k, state[k]);
    const want = "#/" + (p.toString() ? "?" + p : "");
    if (location.hash !== want && (location.hash || want !== "#/")) history.replaceState(null, "", want);
  };
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter jobs",
    on: { submit: (e) => e.preventDefault() } },
    h("div", {}, select("f-status", "Status", STATUSES, state.status)),
    h("div", {}, select("f-agent", "Agent", agents, state.agent)),
    h("div", {}, h("label", { for: "f-search" }, "Search by name"),
      h("input", { id: "f-search", type: "search", value: state.q, autocomplete: "off" })));
  form.addEventListener("input", (e) => {
    const t = e.target;
    if (t.id === "f-status") state.status = t.value;
    if (t.id === "f-agent") state.agent = t.value;
    if (t.id === "f-search") state.q = t.value;
    update();
  });
  const table = h("table", { id: "jobs", class: "jobs" },
    h("caption", { class: "sr-only" }, "Jobs"),
    h("colgroup", {}, ["name", "agent", "status", "sched", "next", "last", "spark"].map((c) => h("col", { class: `c-${c}` }))),
    h("thead", {}, h("tr", {},
      ["Name", "Agent", "Status", "Schedule", "Next run (UTC / job's zone)", "Last result",
        "Last 50 runs"].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  view.replaceChildren(
    h("h1", {}, "Jobs"),
    renderHealth(hs, pending.length, activity),
    h("section", { "aria-labelledby": "h-jobs" }, h("h2", { id: "h-jobs" }, "All jobs"), form,
      counter, h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Jobs table" }, table)));
  update();
  performance.mark("ui:rows");
  return { pending: pending.length };
}
