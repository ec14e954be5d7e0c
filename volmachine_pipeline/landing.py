"""Landed quote files: snapshot keys, duplicate detection by content hash, the archive.

A file dropped in ``$VOLMACHINE_HOME/landing/`` becomes one dynamic partition of the intraday
assets. Its key is ``<slug of the file name>-<first 12 hex of its sha256>``, so the same bytes
landing twice (under any name) are recognised and not counted twice. Before its run is requested
the file moves to ``$VOLMACHINE_HOME/archive/<key>/`` with an ``ingest.json`` sidecar holding the
ingest options (underlying, root, multiplier, source); a file that cannot be read at all moves to
``landing/rejected/`` with a ``.error.txt`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from volmachine_pipeline.warehouse import atomic_write_bytes

QUOTE_SUFFIXES = (".csv", ".zip", ".gz", ".parquet")
SIDECAR = "ingest.json"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot_key(path: Path, sha256: str) -> str:
    stem = path.name
    for suf in (".gz", ".zip", ".csv", ".parquet"):
        if stem.lower().endswith(suf):
            stem = stem[: -len(suf)]
    slug = re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_")[:60] or "file"
    return f"{slug}-{sha256[:12]}"


def duplicate_of(sha256: str, existing_keys: list[str]) -> str | None:
    """The existing snapshot key carrying the same content hash, if any."""
    suffix = f"-{sha256[:12]}"
    return next((k for k in existing_keys if k.endswith(suffix)), None)


def landed_files(landing: Path) -> list[Path]:
    """Quote files waiting in the landing folder (oldest first; partial uploads ``.part``/``.tmp`` skipped)."""
    if not landing.exists():
        return []
    files = [p for p in landing.iterdir() if p.is_file() and p.name.lower().endswith(QUOTE_SUFFIXES)
             and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


@dataclass(frozen=True)
class ArchivedFile:
    key: str
    path: Path
    options: dict


def archive(home: Path, key: str, src: Path, options: dict, move: bool) -> ArchivedFile:
    """Put ``src`` into ``archive/<key>/`` (move or copy) with its ingest options sidecar."""
    d = home / "archive" / key
    d.mkdir(parents=True, exist_ok=True)
    dest = d / src.name
    if move:
        shutil.move(str(src), dest)
    elif src.resolve() != dest.resolve():
        shutil.copy2(src, dest)
    atomic_write_bytes(d / SIDECAR, lambda tmp: Path(tmp).write_text(json.dumps(options, sort_keys=True)))
    return ArchivedFile(key, dest, options)


def archived(home: Path, key: str) -> ArchivedFile:
    """The archived file behind a snapshot key (raises FileNotFoundError naming the key)."""
    d = home / "archive" / key
    files = [p for p in d.iterdir() if p.is_file() and p.name != SIDECAR] if d.exists() else []
    if len(files) != 1:
        raise FileNotFoundError(f"snapshot {key}: expected one archived file in {d}, found {len(files)}")
    side = d / SIDECAR
    options = json.loads(side.read_text()) if side.exists() else {}
    return ArchivedFile(key, files[0], options)


def reject(landing: Path, src: Path, message: str) -> Path:
    """Move an unreadable landed file to ``landing/rejected/`` with the error beside it."""
    d = landing / "rejected"
    d.mkdir(parents=True, exist_ok=True)
    dest = d / src.name
    shutil.move(str(src), dest)
    (d / f"{src.name}.error.txt").write_text(message + "\n")
    return dest


def default_options(path: Path, underlying: str | None = None, root: str | None = None,
                    multiplier: float | None = None) -> dict:
    """Ingest options for a file: files written by ``volmachine simulate`` (``sim-*``) are marked source=sim."""
    return {"underlying": underlying, "root": root, "multiplier": multiplier,
            "source": "sim" if path.name.startswith("sim-") else None}
