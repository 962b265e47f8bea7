"""Settings: command-line option > environment > config file > default.

The config file is JSON in the togglsync home, written with mode 0600 because
it may hold an API token. Secrets never leave this module in readable form
except to build the auth object of the API client.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

from togglsync.errors import ConfigError, MissingCredentials

APP_NAME = "togglsync"
CONFIG_FILENAME = "config.json"
DB_FILENAME = "togglsync.db"

DIRECT_URL = "https://api.track.toggl.com"
MATON_URL = "https://gateway.maton.ai/toggl-track"
MATON_CTRL_URL = "https://ctrl.maton.ai"

TRANSPORTS = ("direct", "maton")
# The account of the top-level credentials (togglsync.accounts): the only one until `accounts add`.
IMPLICIT_ACCOUNT = "main"
SECRET_KEYS = frozenset({"api_token", "maton_api_key"})

# Setting name -> environment variable. The token variables are the ones
# Toggl's and Maton's own docs use, so existing shells just work.
ENV_VARS: dict[str, str] = {
    "transport": "TOGGLSYNC_TRANSPORT",
    "api_token": "TOGGL_API_TOKEN",
    "maton_api_key": "MATON_API_KEY",
    "maton_connection": "MATON_CONNECTION",
    "api_url": "TOGGLSYNC_API_URL",
    "maton_ctrl_url": "TOGGLSYNC_MATON_CTRL_URL",
    "db": "TOGGLSYNC_DB",
    "pacing": "TOGGLSYNC_PACING",
    "timezone": "TOGGLSYNC_TZ",
    "account": "TOGGLSYNC_ACCOUNT",
    "sync_history": "TOGGLSYNC_SYNC_HISTORY",
    "all_users": "TOGGLSYNC_ALL_USERS",
    "all_users_days": "TOGGLSYNC_ALL_USERS_DAYS",
    "all_users_every": "TOGGLSYNC_ALL_USERS_EVERY",
}
# The config file's other key: the accounts added with `togglsync accounts add`, by name:
# {"transport": "direct" | "maton", "api_token" | "maton_api_key", "maton_connection",
#  "all_users": "on" | "off"}.
ACCOUNTS_KEY = "accounts"
# What the repr of Settings leaves out: the secrets, and what holds other accounts' secrets.
_NOT_SHOWN = SECRET_KEYS | {ACCOUNTS_KEY, "sources"}
ACCOUNT_KEYS = frozenset({"transport", "api_token", "maton_api_key", "maton_connection", "all_users"})
# Workspace-wide accounts (all_users): the days of every member's entries re-read, and the
# minutes between two reads (`sync.window`; history_plan.WINDOW_DAYS / WINDOW_EVERY_MINUTES).
ALL_USERS_DAYS = 14
ALL_USERS_EVERY = 60


def home_dir() -> Path:
    """$TOGGLSYNC_HOME, else the platform's per-user data directory."""
    env = os.environ.get("TOGGLSYNC_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only here: it imports tempfile, shutil, random... (a command's start-up)

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_path(home: Path | None = None) -> Path:
    return (home or home_dir()) / CONFIG_FILENAME


class Settings(NamedTuple):
    """Every setting, immutable (`_replace` makes a changed copy). A NamedTuple rather than a
    dataclass: `status`, `start` and `stop` read it, and making a dataclass at import costs them
    several milliseconds of their 0.1 s. Its repr shows no secret (`__repr__`)."""

    home: Path
    transport: str = "direct"
    api_token: str | None = None
    maton_api_key: str | None = None
    maton_connection: str | None = None
    api_url: str | None = None  # root of the chosen transport; None = its default
    maton_ctrl_url: str = MATON_CTRL_URL
    db: str | None = None  # SQLAlchemy URL or file path; None = <home>/togglsync.db
    pacing: float = 1.0  # minimum seconds between requests (Toggl asks ~1/s)
    timezone: str | None = None  # display zone; None = the account's Toggl time zone
    # The account offline edits go to, and (from --account or the environment) the one a sync syncs.
    account: str | None = None
    # A scheduled sync (`sync --log`) spends the quota it leaves on unfinished history.
    sync_history: bool = True
    # This account keeps every member's entries of the workspaces it is an admin of: its sync
    # re-reads the last `all_users_days` days through the Reports API, every `all_users_every`
    # minutes at most (main: this setting; an added account: its entry's "all_users").
    all_users: bool = False
    all_users_days: int = ALL_USERS_DAYS
    all_users_every: int = ALL_USERS_EVERY
    # Accounts added with `togglsync accounts add`: name -> transport and secrets (config file only).
    accounts: Mapping[str, Mapping[str, str]] = MappingProxyType({})
    # Whose transport and credentials these are (`for_account`): its quota state is recorded under it.
    credentials_of: str = IMPLICIT_ACCOUNT
    # Where each value came from ("option", "env", "file", "default"), for `config show`.
    sources: Mapping[str, str] = MappingProxyType({})

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields if name not in _NOT_SHOWN)
        return f"Settings({shown})"

    @property
    def config_file(self) -> Path:
        return config_path(self.home)

    @property
    def db_target(self) -> str:
        return self.db or str(self.home / DB_FILENAME)

    @property
    def root_url(self) -> str:
        if self.api_url:
            return self.api_url
        return MATON_URL if self.transport == "maton" else DIRECT_URL

    def credential(self) -> str:
        """The secret for the chosen transport, or MissingCredentials (exit 5) saying how to set one."""
        if self.transport == "maton":
            if not self.maton_api_key:
                raise MissingCredentials(
                    "no Maton API key: set MATON_API_KEY or run `togglsync login --maton`"
                )
            return self.maton_api_key
        if not self.api_token:
            raise MissingCredentials(
                "no Toggl API token: set TOGGL_API_TOKEN or run `togglsync login`"
            )
        return self.api_token

    def chosen_account(self) -> str:
        """The account --account (or TOGGLSYNC_ACCOUNT) names, else main; the config file's
        `account` only chooses where offline edits go."""
        if self.account and self.sources.get("account") in ("option", "env"):
            return self.account
        return IMPLICIT_ACCOUNT

    def account_filter(self) -> str | None:
        """The account --account (or TOGGLSYNC_ACCOUNT) names, for listings that show every
        account's entries unless told (`log`, `report`); None when not given."""
        return self.account if self.account and self.sources.get("account") in ("option", "env") else None

    def account_names(self) -> list[str]:
        """The accounts `sync` syncs: main (the top-level credentials) when it has any, then
        those added, by name."""
        top = [IMPLICIT_ACCOUNT] if (self.api_token or self.maton_api_key) else []
        return top + sorted(self.accounts)

    def for_account(self, name: str) -> Settings:
        """These settings with the transport and credentials of account `name` (main: as they are)."""
        if name == IMPLICIT_ACCOUNT:
            return self._replace(account=name, credentials_of=name)
        found = self.accounts.get(name)
        if found is None:
            raise ConfigError(f"no account {name!r}: add it with `togglsync accounts add {name}` "
                              "(see `togglsync accounts list`)")
        transport = found.get("transport", "maton" if found.get("maton_api_key") else "direct")
        return self._replace(account=name, credentials_of=name, transport=transport, api_token=found.get("api_token"),
                       maton_api_key=found.get("maton_api_key"), maton_connection=found.get("maton_connection"),
                       all_users=parse_switch(found.get("all_users", "off"), f"all_users of account {name!r}"))

    def secrets(self) -> set[str]:
        """Every credential these settings hold (every account's): what output never shows."""
        found = {self.api_token, self.maton_api_key}
        found |= {a.get(key) for a in self.accounts.values() for key in SECRET_KEYS}
        return {s for s in found if s}

    def redacted(self) -> dict[str, Any]:
        """Every setting with its source; secrets shown only as set/unset."""
        out: dict[str, Any] = {}
        for name in self._fields:
            if name in ("sources", ACCOUNTS_KEY, "credentials_of"):
                continue
            value = getattr(self, name)
            if name in SECRET_KEYS:
                value = "********" if value else None
            elif isinstance(value, Path):
                value = str(value)
            elif name == "db" and value:
                value = without_password(value)
            out[name] = {"value": value, "source": self.sources.get(name, "default")}
        out["api_url"]["effective"] = self.root_url
        out["db"]["effective"] = without_password(self.db_target)
        return out


