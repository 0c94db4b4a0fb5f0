"""One perpdesk per account: an OS lock on ``account.lock`` (which names the process) and a
``flock`` on ``account.db`` itself, so deleting the lock file cannot let a second one in. Files
the journal creates are owner-only (0600, the data folder 0700)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Final

from tui.journal.base import DB_NAME, LOCK_NAME, JournalError, _unwritable

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


PRIVATE_FILE: Final = 0o600
"""The account database, its lock and exports: readable by their owner only (as the config)."""
PRIVATE_FOLDER: Final = 0o700
"""The data folder perpdesk creates (an existing folder, perhaps chosen with --data-dir, keeps
its permissions)."""


def _open_private(path: Path, *, create: bool = True) -> int:
    """Open (or create, owner-only) ``path`` read-write."""
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | (os.O_CREAT if create else 0)
    return os.open(path, flags, PRIVATE_FILE)


def _narrow(fd: int) -> None:
    """A file of ours that others could read (made by an earlier perpdesk): owner-only now."""
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)


def _in_use(folder: Path, holder: str = "") -> JournalError:
    return JournalError(
        "in_use",
        f"Another perpdesk{holder} has the paper account in {folder} open. "
        "Quit it first, or use --data-dir for a separate account.",
        folder / DB_NAME,
    )


class _Lock:
    """One perpdesk per account: an OS lock on ``account.lock``, released even by ``kill -9``,
    and (:meth:`lock_database`) one on ``account.db`` itself, so deleting ``account.lock``
    while perpdesk runs cannot let a second one write the same account.

    The database lock is ``flock``, which on Linux and the BSDs is separate from the POSIX
    record locks SQLite takes on the same file. On Windows the lock file alone is used: a file
    held open there cannot be deleted, and a byte-range lock on the database would block
    SQLite's own reads.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None
        self.db_fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = _open_private(self.path)
        except OSError as exc:
            raise _unwritable(self.path.parent, exc) from exc
        _narrow(fd)
        try:
            _try_lock(fd)
        except OSError as exc:
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = f" (process {int(os.read(fd, 32).decode().strip())})"
            os.close(fd)
            raise _in_use(self.path.parent, holder) from exc
        self._fd = fd
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())

    def lock_database(self, path: Path, *, create: bool = True) -> None:
        """Hold an exclusive lock on the database file itself (created owner-only if absent
        and ``create``); ``JournalError("in_use")`` if another process holds it."""
        if sys.platform == "win32":  # pragma: no cover - see the class doc
            return
        try:
            fd = _open_private(path, create=create)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _unwritable(path, exc) from exc
        try:
            _try_lock(fd)
        except OSError as exc:
            os.close(fd)
            raise _in_use(path.parent) from exc
        self.db_fd = fd

    def release(self) -> None:
        for fd in (self.db_fd, self._fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    _unlock(fd)
                os.close(fd)
        self.db_fd = self._fd = None


def _file_id(path: Path, fd: int | None) -> tuple[int, int]:
    """(device, inode) of the open file ``fd``, else of ``path``."""
    info = os.fstat(fd) if fd is not None else os.stat(path)
    return info.st_dev, info.st_ino
