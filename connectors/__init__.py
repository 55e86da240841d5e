"""Connector plugins, one folder per vendor, found through the ``echodepth.connectors`` entry point."""
