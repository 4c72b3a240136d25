// approvals.js - the runs waiting for approval (SPEC §8.1), each with
// approve / deny (a reason may be given), confirmed first.
import { enc, get, post } from "./api.js";
import { confirmDialog, fmtUTC, h, say } from "./view.js";

async function decide(run, approve, reload) {
  const verb = approve ? "Approve" : "Deny";
  const answer = await confirmDialog({
    title: `${verb} run of ${run.job_name}`,
    text: `${verb} the run of "${run.job_name}" scheduled at ${fmtUTC(run.scheduled_at)}?`,
    action: verb,
    input: approve ? null : { label: "Reason (optional)", value: "" },
  });
  if (!answer.ok) return;
  try {
    const body = !approve && answer.value ? { reason: answer.value } : {};
    await post(`/api/v1/runs/${enc(run.id)}/${approve ? "approve" : "deny"}`, body);
    say(`${approve ? "Approved" : "Denied"}: run ${run.id.slice(0, 8)} of ${run.job_name}`);
  } catch (e) {
    say(`${verb} failed: ${e.message}`, true);
  }
  await reload();
}

export async function approvalsPage(view, reload) {
  const runs = await get("/api/v1/runs?status=pending_approval&limit=1000");
  const rows = runs.map((r) => h("tr", { "data-run": r.id },
    h("th", { scope: "row", "data-label": "Job" },
      h("a", { href: `#/job/${enc(r.job_id)}` }, r.job_name || r.job_id)),
    h("td", { "data-label": "Scheduled" }, fmtUTC(r.scheduled_at)),
    h("td", { "data-label": "Trigger" }, r.trigger),
    h("td", { "data-label": "Input" }, r.input || "—"),
    h("td", { "data-label": "Decision" },
      h("button", { type: "button", class: "approve", "aria-label": `Approve run of ${r.job_name}`,
        on: { click: () => decide(r, true, reload) } }, "Approve"), " ",
      h("button", { type: "button", class: "deny danger", "aria-label": `Deny run of ${r.job_name}`,
        on: { click: () => decide(r, false, reload) } }, "Deny"))));
  view.replaceChildren(h("h1", {}, "Approvals"),
    runs.length === 0 ? h("p", { id: "approvals-empty" }, "No run is waiting for approval.") :
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Runs waiting for approval" }, h("table", { id: "approvals" },
        h("caption", { class: "sr-only" }, "Runs waiting for approval"),
        h("thead", {}, h("tr", {}, ["Job", "Scheduled", "Trigger", "Input", "Decision"].map(
          (c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows))));
  return { pending: runs.length };
}
