// job.js - a job's page: its definition (secrets masked by the API), the
// next 10 fire instants with DST marks, its history with output,
// iterations, tool calls and delivery receipts, its session context and
// audit trail, and pause / resume / run now / reset / remove, each confirmed.
import { ApiError, del, enc, get, post } from "./api.js";
import { badge, confirmDialog, fmtDuration, fmtUTC, fmtZone, h, say } from "./view.js";

const DEFINITION = ["agent_id", "cron_expr", "description", "at", "timezone", "session_mode",
  "delivery", "webhook_url", "webhook_headers", "slack_channel", "slack_webhook_url",
  "email_recipients", "log_file", "policy", "heartbeat", "max_concurrent", "max_retries", "jitter",
  "catch_up", "starting_deadline", "dst_gap", "dst_overlap", "input", "agent_pin_jwt", "one_shot",
  "source", "created_at", "updated_at", "last_run", "run_count", "failure_count"];

function show(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function definition(job) {
  return h("section", { "aria-labelledby": "h-def" }, h("h2", { id: "h-def" }, "Definition"),
    h("dl", { class: "def", id: "definition" },
      DEFINITION.flatMap((k) => [h("dt", {}, k), h("dd", {}, show(job[k]))])),
    h("details", { "data-key": "def" }, h("summary", {}, "As JSON (secrets masked)"),
      h("pre", { id: "definition-json", tabindex: "0" }, JSON.stringify(job, null, 2))));
}

function fires(f) {
  const rows = f.fires.map((x, i) => h("tr", {},
    h("td", { "data-label": "#" }, String(i + 1)),
    h("td", { "data-label": "UTC" }, fmtUTC(x.at)),
    h("td", { "data-label": `Local (${f.timezone})` }, x.local),
    h("td", { "data-label": "DST" },
      x.dst_change ? h("span", { class: "dst" }, `clocks went ${x.dst_change} before this fire`) :
        x.near_dst_change ? h("span", { class: "dst" }, "within an hour of a DST change") : "—")));
  return h("section", { "aria-labelledby": "h-fires" },
    h("h2", { id: "h-fires" }, `Next ${f.fires.length} fire instants`),
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Table of the next fire instants" }, h("table", { id: "fires" },
      h("thead", {}, h("tr", {}, ["#", "UTC", `Local (${f.timezone})`, "DST"].map(
        (c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows))),
    f.dst_notes.length ? h("ul", { class: "notes", id: "dst-notes" },
      f.dst_notes.map((n) => h("li", {}, n))) : null);
}

function pre(label, text) {
  if (text === null || text === undefined || text === "") return null;
  return [h("h3", {}, label), h("pre", { tabindex: "0" }, typeof text === "string" ? text : JSON.stringify(text, null, 2))];
}

function smallTable(cols, rows) {
  return h("table", { class: "small" }, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((v) => h("td", {}, show(v)))))));
}

function runDetails(run) {
  const parts = [
    pre("Input", run.input), pre("Output" + (run.output_truncated ? " (truncated)" : ""), run.output),
    pre("Stderr", run.stderr), pre("Error", run.error_message), pre("Summary", run.summary),
  ];
  if (run.iteration_outputs && run.iteration_outputs.length) {
    parts.push(h("h3", {}, `Iterations (${run.iterations})`), smallTable(["#", "status", "exit", "output"],
      run.iteration_outputs.map((it) => [it.iteration, it.status, it.exit_code, it.output])));
  }
  if (run.tool_calls && run.tool_calls.length) {
    parts.push(h("h3", {}, "Tool calls"), smallTable(["name", "arguments", "exit", "ms", "output / error"],
      run.tool_calls.map((t) => [t.name, t.arguments, t.exit_code, t.ms, t.error || t.output])));
  }
  if (run.deliveries && run.deliveries.length) {
    parts.push(h("h3", {}, "Delivery receipts"), smallTable(["channel", "ok", "status", "error", "at"],
      run.deliveries.map((d) => [d.channel, d.ok, d.status, d.error, d.at])));
  }
  if (run.approver) parts.push(h("p", {}, `Approved or denied by ${run.approver}`));
  if (run.prompt_tokens !== null && run.prompt_tokens !== undefined) {
    parts.push(h("p", {}, `Tokens: ${run.prompt_tokens} prompt, ${run.completion_tokens} completion`));
  }
  const body = parts.flat().filter(Boolean);
  return body.length ? body : [h("p", { class: "muted" }, "No output recorded.")];
}

