"""The media spool: raw media lives here only while its job runs, then it is deleted."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["Spool"]


class Spool:
    """A directory of in-flight media files, one per job, named by job id."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def path_for(self, job_id: str) -> Path:
        """Where the job's media is (or will be) stored."""
        return self.root / job_id

    def temp_for(self, job_id: str) -> Path:
        """Where an upload is written before it is complete."""
        return self.root / f"{job_id}.part"

    def delete(self, job_id: str) -> None:
        """Remove the job's media, complete or partial."""
        self.path_for(job_id).unlink(missing_ok=True)
        self.temp_for(job_id).unlink(missing_ok=True)

    def files(self) -> list[Path]:
        """Every file in the spool (empty when no job is running)."""
        return sorted(p for p in self.root.iterdir() if p.is_file())
