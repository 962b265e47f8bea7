"""The timer and time entries, offline: start, stop, continue, cancel, status, add, edit, rm, log."""

from __future__ import annotations
