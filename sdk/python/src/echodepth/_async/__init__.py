"""One half of the SDK's I/O code. ``_async/`` is written by hand; ``_sync/`` is generated from it by
``sdk/python/scripts/generate_sync.py`` (``make sdk-sync``), and a test fails when the two drift apart."""
