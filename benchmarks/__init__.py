"""Benchmark scripts (quality, speed); run with ``python -m benchmarks.<name>``."""
