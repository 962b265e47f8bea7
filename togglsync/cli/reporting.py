"""Reading the database: sql, db path, report."""

from __future__ import annotations
