"""Table / plain rows / JSON / NDJSON / CSV rendering shared by every listing command.

At a terminal a listing is a table (rich, wrapped to the terminal's width, ids
never cut); anywhere else (a pipe, a file, cron) it is plain rows: a header
line, then one line per record, the cells separated by a tab, nothing cut,
wrapped or drawn, and rich is not imported. `--table` forces the table;
`TOGGLSYNC_FORCE_TTY=1` makes togglsync behave as at a terminal (tests,
`watch`, `less -R`).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import sys
from datetime import date, datetime, tzinfo
from typing import AbstractSet, Any, Callable, Iterable, Sequence, TypeVar


FORMATS = ("table", "plain", "json", "nl", "csv")
HUMAN = ("table", "plain")  # what a person reads: the table's columns, not the data columns

F = TypeVar("F", bound=Callable[..., Any])


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    from decimal import Decimal

    if isinstance(value, Decimal):  # PostgreSQL's numeric (round(), sum() of bigints)
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def is_terminal() -> bool:
    """Is standard output a person's terminal? (`TOGGLSYNC_FORCE_TTY=1` says yes, `=0` no.)"""
    forced = os.environ.get("TOGGLSYNC_FORCE_TTY", "")
    if forced:
        return forced not in ("0", "false", "no")
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stdout
        return False


def human_format() -> str:
    """The default format: a table at a terminal, plain rows anywhere else."""
    return "table" if is_terminal() else "plain"


def format_options(*, json_help: str = "Output JSON (an array).") -> Callable[[F], F]:
    """--table / --json / --nl / --csv flags; none given: `human_format()` (the command sees the
    resolved name: table, plain, json, nl or csv)."""

    def decorate(func: F) -> F:
        import click  # here: `status --json` prints with `dumps` and must not import click

        @functools.wraps(func)
        def resolved(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("fmt") is None:
                kwargs["fmt"] = human_format()
            return func(*args, **kwargs)

        wrapped: Any = resolved
        wrapped = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(wrapped)
        wrapped = click.option("--nl", "fmt", flag_value="nl",
                               help="Output newline-delimited JSON: one object per line.")(wrapped)
        wrapped = click.option("--json", "fmt", flag_value="json", help=json_help)(wrapped)
        wrapped = click.option("--table", "fmt", flag_value="table",
                               help="A table even when the output is not a terminal (default: a table at a "
                                    "terminal, tab-separated rows with a header line elsewhere).")(wrapped)
        return wrapped

    return decorate


def output_format_options(func: F) -> F:
    """`format_options()` with the ordinary help texts."""
    return format_options()(func)


def csv_value(value: Any) -> Any:
    """A value for a CSV cell: NULL is empty, a BLOB is hex."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes them, not Python's True/False
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def _csv_cell(value: Any) -> Any:
    """A listing's value in CSV: booleans true/false, numbers as they are, lists joined."""
    if value is None or isinstance(value, (bool, bytes, bytearray, memoryview)):
        return csv_value(value)
    if isinstance(value, (int, float)):
        return value
    return _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def plain_cell(value: Any) -> str:
    """A cell of plain rows: as in the table, on one line, no tab inside."""
    text = value if type(value) is str else _cell(value)
    return text if text.isprintable() else _PLAIN_BREAKS.sub(" ", text)  # isprintable: the quick test


_PLAIN_BREAKS = re.compile(r"[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def write_plain(rows: Iterable[Sequence[Any]], columns: Sequence[str], stream: Any = None) -> None:
    """Plain rows: the header line, then each row, cells joined by a tab."""
    out = stream or sys.stdout
    out.write("\t".join(plain_cell(c) for c in columns) + "\n")
    for row in rows:
        out.write("\t".join(plain_cell(v) for v in row) + "\n")


def is_id_column(name: str) -> bool:
    """`id`, `record_id`, `user_id`...: a table never wraps or cuts these."""
    return name == "id" or name.endswith("_id")


def render_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str | None = None,
    *,
    title: str | None = None,
    fixed: Sequence[str] = (),
    zone: tzinfo | None = None,
) -> None:
    """Print rows as a table, plain rows, JSON, NDJSON or CSV (None: `human_format()`).

    `fixed` names table columns that are never wrapped or cut (times,
    durations; ids always): narrow terminals squeeze the other columns instead.
    `title` is the table's; plain rows have none. `zone`: the display zone, in
    which every time is shown (`2026-11-20 14:05`; JSON: ISO with its offset),
    named under the table.
    """
    fmt = fmt or human_format()
    rows = list(rows)
    if zone is not None:
        rows = [{k: in_zone(v, zone) for k, v in r.items()} for r in rows]
    if fmt == "json":
        import click

        click.echo(dumps([{c: r.get(c) for c in columns} for r in rows]))
    elif fmt == "nl":
        write_ndjson(({c: r.get(c) for c in columns} for r in rows), sys.stdout)
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_csv_cell(r.get(c)) for c in columns])
    elif fmt == "plain":
        write_plain(([r.get(c) for c in columns] for r in rows), columns)
    else:
        caption = None
        if zone is not None and any(isinstance(r.get(c), datetime) for r in rows for c in columns):
            caption = f"Times in {zone_name(zone)}."
        write_table(
            [[_cell(r.get(c)) for c in columns] for r in rows], columns,
            fixed={i for i, c in enumerate(columns) if c in fixed or is_id_column(c)},
            title=title, caption=caption,
        )


