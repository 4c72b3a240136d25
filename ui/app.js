// app.js - the dashboard's entry: the hash router (#/, #/job/ID,
// #/approvals), the login form when the server wants a key, and live
// updates (the page re-reads its data when the server's change sequence
// moves, keeping focus, filters and open details).
import { AuthError, get, getKey, setKey, watch } from "./api.js";
import { approvalsPage } from "./approvals.js";
import { jobPage } from "./job.js";
import { jobsPage } from "./jobs.js";
import { say } from "./view.js";

const view = document.getElementById("view");
const filters = { status: "", agent: "", q: "" };
let queue = Promise.resolve();
let stopWatch = null;

function route() {
  const hash = location.hash || "#/";
  const m = /^#\/job\/(.+)$/.exec(hash);
  if (m) return { page: "job", id: decodeURIComponent(m[1]) };
  if (hash.startsWith("#/approvals")) return { page: "approvals" };
  const q = new URLSearchParams(hash.split("?")[1] || "");
  return { page: "jobs", query: q };
}

function showLogin(message) {
  document.getElementById("login").hidden = false;
  view.replaceChildren();
  document.getElementById("login-error").textContent = message || "";
  document.getElementById("logout").hidden = true;
  document.getElementById("login-key").focus();
  if (stopWatch) stopWatch();
  stopWatch = null;
}

// what a re-render should keep: the focused control (and its caret), the
// open <details>, the scroll position
function snapshot() {
  const a = document.activeElement;
  const open = [...view.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key);
  const focus = a && a.id && view.contains(a) ? { id: a.id, start: a.selectionStart, end: a.selectionEnd } : null;
  const y = window.scrollY;
  return () => {
    for (const k of open) {
      const d = view.querySelector(`details[data-key="${CSS.escape(k)}"]`);
      if (d) d.open = true;
    }
    const el = focus && document.getElementById(focus.id);
    if (el) {
      el.focus({ preventScroll: true });
      if (typeof focus.start === "number" && el.setSelectionRange) el.setSelectionRange(focus.start, focus.end);
    }
    window.scrollTo(0, y);
  };
}

function markNav(page) {
  for (const [id, p] of [["nav-jobs", "jobs"], ["nav-approvals", "approvals"]]) {
    const a = document.getElementById(id);
    if (p === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function setPending(n) {
  const c = document.getElementById("approvals-count");
  c.hidden = !n;
  c.textContent = n ? String(n) : "";
  c.setAttribute("aria-label", `${n} pending`);
}

// renders one at a time, in the order asked (a navigation during a live
// refresh is not lost)
function render(live) {
  queue = queue.then(() => renderNow(live));
  return queue;
}

async function renderNow(live) {
  const r = route();
  const restore = live ? snapshot() : null;
  {
    try {
      markNav(r.page);
      let res = null;
      if (r.page === "job") {
        await jobPage(view, r.id, () => render(true));
      } else if (r.page === "approvals") {
        res = await approvalsPage(view, () => render(true));
      } else {
        if (!live) {
          filters.status = r.query.get("status") || "";
          filters.agent = r.query.get("agent") || "";
          filters.q = r.query.get("q") || "";
        }
        res = await jobsPage(view, filters);
      }
      if (res) setPending(res.pending);
      document.getElementById("login").hidden = true;
      document.getElementById("logout").hidden = !getKey();
      document.body.dataset.rendered = String(Date.now());
      // the first paint after the first render: what "first load" measures
      if (!live) requestAnimationFrame(() => setTimeout(() => performance.mark("ui:painted")));
      if (restore) restore();
      if (!stopWatch) stopWatch = watch(() => render(true), liveState);
    } catch (e) {
      if (e instanceof AuthError) showLogin(getKey() ? "That key was refused." : "");
      else say(`Could not load: ${e.message}`, true);
    }
  }
}

function liveState(ok, err) {
  const el = document.getElementById("live");
  el.textContent = ok ? "live" : "offline";
  el.classList.toggle("off", !ok);
  if (!ok && err instanceof AuthError) showLogin("The key was refused.");
}

document.getElementById("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("login-key");
  setKey(input.value.trim());
  input.value = "";
  try {
    await get("/api/v1/changes");
    document.getElementById("login").hidden = true;
    await render(false);
    document.getElementById("main").focus();
  } catch (err) {
    setKey(null);
    showLogin(err instanceof AuthError ? "That key was refused." : err.message);
  }
});

document.getElementById("logout").addEventListener("click", () => {
  setKey(null);
  showLogin("");
});

window.addEventListener("hashchange", () => {
  const r = route();
  // the jobs page's own filter updates rewrite the hash: no reload for those
  if (r.page === "jobs" && view.querySelector("#jobs")) return;
  render(false).then(() => document.getElementById("main").focus({ preventScroll: true }));
});

render(false);
