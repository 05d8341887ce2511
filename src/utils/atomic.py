"""Write-then-rename helpers: a crash never leaves a half-written file behind, and what is written gets the
permissions an ordinary write would (tempfile creates 0600 files and 0700 folders). A temporary file is named
`.<name>.<pid>.<random><suffix>` beside its target, so one left by a killed process (SIGKILL cannot be caught) is
recognised and removed by the next writer of the same file, and a live writer's is left alone."""

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.utils.errors import UserError

log = logging.getLogger(__name__)


def default_mode(directory=False) -> int:
    """The mode a plain open()/mkdir() would give under the current umask (0644 / 0755 typically)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds. The file keeps
    the mode of the file it replaces, else the umask's default."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else default_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_folder(path) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; it replaces `path` (removed first) only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        yield work
        os.chmod(work, default_mode(directory=True))
        if path.exists():
            shutil.rmtree(path)
        work.rename(path)
    finally:
        if work.exists():
            shutil.rmtree(work)


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the temporary files that writers of `path` left behind when they were killed (their process is gone);
    returns what was removed."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\..+")
    removed = []
    for candidate in path.parent.glob(f".{glob_escape(path.name)}.*") if path.parent.is_dir() else []:
        match = pattern.fullmatch(candidate.name)
        if match and candidate.is_file() and not process_alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    if removed:
        log.info(
            "removed %d temporary file(s) that a killed writer of %s left: %s",
            len(removed),
            path,
            ", ".join(p.name for p in removed),
        )
    return removed


def glob_escape(name) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def process_alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def check_writable_file(path) -> None:
    """Say before any work when `path` cannot be written as a file: it is a folder, or its folder is a file or
    cannot be made or written."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder: name a file to write there")
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise UserError(f"cannot write {path}: {folder} is a file, not a folder")
    if folder is not None and not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path}: {folder} is not writable for this user; write elsewhere")


def write_text(path, text) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
