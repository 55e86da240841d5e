"""Prometheus metrics exposed at GET /metrics."""

from prometheus_client import Counter, Histogram

__all__ = ["REQUESTS", "JOBS_SUBMITTED", "JOBS_FINISHED", "JOBS_REQUEUED", "JOB_SECONDS"]

REQUESTS = Counter("echodepth_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
JOBS_SUBMITTED = Counter("echodepth_jobs_submitted_total", "Analysis jobs accepted", ["modality"])
JOBS_FINISHED = Counter("echodepth_jobs_finished_total", "Analysis jobs that ended", ["modality", "status"])
JOBS_REQUEUED = Counter("echodepth_jobs_requeued_total", "Messages re-sent by the sweep")
JOB_SECONDS = Histogram(
    "echodepth_job_seconds",
    "Time from claim to stored result",
    ["modality"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
