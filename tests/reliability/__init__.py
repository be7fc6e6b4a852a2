"""Reliability suite (a package so that its conftest is not the top-level module
`conftest` that other suites import helpers from)."""
