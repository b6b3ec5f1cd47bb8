"""Benchmark runner: `python -m benchmarks` (see benchmarks/README.md)."""
