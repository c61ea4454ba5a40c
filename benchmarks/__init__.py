"""Benchmarks: measured figures for docs/benchmarks.md, not pass/fail tests.

Each benchmark drives a real server process from separate load-generator processes, so
the figures include the wire, the event loop and the database as production runs them.
"""
