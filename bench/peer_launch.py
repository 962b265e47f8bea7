"""Run toggl-to-sqlite (the closest peer) against the bench simulator instead of Toggl.

    bench/.peer-venv/bin/python bench/peer_launch.py SIM_URL fetch DB --auth AUTH.json --since DATE --days 90

Runs inside the peer's own virtualenv (bench/.peer-venv, made by bench/run.py),
never in togglsync's: only the peer's code and its dependencies are imported.

toggl-to-sqlite 0.9.0 has its Toggl URLs as literal strings in
`toggl_to_sqlite/utils.py` and sends every request through `requests.get`,
i.e. `requests.Session.request`. This launcher wraps that one method so that a
URL starting with https://api.track.toggl.com goes to SIM_URL instead, then
runs the peer's console entry point (`toggl_to_sqlite.cli:cli`) with the
remaining arguments. Nothing else of the peer is changed.

One path is translated as well: the peer lists workspaces with
`GET /api/v9/workspaces`, which our API contract (shared/toggl-api.md) does
not describe and the simulator does not serve (the v9 swagger calls it a
search that needs a term); the simulator's equivalent for a user's
workspaces is `GET /api/v9/me/workspaces`, so that is where it is sent.
"""

from __future__ import annotations

import sys

import requests

TOGGL = "https://api.track.toggl.com"
TRANSLATED = {"/api/v9/workspaces": "/api/v9/me/workspaces"}


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: peer_launch.py SIM_URL toggl-to-sqlite-arguments...")
    base = sys.argv[1].rstrip("/")
    original = requests.Session.request

    def redirected(self: requests.Session, method: str, url: str, *args: object, **kwargs: object) -> requests.Response:
        if isinstance(url, str) and url.startswith(TOGGL):
            path = url[len(TOGGL):]
            path = TRANSLATED.get(path, path)
            url = base + path
        return original(self, method, url, *args, **kwargs)

    requests.Session.request = redirected  # type: ignore[method-assign]

    from toggl_to_sqlite.cli import cli

    sys.argv = ["toggl-to-sqlite", *sys.argv[2:]]
    cli()


if __name__ == "__main__":
    main()
