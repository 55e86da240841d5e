"""EchoDepth core: settings, API, auth, storage, jobs and the connector registry."""
