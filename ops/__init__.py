"""Tooling that drives a DEPLOYED environment (the local, emulated run lives in local_run/)."""
