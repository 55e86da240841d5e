"""The media spool: raw media lives here only while its job runs, then it is deleted."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from core.sdk.errors import InputError

__all__ = ["Spool", "SpoolFull", "is_disk_full"]

_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> bool:
    """True for the OSErrors of a full disk, an exhausted quota or a file-size limit."""
    return isinstance(exc, OSError) and exc.errno in _FULL


class SpoolFull(InputError):
    """``507 spool_full``: the media spool has no room for this input (a job that meets it fails with the
    same code; nothing partial is kept)."""

    def __init__(self) -> None:
        super().__init__("spool_full", "the media spool is full; try again later", 507)


class Spool:
    """One directory per in-flight job (named by job id), holding its media files by index."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def job_dir(self, job_id: str) -> Path:
        """The job's directory (created on demand)."""
        path = self.root / job_id
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def path_for(self, job_id: str, index: int = 0) -> Path:
        """Where the job's media item ``index`` is (or will be) stored."""
        return self.job_dir(job_id) / str(index)

    def delete(self, job_id: str) -> None:
        """Remove every file of the job, complete or partial."""
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def jobs(self) -> list[str]:
        """Job ids that have something in the spool."""
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def files(self) -> list[Path]:
        """Every file in the spool (empty when no job is running)."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())

    def last_modified(self, job_id: str) -> float | None:
        """The newest modification time inside the job's directory; None once it is gone."""
        try:
            paths = [self.root / job_id, *(self.root / job_id).iterdir()]
            return max(p.stat().st_mtime for p in paths)
        except FileNotFoundError:
            return None
