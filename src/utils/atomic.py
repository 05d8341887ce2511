"""Write-then-rename helpers: a crash never leaves a half-written file behind, and what is written gets the
permissions an ordinary write would (tempfile creates 0600 files and 0700 folders)."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def default_mode(directory=False):
    """The mode a plain open()/mkdir() would give under the current umask (0644 / 0755 typically)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds. The file keeps
    the mode of the file it replaces, else the umask's default."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else default_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_folder(path):
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


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)
