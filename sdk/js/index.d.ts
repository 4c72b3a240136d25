// Type declarations of @symbiont/sdk-js, symbi's JavaScript client (SPEC §14).
// Results keep the API's snake_case keys, with camelCase getters beside them.

export declare const VERSION: string;

export interface ClientOptions {
  /** e.g. "http://localhost:8080" (the default) */
  baseUrl?: string;
  /** sent as "Authorization: Bearer <key>"; none in protected mode (loopback) */
  apiKey?: string;
  /** per request, in milliseconds (default 30000) */
  timeout?: number;
}

export type JobStatus = 'active' | 'paused' | 'completed' | 'failed' | 'dead_letter';
export type RunStatus =
  | 'queued' | 'pending_approval' | 'running' | 'succeeded' | 'failed' | 'timed_out'
  | 'denied' | 'skipped' | 'missed' | 'interrupted';
export type SessionMode = 'ephemeral_with_summary' | 'shared_persistent' | 'fully_ephemeral';
/** "30s", "5m", "2h" or a number of seconds */
export type Duration = string | number;

export interface HeartbeatOptions {
  enabled?: boolean;
  contextMode?: SessionMode;
  maxIterations?: number;
}

/** Job fields, camelCase (JobApiFields: the snake_case API names are accepted too). */
export interface JobOptions {
  name?: string;
  agentId?: string;
  cronExpr?: string | null;
  at?: string | Date | null;
  timezone?: string | null;
  sessionMode?: SessionMode;
  delivery?: string[] | null;
  webhookUrl?: string | null;
  webhookHeaders?: Record<string, string> | null;
  slackChannel?: string | null;
  slackWebhookUrl?: string | null;
  emailRecipients?: string[] | null;
  logFile?: string | null;
  policy?: Record<string, unknown> | null;
  heartbeat?: HeartbeatOptions | null;
  maxConcurrent?: number;
  maxRetries?: number | null;
  jitter?: Duration | null;
  catchUp?: 'once' | 'skip' | 'all';
  startingDeadline?: Duration | null;
  dstGap?: 'shift' | 'skip';
  dstOverlap?: 'auto' | 'first' | 'last' | 'both';
  input?: string | null;
  agentPinJwt?: string | null;
  oneShot?: boolean;
}

/** The same fields under the API's snake_case names (accepted as they are). */
export interface JobApiFields {
  agent_id?: string;
  cron_expr?: string | null;
  session_mode?: SessionMode;
  webhook_url?: string | null;
  webhook_headers?: Record<string, string> | null;
  slack_channel?: string | null;
  slack_webhook_url?: string | null;
  email_recipients?: string[] | null;
  log_file?: string | null;
  heartbeat?: HeartbeatOptions | { enabled?: boolean; context_mode?: SessionMode; max_iterations?: number } | null;
  max_concurrent?: number;
  max_retries?: number | null;
  catch_up?: 'once' | 'skip' | 'all';
  starting_deadline?: Duration | null;
  dst_gap?: 'shift' | 'skip';
  dst_overlap?: 'auto' | 'first' | 'last' | 'both';
  agent_pin_jwt?: string | null;
  one_shot?: boolean;
}

export interface Job {
  id: string;
  name: string;
  agent_id: string;
  cron_expr: string | null;
  at: string | null;
  timezone: string;
  status: JobStatus;
  session_mode: SessionMode;
  delivery: string[];
  webhook_url: string | null;
  webhook_headers: Record<string, string>;
  slack_channel: string | null;
  slack_webhook_url: string | null;
  email_recipients: string[];
  log_file: string | null;
  policy: Record<string, unknown> | null;
  heartbeat: { enabled: boolean; context_mode: SessionMode; max_iterations: number } | null;
  max_concurrent: number;
  max_retries: number | null;
  jitter: string | null;
  catch_up: string;
  starting_deadline: string | null;
  dst_gap: string;
  dst_overlap: string;
  input: string | null;
  agent_pin_jwt: string | null;
  one_shot: boolean;
  created_at: string;
  updated_at: string;
  last_run: string | null;
  next_run: string | null;
  run_count: number;
  failure_count: number;
  readonly agentId: string;
  readonly cronExpr: string | null;
  readonly sessionMode: SessionMode;
  readonly webhookUrl: string | null;
  readonly slackChannel: string | null;
  readonly maxConcurrent: number;
  readonly maxRetries: number | null;
  readonly oneShot: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastRun: string | null;
  readonly nextRun: string | null;
  readonly runCount: number;
  readonly failureCount: number;
  [key: string]: unknown;
}

