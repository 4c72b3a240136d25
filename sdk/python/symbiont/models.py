"""Result objects of the symbiont SDK: the server's JSON objects with
attribute access (job.id, details.next_run, run.error_message), nested
objects and lists of objects wrapped the same way. The classes list the
server's keys as annotations for type checkers and editors."""
from typing import Any, Dict, Iterator, List, Optional, Type, TypeVar


def wrap(value: Any, cls: Optional[type] = None) -> Any:
    """JSON value -> Record (objects), list of wrapped values, or as is."""
    if isinstance(value, dict):
        return (cls or Record)(value)
    if isinstance(value, list):
        return [wrap(v, cls) for v in value]
    return value


class Record:
    """A JSON object: attributes and [] read its keys; to_dict() gives the
    plain dict back. A key the server did not send is an AttributeError."""

    __slots__ = ("_data",)

    def __init__(self, data: Dict[str, Any]):
        object.__setattr__(self, "_data", dict(data))

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return wrap(data[name])
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return wrap(self._data[key])

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return bool(self._data == other._data)
        return NotImplemented

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    def get(self, key: str, default: Any = None) -> Any:
        return wrap(self._data.get(key, default))

    def keys(self) -> List[str]:
        return list(self._data)

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class Job(Record):
    """A scheduled job (SPEC §4.1, §9.1)."""
    id: str
    name: str
    agent_id: str
    cron_expr: Optional[str]
    at: Optional[str]
    timezone: str
    status: str
    session_mode: str
    delivery: List[str]
    webhook_url: Optional[str]
    slack_channel: Optional[str]
    email_recipients: List[str]
    max_concurrent: int
    max_retries: Optional[int]
    jitter: Optional[str]
    catch_up: str
    one_shot: bool
    created_at: str
    updated_at: str
    last_run: Optional[str]
    next_run: Optional[str]
    run_count: int
    failure_count: int


class Run(Record):
    """One run of a job (SPEC §4.2)."""
    id: str
    job_id: str
    job_name: Optional[str]
    agent: Optional[str]
    trigger: str
    status: str
    attempt: int
    scheduled_at: Optional[str]
    started_at: Optional[str]
    finished_at: Optional[str]
    input: Optional[str]
    output: Optional[str]
    error_message: Optional[str]
    exit_code: Optional[int]
    execution_time_ms: Optional[int]
    approver: Optional[str]
    tool_calls: List[Dict[str, Any]]
    prompt_tokens: Optional[int]
    completion_tokens: Optional[int]


class Deleted(Record):
    """The answer of a delete: {"id", "deleted": true}."""
    id: str
    deleted: bool


class NextRun(Record):
    """The next fire instants of a job: {"id", "next_run", "next_runs"}."""
    id: str
    next_run: Optional[str]
    next_runs: List[str]


class SchedulerHealth(Record):
    """The scheduler's health in the guide's shape (SPEC §9.1)."""
    status: str
    active_jobs: int
    paused_jobs: int
    dead_letter_jobs: int
    in_flight_jobs: int
    queued_runs: int
    uptime_seconds: int


class AuditEvent(Record):
    """One audit event (SPEC §12)."""
    id: int
    time: str
    type: str
    job_id: Optional[str]
    job_name: Optional[str]
    run_id: Optional[str]
    actor: Optional[str]
    details: Dict[str, Any]


R = TypeVar("R", bound=Record)


def wrap_list(value: Any, cls: Type[R]) -> List[R]:
    """A JSON array of objects -> a list of cls; TypeError for anything else."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"expected a JSON array of objects, got {type(value).__name__}")
    return [cls(v) for v in value]
