"""Benchmarks of the local AppSync-compatible server, side by side with the Amplify AppSync simulator.

Run ``make bench`` (``python -m bench``; ``--quick`` for a smoke run). See docs/benchmarks.md.
"""
