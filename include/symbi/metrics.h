/* metrics.h - process-wide Prometheus metrics (SPEC §12): labelled
 * counters, gauges and histograms, updated from any thread and rendered in
 * the Prometheus text exposition format. */
#ifndef SYMBI_METRICS_H
#define SYMBI_METRICS_H

#include "symbi/core.h"

/* Counters: runs_total{job_name,status}, dead_letter_total{job_name},
 * deliveries_total{channel,result}. Labels are copied. */
void symbi_metrics_run_finished(const char *job_name, const char *status, double seconds);
void symbi_metrics_dead_lettered(const char *job_name);
void symbi_metrics_delivery(const char *channel, bool ok);
/* model_tokens_total{job_name,kind}: kind "prompt" or "completion" */
void symbi_metrics_model_tokens(const char *job_name, const char *kind, int64_t n);
/* schedule lag: start - scheduled, minus jitter, in seconds */
void symbi_metrics_schedule_lag(double seconds);
/* Gauges. */
void symbi_metrics_set_in_flight(int64_t n);
void symbi_metrics_set_jobs(const int64_t counts[5]); /* by enum symbi_job_status */

/* Appends every series to b. */
int symbi_metrics_render(struct symbi_buf *b);
/* Forgets everything (tests). */
void symbi_metrics_reset(void);

#endif
