"""togglsync: an offline-first local sync cache for Toggl Track."""

__version__ = "0.1.0"
