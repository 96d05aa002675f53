"""Tooling that works on a deployed environment (and on the demo's emulated one)."""
