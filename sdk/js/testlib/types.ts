// types.ts - compile-time checks of index.d.ts (tsc --noEmit --strict, run by
// tests/e2e/test_sdk_types.py; never executed): the guide's calls type-check,
// results carry snake_case keys and camelCase getters, and misuse is an error.
import {
  ConflictError,
  NotFoundError,
  SymbiontClient,
  SymbiontError,
  ValidationError,
  type Job,
  type Run,
  type SchedulerHealth,
} from '@symbiont/sdk-js';

export async function typed(client: SymbiontClient): Promise<string[]> {
  const job: Job = await client.schedule.create({
    name: 'daily-backup',
    agentId: 'backup-agent',
    cronExpr: '0 2 * * *',
    sessionMode: 'ephemeral_with_summary',
    delivery: ['webhook'],
    webhookUrl: 'https://backup.example.com/notify',
    heartbeat: { enabled: true, contextMode: 'shared_persistent', maxIterations: 3 },
    at: new Date(),
  });
  const nextRun: string | null = job.next_run ?? job.nextRun;
  const runs: Run[] = await client.schedule.getHistory(job.id, { limit: 10, status: 'failed' });
  const ms: (number | null)[] = runs.map((r) => r.execution_time_ms ?? r.executionTimeMs);
  const h: SchedulerHealth = await client.schedule.health();
  const n: number = h.active_jobs + h.inFlightJobs + h.metrics.runs_total;
  const next = await client.schedule.getNextRun(job.id, { count: 3 });
  const all: string[] = next.next_runs;
  try {
    await client.runs.approve(runs[0].id, { approver: 'alice' });
  } catch (e) {
    if (e instanceof ValidationError) return [e.field ?? '', String(e.status)];
    if (e instanceof NotFoundError || e instanceof ConflictError) return [e.code ?? ''];
    if (e instanceof SymbiontError) return [String(e.details)];
  }
  // @ts-expect-error: the session mode is one of three names
  await client.schedule.create({ name: 'x', sessionMode: 'forever' });
  // @ts-expect-error: a misspelt option
  await client.schedule.create({ name: 'x', agentID: 'a' });
  await client.schedule.create({ name: 'x', agent_id: 'a', cron_expr: '* * * * *' });
  // @ts-expect-error: maxConcurrent is a number
  await client.schedule.update(job.id, { maxConcurrent: 'two' });
  // @ts-expect-error: runNow's input is a string
  await client.schedule.runNow(job.id, { input: 5 });
  // @ts-expect-error: a job's status is a known name
  const s: 'sleeping' = job.status;
  // @ts-expect-error: baseUrl is a string
  new SymbiontClient({ baseUrl: 8080 });
  return [String(nextRun), String(ms), String(n), String(all), String(s)];
}
