"""symbiont - the Python client SDK for symbi, the scheduler for AI agents
(SPEC §14): `from symbiont import SymbiontClient`. Standard library only."""
from .client import AuditClient, RunsClient, ScheduleClient, SymbiontClient
from .errors import (AuthenticationError, ConflictError, ConnectionError, NotFoundError,
                     PermissionDeniedError, SymbiontError, ValidationError)
from .models import AuditEvent, Deleted, Job, NextRun, Record, Run, SchedulerHealth

__version__ = "0.1.0"
__all__ = ["SymbiontClient", "ScheduleClient", "RunsClient", "AuditClient", "SymbiontError",
           "ValidationError", "AuthenticationError", "PermissionDeniedError", "NotFoundError",
           "ConflictError", "ConnectionError", "Record", "Job", "Run", "Deleted", "NextRun",
           "SchedulerHealth", "AuditEvent"]