function history(runs, zone) {
  const items = runs.map((r) => h("li", { class: "run", "data-run": r.id },
    h("details", { "data-key": `run-${r.id}` }, h("summary", {},
      badge(r.status), " ", h("span", {}, fmtUTC(r.scheduled_at)),
      zone !== "UTC" ? h("span", { class: "muted" }, ` (${fmtZone(r.scheduled_at, zone)})`) : null,
      h("span", { class: "muted" }, ` · ${r.trigger} · attempt ${r.attempt} · ${fmtDuration(r.execution_time_ms)}` +
        (r.exit_code !== null ? ` · exit ${r.exit_code}` : "") + (r.iterations ? ` · ${r.iterations} iterations` : "") +
        (r.tool_calls && r.tool_calls.length ? ` · ${r.tool_calls.length} tool calls` : "") +
        (r.deliveries && r.deliveries.length ? ` · ${r.deliveries.length} deliveries` : ""))),
    h("div", { class: "run-body" }, runDetails(r)))));
  return h("section", { "aria-labelledby": "h-history" },
    h("h2", { id: "h-history" }, "History"),
    runs.length ? h("ol", { class: "runs", id: "history" }, items) :
      h("p", { id: "history", class: "muted" }, "No runs yet."));
}

function context(ctx) {
  return h("section", { "aria-labelledby": "h-context" }, h("h2", { id: "h-context" }, "Session context"),
    h("p", {}, `${ctx.live_entries} live entries, ${ctx.archived_entries} archived, ${ctx.bytes} bytes`),
    h("details", { "data-key": "ctx" }, h("summary", {}, "Context as stored"), h("pre", { id: "context", tabindex: "0" }, JSON.stringify(ctx, null, 2))));
}

function audit(events) {
  return h("section", { "aria-labelledby": "h-audit" }, h("h2", { id: "h-audit" }, "Audit trail"),
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Table of audit events" }, h("table", { id: "audit", class: "small" },
      h("thead", {}, h("tr", {}, ["Time", "Event", "Actor"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, events.map((e) => h("tr", {}, h("td", {}, fmtUTC(e.time)),
        h("td", {}, e.type), h("td", {}, e.actor || "—")))))));
}

const ACTIONS = {
  pause: { label: "Pause", text: (j) => `Pause "${j.name}"? It will not fire until resumed.` },
  resume: { label: "Resume", text: (j) => `Resume "${j.name}"? Its next fire is computed from now.` },
  run: { label: "Run now", text: (j) => `Start a manual run of "${j.name}" now?`, input: true },
  reset: { label: "Reset", text: (j) => `Reset "${j.name}"? Its failure count is cleared and a dead-lettered job becomes active.` },
  remove: { label: "Remove", text: (j) => `Remove "${j.name}" and its history? This cannot be undone.` },
};

async function act(job, what, reload) {
  const a = ACTIONS[what];
  const answer = await confirmDialog({
    title: `${a.label}: ${job.name}`, text: a.text(job), action: a.label,
    input: a.input ? { label: "Input for this run (optional)", value: job.input || "" } : null,
  });
  if (!answer.ok) return;
  const base = `/api/v1/schedule/${enc(job.id)}`;
  try {
    if (what === "remove") {
      await del(base);
      say(`Removed ${job.name}`);
      location.hash = "#/";
      return;
    }
    if (what === "run") {
      const run = await post(`${base}/run`, answer.value ? { input: answer.value } : {});
      say(`Run ${run.id.slice(0, 8)} of ${job.name} queued`);
    } else {
      await post(`${base}/${what}`);
      say(`${a.label}: done for ${job.name}`);
    }
  } catch (e) {
    say(`${a.label} failed: ${e.message}`, true);
  }
  await reload();
}

export async function jobPage(view, id, reload) {
  const base = `/api/v1/schedule/${enc(id)}`;
  let job;
  try {
    job = await get(base);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      view.replaceChildren(h("h1", {}, "No such job"), h("p", {}, h("a", { href: "#/" }, "Back to the jobs")));
      return;
    }
    throw e;
  }
  const [f, runs, ctx, events] = await Promise.all([
    get(`${base}/fires?count=10`), get(`${base}/history?limit=50`), get(`${base}/context`),
    get(`/api/v1/audit?job=${enc(job.id)}&limit=20`),
  ]);
  const zone = job.timezone || "UTC";
  const buttons = [job.status === "paused" ? "resume" : "pause", "run", "reset", "remove"].map(
    (w) => h("button", { type: "button", id: `act-${w}`, class: w === "remove" ? "danger" : null,
      on: { click: () => act(job, w, reload) } }, ACTIONS[w].label));
  view.replaceChildren(
    h("p", {}, h("a", { href: "#/" }, "← All jobs")),
    h("h1", {}, job.name, " ", h("span", { id: "job-status" }, badge(job.status))),
    h("p", { class: "muted" }, `${job.description || ""} · agent ${job.agent_id} · next run ` +
      (job.next_run ? `${fmtUTC(job.next_run)} / ${fmtZone(job.next_run, zone)}` : "none")),
    h("div", { class: "actions", role: "group", "aria-label": "Job actions" }, buttons),
    definition(job), fires(f), history(runs, zone), context(ctx), audit(events));
}
