"""SymbiontClient: the guide's Python client for symbi's HTTP API (SPEC §9.1,
§14), on the standard library only (urllib.request, json). Keyword arguments
are the API's snake_case field names; None means "not sent"."""
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone as _tz
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .errors import ConnectionError, SymbiontError, error_for
from .models import (AuditEvent, Deleted, Job, NextRun, Record, Run, SchedulerHealth,
                     wrap_list)

__all__ = ["SymbiontClient", "ScheduleClient", "RunsClient", "AuditClient"]

USER_AGENT = "symbiont-python/0.1.0"
Duration = Union[str, int]  # "30s", "5m", or seconds
TimeArg = Union[str, datetime]


def _path(*parts: str) -> str:
    return "/".join(urllib.parse.quote(str(p), safe="") for p in parts)


def _fields(given: Dict[str, Any], extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    body = {k: v for k, v in given.items() if v is not None}
    if extra:
        body.update(extra)
    return body


def _time(v: Optional[TimeArg]) -> Optional[str]:
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_tz.utc)
        return v.astimezone(_tz.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return v


class SymbiontClient:
    """A client for one symbi server.

    base_url: e.g. "http://localhost:8080"; api_key: sent as
    "Authorization: Bearer <key>" (None in protected mode, loopback only);
    timeout: seconds per request."""

    def __init__(self, base_url: str = "http://localhost:8080", api_key: Optional[str] = None,
                 timeout: float = 30):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.schedule = ScheduleClient(self)
        self.runs = RunsClient(self)
        self.audit = AuditClient(self)

    def request(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None,
                query: Optional[Mapping[str, Any]] = None) -> Any:
        """Sends one request to base_url + path and returns the parsed JSON
        answer; an error answer raises the SymbiontError subclass of its
        status."""
        url = self.base_url + path
        q = {k: str(v).lower() if isinstance(v, bool) else str(v)
             for k, v in (query or {}).items() if v is not None}
        if q:
            url += "?" + urllib.parse.urlencode(q)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
            e.close()
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ConnectionError(f"cannot reach {self.base_url}: {reason}",
                                  code="CONNECTION_ERROR") from e
        text = raw.decode("utf-8", errors="replace")
        is_json = True
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed, is_json = text, False
        if status >= 400:
            raise error_for(status, parsed)
        if not is_json:
            raise SymbiontError(f"answer is not JSON: {text[:200]}", status=status,
                                code="BAD_ANSWER")
        return parsed


class ScheduleClient:
    """client.schedule: the job routes (/api/v1/schedule...). `job` is a
    job's id, unique id prefix or name."""

    def __init__(self, client: SymbiontClient):
        self._c = client

    def create(self, *, name: str, agent_id: str, cron_expr: Optional[str] = None,
               at: Optional[TimeArg] = None, timezone: Optional[str] = None,
               session_mode: Optional[str] = None, delivery: Optional[Sequence[str]] = None,
               webhook_url: Optional[str] = None,
               webhook_headers: Optional[Mapping[str, str]] = None,
               slack_channel: Optional[str] = None, slack_webhook_url: Optional[str] = None,
               email_recipients: Optional[Sequence[str]] = None, log_file: Optional[str] = None,
               policy: Optional[Mapping[str, Any]] = None,
               heartbeat: Optional[Mapping[str, Any]] = None,
               max_concurrent: Optional[int] = None, max_retries: Optional[int] = None,
               jitter: Optional[Duration] = None, catch_up: Optional[str] = None,
               starting_deadline: Optional[Duration] = None, dst_gap: Optional[str] = None,
               dst_overlap: Optional[str] = None, input: Optional[str] = None,
               agent_pin_jwt: Optional[str] = None, one_shot: Optional[bool] = None,
               fields: Optional[Mapping[str, Any]] = None) -> Job:
        """Creates a job (POST /api/v1/schedule): a cron_expr or an `at`
        instant. fields: further raw API fields, sent as they are (a None
        there is sent as JSON null)."""
        given = dict(locals())
        for k in ("self", "fields"):
            given.pop(k)
        given["at"] = _time(at)
        return Job(self._c.request("POST", "/api/v1/schedule", _fields(given, fields)))

    def list(self, *, status: Optional[str] = None, agent_id: Optional[str] = None,
             limit: Optional[int] = None, offset: Optional[int] = None) -> List[Job]:
        """Jobs by name (GET /api/v1/schedule), filtered by status
        (active, paused, completed, failed, dead_letter) and agent."""
        q = {"status": status, "agent_id": agent_id, "limit": limit, "offset": offset}
        return wrap_list(self._c.request("GET", "/api/v1/schedule", query=q), Job)

    def get(self, job: str) -> Job:
        return Job(self._c.request("GET", "/api/v1/schedule/" + _path(job)))

    def update(self, job: str, *, name: Optional[str] = None, agent_id: Optional[str] = None,
               cron_expr: Optional[str] = None, at: Optional[TimeArg] = None,
               timezone: Optional[str] = None, session_mode: Optional[str] = None,
               delivery: Optional[Sequence[str]] = None, webhook_url: Optional[str] = None,
               webhook_headers: Optional[Mapping[str, str]] = None,
               slack_channel: Optional[str] = None, slack_webhook_url: Optional[str] = None,
               email_recipients: Optional[Sequence[str]] = None, log_file: Optional[str] = None,
               policy: Optional[Mapping[str, Any]] = None,
               heartbeat: Optional[Mapping[str, Any]] = None,
               max_concurrent: Optional[int] = None, max_retries: Optional[int] = None,
               jitter: Optional[Duration] = None, catch_up: Optional[str] = None,
               starting_deadline: Optional[Duration] = None, dst_gap: Optional[str] = None,
               dst_overlap: Optional[str] = None, input: Optional[str] = None,
               agent_pin_jwt: Optional[str] = None, one_shot: Optional[bool] = None,
               fields: Optional[Mapping[str, Any]] = None) -> Job:
        """Changes the given fields (PUT /api/v1/schedule/{job}); a new
        cron_expr, at or timezone recomputes next_run. To clear a field,
        send it as None in fields (fields={"webhook_url": None})."""
        given = dict(locals())
        for k in ("self", "job", "fields"):
            given.pop(k)
        given["at"] = _time(at)
        return Job(self._c.request("PUT", "/api/v1/schedule/" + _path(job),
                                   _fields(given, fields)))

    def delete(self, job: str) -> Deleted:
        return Deleted(self._c.request("DELETE", "/api/v1/schedule/" + _path(job)))

    def _action(self, job: str, action: str) -> Job:
        return Job(self._c.request("POST", "/api/v1/schedule/" + _path(job, action)))

    def pause(self, job: str) -> Job:
        return self._action(job, "pause")

    def resume(self, job: str) -> Job:
        return self._action(job, "resume")

    def reset(self, job: str) -> Job:
        """Takes a dead-lettered or failed job back to active, failures cleared."""
        return self._action(job, "reset")

    def run_now(self, job: str, input: Optional[str] = None) -> Run:
        """Queues a manual run (POST .../run, 202); the answer is the queued run."""
        body = {"input": input} if input is not None else None
        return Run(self._c.request("POST", "/api/v1/schedule/" + _path(job, "run"), body))

    def get_history(self, job: str, *, status: Optional[str] = None,
                    limit: Optional[int] = None, offset: Optional[int] = None) -> List[Run]:
        """Runs of the job, newest first (status: succeeded, failed, ...)."""
        q = {"status": status, "limit": limit, "offset": offset}
        return wrap_list(
            self._c.request("GET", "/api/v1/schedule/" + _path(job, "history"), query=q), Run)

    def get_next_run(self, job: str, count: Optional[int] = None) -> NextRun:
        """The next fire instant(s): next_run and next_runs (count 1..100)."""
        return NextRun(self._c.request("GET", "/api/v1/schedule/" + _path(job, "next_run"),
                                       query={"count": count}))

    def get_context(self, job: str) -> Record:
        """The job's stored session context (SPEC §6.3)."""
        return Record(self._c.request("GET", "/api/v1/schedule/" + _path(job, "context")))

    def health(self) -> SchedulerHealth:
        """The scheduler's health (GET /api/v1/health/scheduler)."""
        return SchedulerHealth(self._c.request("GET", "/api/v1/health/scheduler"))


class RunsClient:
    """client.runs: one run by id, and approval of runs that wait for it."""

    def __init__(self, client: SymbiontClient):
        self._c = client

    def get(self, run_id: str) -> Run:
        return Run(self._c.request("GET", "/api/v1/runs/" + _path(run_id)))

    def approve(self, run_id: str, approver: Optional[str] = None) -> Run:
        body = {"approver": approver} if approver is not None else None
        return Run(self._c.request("POST", "/api/v1/runs/" + _path(run_id, "approve"), body))

    def deny(self, run_id: str, approver: Optional[str] = None) -> Run:
        body = {"approver": approver} if approver is not None else None
        return Run(self._c.request("POST", "/api/v1/runs/" + _path(run_id, "deny"), body))


class AuditClient:
    """client.audit: the audit log (GET /api/v1/audit)."""

    def __init__(self, client: SymbiontClient):
        self._c = client

    def query(self, *, type: Optional[str] = None, job: Optional[str] = None,
              since: Optional[TimeArg] = None, until: Optional[TimeArg] = None,
              limit: Optional[int] = None) -> List[AuditEvent]:
        """Events newest first; type e.g. "CronJobCreated", job an id or name,
        since/until RFC 3339 strings, dates or datetimes."""
        q = {"type": type, "job": job, "since": _time(since), "until": _time(until),
             "limit": limit}
        return wrap_list(self._c.request("GET", "/api/v1/audit", query=q), AuditEvent)
