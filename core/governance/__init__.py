"""Data governance: the compliance guard, retention and erasure, the export and the audit log.

Modules (imported directly; this package imports nothing so that ``core.storage`` can use ``policy``):
``policy`` (purposes, regions, the EU AI Act guard, the consent record on each result), ``audit`` (who read
or changed what), ``retention`` (the periodic purge and erase-all), ``export`` (JSON lines of a tenant's
data). HTTPS enforcement is an API concern: ``core.api.https``.
"""
