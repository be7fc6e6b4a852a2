"""Modules of the shmchunk peer benchmark (tools/bench/bench.py is the entry point)."""
