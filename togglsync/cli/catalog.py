"""Workspaces, users, clients, projects and tags, offline."""

from __future__ import annotations
