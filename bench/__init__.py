"""Benchmarks and load tests (see README.md). A package so the scripts share ``bench.load_common`` and mypy names
every module once; the scripts are still run by path: ``python bench/<script>.py``."""
