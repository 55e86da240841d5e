"""Benchmarks: ``python -m bench`` (``make bench``) prints text throughput and API submit latency."""
