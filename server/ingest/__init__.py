"""Ingest of edge messages: one ``ingest(session, message)`` for MQTT and HTTP alike."""

from server.ingest.service import IngestOutcome, ingest, register_hook

__all__ = ["IngestOutcome", "ingest", "register_hook"]
