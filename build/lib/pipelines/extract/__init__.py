"""Extraction: page bytes and URL in, article fields out (pure, runs in the process pool).
"""
