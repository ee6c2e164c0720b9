"""``python -m bot backup PATH``: a consistent copy of the database, safe while the bot runs.

SQLite's online backup API (``sqlite3.Connection.backup``) copies every page in one step
inside one read transaction: with WAL the bot keeps writing meanwhile, and the copy is the
database as of one moment. The copy is written to a temporary file beside PATH, checked
(``PRAGMA integrity_check``) and renamed over PATH, so PATH never holds half a backup.

The encryption key goes beside it as ``PATH.key`` (mode 0600): without it the users' stored
CoinGlass keys cannot be decrypted. When the key comes from ``PERPWATCH_SECRET_KEY`` it is not
written anywhere; a warning says to keep it with the backup.

With ``BACKUP_DIR`` set, the bot itself makes one backup a day there (checked hourly, so
restarts neither skip nor repeat a day) and keeps the newest ``KEEP``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from telegram.ext import ContextTypes, JobQueue

from core.config import Settings

log = logging.getLogger(__name__)

KEEP = 7
DAY_SECONDS = 86400.0
NAME_FORMAT = "perpwatch-%Y%m%d-%H%M%S.db"


class BackupError(Exception):
    """The backup could not be made; the message is one line."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    users: int
    key_path: Path | None            # the key file written beside it
    warning: str | None              # what the operator must keep themselves
    seconds: float

    def describe(self) -> list[str]:
        """What was written, for the operator (one line each)."""
        lines = [f"Wrote {self.path} ({_size(self.size)}, {self.users} users, integrity ok, "
                 f"{self.seconds:.2f} s)."]
        if self.key_path is not None:
            lines.append(f"Wrote {self.key_path} (the encryption key, mode 0600): keep it with "
                         "the backup; without it the stored CoinGlass keys cannot be read.")
        if self.warning:
            lines.append(f"Warning: {self.warning}")
        return lines


def key_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".key")


def backup(settings: Settings, dest: Path, *, now: float | None = None) -> BackupResult:
    """Copy the database of ``settings`` to ``dest`` (a file, or a folder to put a dated file
    in) with its key file beside it."""
    database = settings.database_path
    if not database.is_file():
        raise BackupError(f"no database at {database} (DATABASE_PATH); nothing to back up")
    if dest.is_dir():
        dest = dest / datetime.fromtimestamp(now or time.time(), timezone.utc).strftime(
            NAME_FORMAT)
    if dest.resolve() == database.resolve():
        raise BackupError(f"{dest} is the database itself; choose another path")
    started = time.monotonic()
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        users = _copy(database, partial)
        os.chmod(partial, 0o600)             # chat ids and encrypted keys: the owner's only
        os.replace(partial, dest)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"could not back up {database} to {dest}: {exc}") from None
    key_path, warning = _copy_key(settings, dest)
    return BackupResult(dest, dest.stat().st_size, users, key_path, warning,
                        time.monotonic() - started)


def _copy(database: Path, target: Path) -> int:
    """The online backup, checked; returns how many users the copy holds."""
    source = sqlite3.connect(database, timeout=30.0)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)              # all pages in one step: one consistent snapshot
            (check,) = copy.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy failed its integrity check: {check}")
            (users,) = copy.execute("SELECT COUNT(*) FROM users").fetchone()
        finally:
            copy.close()
    finally:
        source.close()
    return users


def _copy_key(settings: Settings, dest: Path) -> tuple[Path | None, str | None]:
    if settings.secret_key:
        return None, ("the encryption key comes from PERPWATCH_SECRET_KEY and is not written "
                      "here: keep a copy of it with this backup")
    if not settings.key_file.is_file():
        return None, (f"no key file at {settings.key_file}: stored CoinGlass keys cannot be "
                      "read back from this backup alone")
    target = key_path_for(dest)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, open(settings.key_file, "rb") as key:
        shutil.copyfileobj(key, out)
    os.replace(partial, target)
    return target, None


# --- the daily backup (BACKUP_DIR) ------------------------------------------------------------

def backups_in(folder: Path) -> list[tuple[float, Path]]:
    """The dated backups in ``folder``, oldest first, with the time in their name."""
    found = []
    for path in folder.glob("perpwatch-*.db"):
        try:
            at = datetime.strptime(path.name, NAME_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        found.append((at.timestamp(), path))
    return sorted(found)


def daily_backup(settings: Settings, now: float) -> BackupResult | None:
    """Back up into BACKUP_DIR if the newest backup there is a day old, then keep ``KEEP``."""
    folder = settings.backup_dir
    folder.mkdir(parents=True, exist_ok=True)
    existing = backups_in(folder)
    if existing and now - existing[-1][0] < DAY_SECONDS - 60:
        return None
    result = backup(settings, folder, now=now)
    for _, old in backups_in(folder)[:-KEEP]:
        old.unlink(missing_ok=True)
        key_path_for(old).unlink(missing_ok=True)
    return result


async def _daily(context: ContextTypes.DEFAULT_TYPE) -> None:
    settings: Settings = context.job.data
    try:
        result = await asyncio.to_thread(daily_backup, settings, time.time())
    except (BackupError, OSError) as exc:
        log.error("daily backup failed: %s", exc)
        return
    if result is not None:
        log.info("daily backup: %s", " ".join(result.describe()))


def schedule(job_queue: JobQueue, settings: Settings) -> None:
    job_queue.run_repeating(_daily, interval=3600, first=60, name="backup", data=settings,
                            job_kwargs={"max_instances": 1, "coalesce": True})


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"