def without_password(target: str) -> str:
    """A database URL with its password shown as `***` (a file path as it is)."""
    if "://" not in target:
        return target
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(target).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(a database URL togglsync cannot read)"


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text: fix or delete it") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid JSON (line {exc.lineno}): fix or delete it"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    unknown = set(data) - set(ENV_VARS) - {ACCOUNTS_KEY}
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(sorted(unknown))}")
    added = data.get(ACCOUNTS_KEY, {})
    if not isinstance(added, dict) or not all(
            isinstance(a, dict) and set(a) <= ACCOUNT_KEYS and all(isinstance(v, str) for v in a.values())
            for a in added.values()):
        raise ConfigError(f"config file {path}: {ACCOUNTS_KEY!r} must map names to their transport and credentials "
                          "(use `togglsync accounts add`)")
    nested = {key for a in added.values() for key in a}
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and SECRET_KEYS & (set(data) | nested):
        print(
            f"togglsync: warning: {path} holds a secret and is readable by others; "
            f"run: chmod 600 {path}",
            file=sys.stderr,
        )
    return data


def write_config_file(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically, 0600 from the first byte (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(data), fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def update_config_file(path: Path, changes: Mapping[str, Any]) -> None:
    """Merge `changes` into the file; a value of None removes the key."""
    data = read_config_file(path)
    for key, value in changes.items():
        if key not in ENV_VARS and key != ACCOUNTS_KEY:
            raise ConfigError(f"unknown setting {key!r}")
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    write_config_file(path, data)


def load_settings(options: Mapping[str, Any] | None = None, *, home: Path | None = None) -> Settings:
    """Resolve every setting by precedence. `options` are command-line values (None = not given)."""
    options = {k: v for k, v in (options or {}).items() if v is not None}
    sources: dict[str, str] = {}
    if "home" in options:
        home = Path(options.pop("home"))
    if home is not None:
        sources["home"] = "option"
    else:
        home = home_dir()
        sources["home"] = "env" if os.environ.get("TOGGLSYNC_HOME") else "default"
    file_values = read_config_file(config_path(home))

    values: dict[str, Any] = {}
    for name, env_var in ENV_VARS.items():
        env_value = os.environ.get(env_var) or None
        for source, value in (("option", options.get(name)), ("env", env_value), ("file", file_values.get(name))):
            if value is not None:
                values[name] = value
                sources[name] = source
                break

    if "transport" not in values:
        # No explicit choice: a Maton key alone means the gateway.
        if not values.get("api_token") and values.get("maton_api_key"):
            values["transport"] = "maton"
            sources["transport"] = "inferred"
    transport = values.get("transport", "direct")
    if transport not in TRANSPORTS:
        raise ConfigError(f"unknown transport {transport!r}: use one of {', '.join(TRANSPORTS)}")
    if "pacing" in values:
        try:
            values["pacing"] = float(values["pacing"])
        except (TypeError, ValueError):
            raise ConfigError(f"pacing must be a number of seconds, not {values['pacing']!r}") from None
        if values["pacing"] < 0:
            raise ConfigError("pacing must not be negative")
    for switch in ("sync_history", "all_users"):
        if switch in values:
            values[switch] = parse_switch(values[switch], switch)
    for name, least in (("all_users_days", 1), ("all_users_every", 0)):
        if name in values:
            values[name] = parse_count(values[name], name, least)
    for url_key in ("api_url", "maton_ctrl_url"):
        if url_key in values:
            values[url_key] = str(values[url_key]).rstrip("/")
    return Settings(home=home, sources=sources, accounts=file_values.get(ACCOUNTS_KEY, {}), **values)


def parse_switch(value: Any, name: str) -> bool:
    """on/off, true/false, yes/no, 1/0 (a config file may hold a JSON boolean)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name} must be on or off, not {value!r}")


def parse_count(value: Any, name: str, least: int) -> int:
    """A whole number of at least `least` (days, minutes)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < least:
        raise ConfigError(f"{name} must be at least {least}, not {number}")
    return number


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    sources = dict(settings.sources)
    sources.update({k: "option" for k, v in changes.items() if v is not None})
    return settings._replace(sources=sources, **{k: v for k, v in changes.items() if v is not None})