# --- the table: drawn here, not by rich (5,000 rows in a few hundredths of a second, not seconds) ---

_WIDE = frozenset({"W", "F"})


def cell_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide characters 2, combining marks 0."""
    if text.isascii():
        return len(text)
    import unicodedata

    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in _WIDE else 1
    return width


def _fold(word: str, width: int) -> list[str]:
    """A word longer than the column, in pieces that fit (never cut short)."""
    pieces, piece, used = [], "", 0
    for char in word:
        w = cell_width(char)
        if used + w > width and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece += char
        used += w
    return [*pieces, piece]


# Where a line may break inside a word: after a hyphen between two other characters, as in
# typesetting (`2026-11-30`, `09:00-10:30`, `deep-work`), never after a leading one (`-5`).
_AFTER_HYPHEN = re.compile(r"(?<=[^\s-]-)(?=[^\s-])")


def wrap_cell(text: str, width: int) -> list[str]:
    """A cell's lines at `width`: words wrapped at spaces (and after a hyphen inside a word), a
    longer word folded, line breaks kept."""
    if "\n" not in text and cell_width(text) <= width:
        return [text]
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used = "", 0
        for word in paragraph.split(" "):
            for n, piece in enumerate(_AFTER_HYPHEN.split(word) if "-" in word else (word,)):
                glue = 0 if n else 1  # a word's next piece follows without a space
                w = cell_width(piece)
                if line and used + glue + w <= width:
                    line, used = line + " " * glue + piece, used + glue + w
                    continue
                if line:
                    lines.append(line)
                if w > width:
                    *full, piece = _fold(piece, width)
                    lines.extend(full)
                    w = cell_width(piece)
                line, used = piece, w
        lines.append(line)
    return lines


def longest_word(text: str) -> int:
    """Cells the longest word of `text` takes (a hyphenated word's longest piece; in Chinese or
    Japanese, written without spaces, a line may break between any two wide characters): a column
    at least this wide wraps it where a line may break, never mid-word."""
    words = text.split()
    if "-" in text:
        words = [piece for word in words for piece in _AFTER_HYPHEN.split(word)]
    if text.isascii():
        return max(map(len, words), default=0)
    return max(map(_unbreakable, words), default=0)


def _unbreakable(word: str) -> int:
    """Cells the longest run of `word` that no line may break takes: wide characters stand alone."""
    longest = run = 0
    for char in word:
        width = cell_width(char)
        if width == 2:
            longest, run = max(longest, run, width), 0
        else:
            run += width
    return max(longest, run)


def _longest_word_of(header: str, cells: Iterable[str]) -> int:
    """The longest word of a column: a cell no wider in all than the longest so far is skipped
    (a character takes at most two cells)."""
    best = longest_word(header)
    for text in cells:
        if len(text) * (1 if text.isascii() else 2) > best:
            best = max(best, longest_word(text))
    return best


def _widths(natural: list[int], minimum: list[int], room: int, roomy: set[int],
            words: list[int] | None = None, fixed: AbstractSet[int] = frozenset()) -> list[int]:
    """Column widths: natural ones when they fit in `room`. Else columns give room in stages,
    words kept whole as long as they can be (`words`: each column's longest word, header
    included): the others down to 10 cells, then the `roomy` ones (a description) down to 24,
    then the others and then the roomy ones down to their longest word, then the `fixed` ones
    (a date, a time span) down to theirs (`minimum`: they never fold); only then does a word
    fold, the others' first, every column down to its minimum. Within a stage the widest gives
    first."""
    widths = list(natural)
    excess = sum(widths) - room
    words = words or minimum
    others = [k for k in range(len(widths)) if k not in roomy and k not in fixed]
    free = sorted(set(roomy) - set(fixed))
    stages = ((others, lambda k: max(words[k], 10)), (free, lambda k: max(words[k], 24)),
              (others, lambda k: words[k]), (free, lambda k: words[k]), (sorted(fixed), lambda k: words[k]))
    for group, floor in stages:
        lows = {k: max(minimum[k], min(natural[k], floor(k))) for k in group}
        while excess > 0:
            i = max(group, key=lambda k: widths[k] - lows[k], default=None)
            if i is None or widths[i] <= lows[i]:
                break  # this stage has nothing left to give
            give = min(excess, widths[i] - lows[i], max(1, (widths[i] - lows[i]) // 2))
            widths[i] -= give
            excess -= give
    for group in (others, free):
        # Words fold now: the widest column gives, down to the next widest, so that as few
        # columns as possible fold (a long word that must fold takes the cut, not its neighbours).
        while excess > 0:
            can = [k for k in group if widths[k] > minimum[k]]
            if not can:
                break
            i = max(can, key=lambda k: widths[k])
            below = max((widths[k] for k in can if k != i and widths[k] < widths[i]), default=minimum[i])
            give = min(excess, widths[i] - minimum[i], max(1, widths[i] - below))
            widths[i] -= give
            excess -= give
    return widths


def write_table(
    rows: Sequence[Sequence[str]], columns: Sequence[str], *, fixed: AbstractSet[int] = frozenset(),
    title: str | None = None, caption: str | None = None, width: int | None = None, stream: Any = None,
    roomy: Sequence[str] = ("description", "what", "error"),
) -> None:
    """A table for a person (rich's look: a heavy line under the header, `│` between columns, no outer
    edge), fitted to `width` (default: the terminal's, or COLUMNS). Cells wrap at spaces (and after
    a hyphen inside a word), and a word folds only when no column can give room for it (`_widths`).
    Columns in `fixed` (ids, dates, times) never fold and keep their width longest: they wrap (a
    date after its hyphens) only when the other columns could not keep their words whole
    otherwise; an id has nowhere to wrap. Squeezed, the `roomy` columns (free text) keep room
    longest of the others."""
    import shutil

    out = stream or sys.stdout
    width = width or shutil.get_terminal_size().columns
    styled = _colours(out)
    count = len(columns)
    def longest_line(text: str) -> int:
        if "\n" in text:
            return max(map(cell_width, text.splitlines() or [""]))
        return len(text) if text.isascii() else cell_width(text)

    natural = [max([cell_width(c)] + [longest_line(r[i]) for r in rows]) for i, c in enumerate(columns)]
    minimum = [natural[i] if i in fixed else min(natural[i], max(4, min(cell_width(c), 8)))
               for i, c in enumerate(columns)]
    room = width - 3 * count + 1
    words = None
    if sum(natural) > room:  # squeezed: keep words whole as long as the room allows
        words = [_longest_word_of(c, (r[i] for r in rows)) for i, c in enumerate(columns)]
        # Fixed columns never fold; they may wrap where a line may break, but an id never does.
        minimum = [words[i] if i in fixed and not is_id_column(c) else m for i, (c, m) in enumerate(zip(columns, minimum))]
    widths = _widths(natural, minimum, room, {i for i, c in enumerate(columns) if c in roomy}, words, fixed)
    total = sum(widths) + 3 * count - 1

    buffer: list[str] = []

    def line(cells: Sequence[str], rule: str, bold: bool = False) -> None:
        wrapped = [wrap_cell(text, widths[i]) for i, text in enumerate(cells)]
        for k in range(max(map(len, wrapped))):
            parts = []
            for i, lines in enumerate(wrapped):
                text = lines[k] if k < len(lines) else ""
                pad = " " * (widths[i] - (len(text) if text.isascii() else cell_width(text)))
                parts.append(f"\x1b[1m{text}\x1b[0m{pad}" if bold and styled and text else text + pad)
            buffer.append((" " + f" {rule} ".join(parts)).rstrip() + "\n")

    def centred(text: str, style: str) -> None:
        for piece in wrap_cell(text, max(total, 1)):
            padded = piece.center(total).rstrip()
            buffer.append(f"{padded[:len(padded) - len(piece)]}\x1b[{style}m{piece}\x1b[0m\n" if styled
                          else padded + "\n")

    if title:
        centred(title, "3")
    line(columns, "┃", bold=True)
    buffer.append("━" + "╇".join("━" * (w + 2) for w in widths)[1:-1] + "━\n")
    for row in rows:
        line(row, "│")
    if caption:
        centred(caption, "2")
    out.write("".join(buffer))


def _colours(stream: Any) -> bool:
    """Bold and dim only for a real terminal that wants them (NO_COLOR, TERM=dumb: none)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def in_zone(value: Any, zone: tzinfo) -> Any:
    """An aware datetime in the display zone; anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone)
    return value


def zone_name(zone: tzinfo) -> str:
    """`Europe/Paris` (an IANA zone's key), else what the zone calls itself."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or zone)


def json_value(value: Any, *, decode: bool = False) -> Any:
    """A database value as JSON can carry it: blobs as hex text, infinities as text.

    `decode`: the column may hold JSON text (`raw`, `tag_ids`...): an object or array is given as
    itself, not as a string of JSON; any other text stays text (the `entries` view's `tags` is
    "a, b", and a tag may be named `42`)."""
    if decode and isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, float) and value in (float("inf"), float("-inf")):  # not JSON (SQLite has no NaN)
        return str(value)
    return value


def write_json_array(objects: Iterable[dict[str, Any]], stream: Any) -> int:
    """Stream `objects` as one JSON array, an object per line, without holding them all. Returns the count."""
    count = 0
    for obj in objects:
        stream.write(("[\n  " if count == 0 else ",\n  ") + json.dumps(obj, ensure_ascii=False, default=_json_default))
        count += 1
    stream.write("[]\n" if count == 0 else "\n]\n")
    return count


def write_ndjson(objects: Iterable[dict[str, Any]], stream: Any) -> int:
    """Newline-delimited JSON: one object per line, streamed. Returns the count."""
    count = 0
    for obj in objects:
        stream.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")
        count += 1
    return count
