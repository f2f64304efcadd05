"""The dedupe state: the ``DedupeStore`` interface, SQLite and Redis backends, Redis key layout.
"""
