"""Benchmarks: each measures a subject and a ceiling in the same run and reports the ratio."""
