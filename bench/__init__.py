"""Benchmarks, run on demand (`python -m bench.<name>`); never part of the test run."""
