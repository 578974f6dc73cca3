"""Benchmarks: each measures the toolkit and its baseline in the same run and prints the ratio."""
