"""Benchmarks: one script per benchmark, run as `python bench/NAME.py` or `python -m bench.NAME` (`--help`
runs nothing); each prints a table and writes bench/results/NAME.json through bench/_results.py."""
