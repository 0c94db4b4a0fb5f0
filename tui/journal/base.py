"""What the journal's modules share: the file names, where the account lives, and the one
error type whose message a person reads (:class:`JournalError`)."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import platformdirs

from tui.safe import safe_text

DB_NAME: Final = "account.db"
LOCK_NAME: Final = "account.lock"
APP_ID: Final = "perpdesk"

ErrorKind = Literal["corrupt", "newer", "unwritable", "in_use", "history"]


def default_data_dir() -> Path:
    """Where the account is kept unless ``--data-dir`` says otherwise."""
    return platformdirs.user_data_path("perpdesk")


class JournalError(Exception):
    """The account could not be opened or saved. ``str(error)`` is for the user.

    ``kind``: ``"corrupt"`` (not a readable perpdesk account; the file is left untouched and
    :func:`set_aside` can make room for a fresh one), ``"newer"`` (written by a newer perpdesk;
    update, or set it aside), ``"unwritable"`` (the folder or disk refuses writes; choose
    another ``--data-dir``), ``"in_use"`` (another perpdesk has this account open),
    ``"history"`` (a saved record or history row cannot be read when the history asks for it:
    the account itself opened and trades on; the file is left as it is).
    """

    def __init__(self, kind: ErrorKind, message: str, path: Path) -> None:
        super().__init__(safe_text(message))  # it quotes paths and what the file holds
        self.kind: ErrorKind = kind
        self.path = path


def _corrupt(path: Path, detail: str) -> JournalError:
    return JournalError(
        "corrupt",
        f"The paper account in {path} cannot be read ({detail}). The file has been left as it "
        f"is. perpdesk can set it aside (renamed to {path.name}.unreadable-<date>, nothing "
        "deleted) and start a fresh account.",
        path,
    )


def _damaged_history(path: Path, detail: str) -> JournalError:
    return JournalError(
        "history",
        f"Part of the history in {path} cannot be read ({detail}). Your account, its positions "
        "and new trades are not affected; the file has been left as it is.",
        path,
    )


def _unwritable(path: Path, exc: BaseException | str) -> JournalError:
    reason = exc if isinstance(exc, str) else _reason(exc)
    return JournalError(
        "unwritable",
        f"perpdesk cannot save the paper account to {path}: {reason}. Free some space or fix the "
        "folder's permissions, or choose another folder with --data-dir.",
        path,
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
