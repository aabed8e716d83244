"""Benchmarks (run as scripts: python bench/solomon.py --help)."""
