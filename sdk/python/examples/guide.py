import os
from symbiont import SymbiontClient

client = SymbiontClient(
    base_url=os.environ.get('SYMBI_BASE_URL', 'http://localhost:8080'),
    api_key=os.environ['SYMBI_API_KEY']
)

# create a scheduled job
job = client.schedule.create(
    name='hourly-metrics',
    agent_id='metrics-agent',
    cron_expr='0 * * * *',
    session_mode='ephemeral_with_summary',
    delivery=['slack', 'log_file'],
    slack_channel='#metrics'
)
print(f"Created job: {job.id}")

# list the jobs of one agent
jobs = client.schedule.list(agent_id='metrics-agent')
print(f"Found {len(jobs)} jobs for metrics-agent")

# job details
details = client.schedule.get(job.id)
print(f"Cron: {details.cron_expr}")
print(f"Next run: {details.next_run}")

# change the cron expression
client.schedule.update(job.id, cron_expr='*/30 * * * *')

# run now
run = client.schedule.run_now(job.id, input='Generate metrics report')
print(f"Run ID: {run.id}")

# pause for maintenance
client.schedule.pause(job.id)
print("Job paused for maintenance")

# recent failures
history = client.schedule.get_history(
    job.id,
    status='failed',
    limit=5
)
for run in history:
    print(f"Failed run {run.id}: {run.error_message}")

# resume after maintenance
client.schedule.resume(job.id)

# scheduler health
health = client.schedule.health()
print(f"Scheduler status: {health.status}")
print(f"Active jobs: {health.active_jobs}")
print(f"In-flight jobs: {health.in_flight_jobs}")
