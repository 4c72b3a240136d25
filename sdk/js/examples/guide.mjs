import { SymbiontClient } from '@symbiont/sdk-js';

const client = new SymbiontClient({
  baseUrl: process.env.SYMBI_BASE_URL ?? 'http://localhost:8080',
  apiKey: process.env.SYMBI_API_KEY
});

// create a scheduled job
const job = await client.schedule.create({
  name: 'daily-backup',
  agentId: 'backup-agent',
  cronExpr: '0 2 * * *',
  sessionMode: 'ephemeral_with_summary',
  delivery: ['webhook'],
  webhookUrl: 'https://backup.example.com/notify'
});
console.log(`Created job: ${job.id}`);

// list the active jobs
const activeJobs = await client.schedule.list({ status: 'active' });
console.log(`Active jobs: ${activeJobs.length}`);

// job status
const status = await client.schedule.getStatus(job.id);
console.log(`Next run: ${status.next_run}`);

// run now
await client.schedule.runNow(job.id, { input: 'Backup database' });

// pause
await client.schedule.pause(job.id);

// history
const history = await client.schedule.getHistory(job.id, { limit: 10 });
history.forEach(run => {
  console.log(`Run ${run.id}: ${run.status} (${run.execution_time_ms}ms)`);
});

// resume, then delete
await client.schedule.resume(job.id);
await client.schedule.delete(job.id);