/** A declared tool a model agent called (docs/models.md). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: unknown;
  status: 'succeeded' | 'failed' | 'timed_out' | 'interrupted' | 'not_run';
  exit_code: number | null;
  output: string;
  error: string | null;
  ms: number;
}

export interface Run {
  id: string;
  job_id: string;
  job_name: string | null;
  agent: string | null;
  trigger: 'schedule' | 'manual' | 'retry' | 'catch_up';
  scheduled_at: string | null;
  due_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  status: RunStatus;
  attempt: number;
  input: string | null;
  output: string | null;
  output_truncated: boolean;
  stderr: string | null;
  summary: string | null;
  error_message: string | null;
  exit_code: number | null;
  execution_time_ms: number | null;
  jitter_ms: number;
  node: string | null;
  iterations: number;
  deliveries: unknown[];
  approver: string | null;
  tool_calls: ToolCall[];
  prompt_tokens: number | null;
  completion_tokens: number | null;
  created_at: string | null;
  readonly jobId: string;
  readonly errorMessage: string | null;
  readonly executionTimeMs: number | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  [key: string]: unknown;
}

export interface Deleted {
  id: string;
  deleted: true;
}

export interface NextRun {
  id: string;
  next_run: string | null;
  next_runs: string[];
  readonly nextRun: string | null;
  readonly nextRuns: string[];
}

export interface SchedulerHealth {
  status: 'healthy' | 'degraded' | 'unhealthy';
  active_jobs: number;
  paused_jobs: number;
  dead_letter_jobs: number;
  in_flight_jobs: number;
  queued_runs: number;
  uptime_seconds: number;
  metrics: {
    runs_total: number;
    runs_succeeded: number;
    runs_failed: number;
    avg_execution_time_ms: number;
  };
  readonly activeJobs: number;
  readonly pausedJobs: number;
  readonly deadLetterJobs: number;
  readonly inFlightJobs: number;
  readonly queuedRuns: number;
  readonly uptimeSeconds: number;
  [key: string]: unknown;
}

export interface AuditEvent {
  id: number;
  time: string;
  type: string;
  job_id: string | null;
  job_name: string | null;
  run_id: string | null;
  actor: string | null;
  details: Record<string, unknown>;
  readonly jobId: string | null;
  readonly jobName: string | null;
  readonly runId: string | null;
}

export declare class SymbiontError extends Error {
  constructor(message: string, init?: { status?: number | null; code?: string | null; details?: Record<string, unknown> | null });
  /** the HTTP status, or null when no answer arrived */
  status: number | null;
  /** the server's code, e.g. "NOT_FOUND" */
  code: string | null;
  details: Record<string, unknown> | null;
}
export declare class ValidationError extends SymbiontError {
  /** details.field: the field the server refused */
  readonly field: string | null;
}
export declare class AuthenticationError extends SymbiontError {}
export declare class PermissionDeniedError extends SymbiontError {}
export declare class NotFoundError extends SymbiontError {}
export declare class ConflictError extends SymbiontError {}
export declare class ConnectionError extends SymbiontError {}

export declare function wrap<T = unknown>(value: unknown): T;

export declare class ScheduleClient {
  create(options: JobOptions & JobApiFields & { name: string }): Promise<Job>;
  list(options?: { status?: JobStatus; agentId?: string; limit?: number; offset?: number }): Promise<Job[]>;
  get(job: string): Promise<Job>;
  getStatus(job: string): Promise<Job>;
  update(job: string, options: JobOptions & JobApiFields): Promise<Job>;
  delete(job: string): Promise<Deleted>;
  pause(job: string): Promise<Job>;
  resume(job: string): Promise<Job>;
  reset(job: string): Promise<Job>;
  runNow(job: string, options?: { input?: string }): Promise<Run>;
  getHistory(job: string, options?: { status?: RunStatus; limit?: number; offset?: number }): Promise<Run[]>;
  getNextRun(job: string, options?: { count?: number }): Promise<NextRun>;
  getContext(job: string): Promise<Record<string, unknown>>;
  health(): Promise<SchedulerHealth>;
}

export declare class RunsClient {
  get(runId: string): Promise<Run>;
  approve(runId: string, options?: { approver?: string }): Promise<Run>;
  deny(runId: string, options?: { approver?: string }): Promise<Run>;
}

export declare class AuditClient {
  query(options?: { type?: string; job?: string; since?: string | Date; until?: string | Date; limit?: number }): Promise<AuditEvent[]>;
}

export declare class SymbiontClient {
  constructor(options?: ClientOptions);
  readonly baseUrl: string;
  readonly schedule: ScheduleClient;
  readonly runs: RunsClient;
  readonly audit: AuditClient;
  request(method: string, path: string, init?: { body?: unknown; query?: Record<string, unknown> }): Promise<unknown>;
}

export default SymbiontClient;
