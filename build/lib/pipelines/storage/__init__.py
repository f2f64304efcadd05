"""Sealed JSON Lines output: the storage pipeline, file naming, sealing and crash recovery.
"""
