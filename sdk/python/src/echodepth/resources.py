"""The API's resources, both halves: ``client.analyse``, ``.results``, ``.jobs``, ``.webhooks``, ``.stream``.

Written once in ``_async/resources.py``; the blocking classes are generated from it into ``_sync/``.
"""

from echodepth._async.resources import (
    AsyncAnalyse,
    AsyncJob,
    AsyncJobs,
    AsyncResults,
    AsyncStream,
    AsyncWebhooks,
)
from echodepth._sync.resources import Analyse, Job, Jobs, Results, Stream, Webhooks

__all__ = [
    "Job",
    "AsyncJob",
    "Analyse",
    "AsyncAnalyse",
    "Results",
    "AsyncResults",
    "Jobs",
    "AsyncJobs",
    "Webhooks",
    "AsyncWebhooks",
    "Stream",
    "AsyncStream",
]
