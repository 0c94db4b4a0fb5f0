"""Where drills come from: those shipped in the package (``tui/drills/data/*.toml``) and the
trader's own, in a ``drills`` folder next to the settings file.

:func:`load_drills` reads them all and never raises: a file that cannot be used is skipped
with one line in :attr:`Catalogue.problems` naming the file and the field (control characters
escaped), and the rest load.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tui.drills.model import NAME, Drill, DrillError, parse_drill
from tui.drills.runner import check_drill
from tui.safe import safe_text

__all__ = ["MAX_FILE_BYTES", "Catalogue", "load_drills", "user_drills_dir"]

MAX_FILE_BYTES = 64 * 1024
"""A drill file larger than this is not read (a drill is a page of TOML)."""
MAX_USER_DRILLS = 200


@dataclass(frozen=True)
class Catalogue:
    """The drills that loaded, in picker order (shipped first), and why others did not."""

    drills: dict[str, Drill] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def names(self) -> str:
        return ", ".join(self.drills) or "none"


def user_drills_dir(config_path: Path) -> Path:
    """The trader's drills: ``drills`` beside the settings file."""
    return config_path.parent / "drills"


def _parse(text: bytes, name: str, origin: str) -> Drill:
    if len(text) > MAX_FILE_BYTES:
        raise DrillError("", f"is larger than {MAX_FILE_BYTES // 1024} KB; a drill is a page")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise DrillError("", "is not UTF-8 text") from None
    try:
        data = tomllib.loads(decoded)
    except tomllib.TOMLDecodeError as exc:
        raise DrillError("", f"is not valid TOML ({exc})") from None
    except RecursionError:
        raise DrillError("", "is nested too deeply") from None
    drill = parse_drill(data, name, origin)
    check_drill(drill)
    return drill


def _load_one(text: bytes, name: str, origin: str, shown: str, problems: list[str]) -> Drill | None:
    try:
        return _parse(text, name, origin)
    except (DrillError, ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        problems.append(f"{safe_text(shown)}: {safe_text(exc)}; skipped.")
        return None


def _shipped(problems: list[str]) -> list[Drill]:
    folder = resources.files("tui.drills").joinpath("data")
    found: list[Drill] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        name = entry.name.removesuffix(".toml")
        drill = _load_one(entry.read_bytes(), name, "shipped", f"shipped drill {name}", problems)
        if drill is not None:
            found.append(drill)
    return sorted(found, key=lambda d: (d.order, d.name))


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _users(folder: Path, taken: set[str], problems: list[str]) -> list[Drill]:
    try:
        entries = sorted(p for p in folder.iterdir() if p.suffix == ".toml")
    except FileNotFoundError:
        return []
    except OSError as exc:
        problems.append(f"{safe_text(folder)}: cannot be read ({safe_text(exc.strerror)}).")
        return []
    found: list[Drill] = []
    for path in entries[:MAX_USER_DRILLS]:
        name = path.stem
        if not NAME.fullmatch(name):
            problems.append(
                f"{safe_text(path)}: the file name must be lower-case letters, digits and dashes "
                "(it is the drill's name); skipped."
            )
            continue
        if name in taken:
            problems.append(
                f"{safe_text(path)}: a drill named {name} already exists; rename the file; skipped."
            )
            continue
        try:
            text = _read_bytes(path)
        except OSError as exc:
            problems.append(f"{safe_text(path)}: cannot be read ({safe_text(exc.strerror)}).")
            continue
        drill = _load_one(text, name, str(path), str(path), problems)
        if drill is not None:
            taken.add(name)
            found.append(drill)
    if len(entries) > MAX_USER_DRILLS:
        problems.append(
            f"{safe_text(folder)}: only the first {MAX_USER_DRILLS} drill files are read."
        )
    return found


def load_drills(user_dir: Path | None = None) -> Catalogue:
    """The shipped drills, then the trader's from ``user_dir`` (if it exists), by name."""
    problems: list[str] = []
    drills = _shipped(problems)
    if user_dir is not None:
        drills += _users(user_dir, {d.name for d in drills}, problems)
    return Catalogue({d.name: d for d in drills}, tuple(problems))
