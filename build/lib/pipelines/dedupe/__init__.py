"""Deduplication keys (canonical URLs, fingerprints, near-duplicate signatures) and the pipeline.
"""
