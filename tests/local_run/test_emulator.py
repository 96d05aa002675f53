"""The embedded AWS's fix-ups of moto server itself (local_run/emulator.py)."""

from __future__ import annotations

import os

from moto import backends

from local_run import emulator


def test_moto_lists_its_service_folders_once_not_on_every_request(monkeypatch):
    """moto's server asks `list_of_moto_modules` on every request, under its dispatch lock."""
    listed = backends.list_of_moto_modules()
    assert {"s3", "glue", "dynamodb", "ssm"} <= set(listed)
    assert listed == tuple(emulator._list_moto_modules())  # what moto itself lists

    def no_listing(path):
        raise AssertionError(f"moto's folder {path} listed again")

    monkeypatch.setattr(os, "listdir", no_listing)
    assert backends.list_of_moto_modules() == listed
