"""The tracker's settings with evidence stored on a full disk (tests/drills/test_api_server_errors.py)."""

from tracker.settings import *  # noqa: F403
from tracker.settings import STORAGES

STORAGES = {**STORAGES, "default": {"BACKEND": "tests.drills.full_disk.FullDiskStorage"}}
