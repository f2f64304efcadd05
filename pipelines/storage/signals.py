"""Signals of the storage pipeline, for components whose own records must follow the written lines.

The backfill keeps each WARC file's progress in the dedupe state (``crawler.backfill.progress``):
progress may only become durable once the lines it covers are, so it is saved when the storage
pipeline reports a commit, and it can ask for one (at the end of a file, or while a long stretch of a
file holds nothing to write).
"""

from __future__ import annotations

state_committed = object()
"""Sent (no arguments) right after the storage pipeline committed the dedupe state: every line written
before is fsynced and recorded as seen."""

commit_requested = object()
"""Send it (no arguments) to have the storage pipeline fsync its open files and commit the state now;
:data:`state_committed` follows."""
