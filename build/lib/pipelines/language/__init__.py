"""Language detection and flags (pure, runs in the process pool), and the non-English policy.
"""
