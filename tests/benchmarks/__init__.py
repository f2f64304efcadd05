"""Benchmark scripts (quality, speed); run with ``python -m tests.benchmarks.<name>``."""
