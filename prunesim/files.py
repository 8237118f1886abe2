"""Writing generated files: whole or not at all.

:func:`write_bytes_atomic` replaces one file; :func:`staged_dirs` replaces a set of files and
folders in one or more folders together (the report and its Verilog).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["recover_staged", "staged_dirs", "write_bytes_atomic", "write_text_atomic"]


def write_bytes_atomic(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all: a temporary file in the same folder,
    then a rename. Creates the parent folders; the file gets the usual permissions (``0o666``
    less the umask). Raises ``OSError`` if it cannot be written, leaving no temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """:func:`write_bytes_atomic` of ``text`` encoded as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


# ------------------------------------------------------------------------------------------------
# Folders replaced whole: staged_dirs
# ------------------------------------------------------------------------------------------------

_STAGE = "prunesim-stage-"
_BACKUP = "prunesim-backup-"
_MANIFEST = ".prunesim-swap.json"


@contextlib.contextmanager
def staged_dirs(
    owned: Mapping[str | os.PathLike[str], Collection[str]],
) -> Iterator[dict[Path, Path]]:
    """Replace some entries of one or more folders together, all or none of them.

    ``owned`` maps each target folder to the entries of it that this run replaces: relative paths,
    a file or a whole folder each (``{"reports": ["report.md", "figures", "data"], "build":
    ["verilog/topk.v"]}``). Entering yields, for every key of ``owned``, a fresh empty staging
    folder beside its target (``<parent>/.<name>.prunesim-stage-*``, so in the same file system);
    keys that name the same folder share one staging folder and their entries. The caller writes
    the new version of each owned entry there, under the same relative path; an owned entry left
    out of the staging folder is removed from the target (so stale files do not survive), and
    anything in the staging folder that is not owned is discarded. The target's other entries are
    never touched. Missing target folders (and parents of owned entries) are made, with the usual
    permissions.

    On a clean exit every owned entry is swapped in, entry by entry, with renames: the old one is
    moved into a backup folder beside the target (``.<name>.prunesim-backup-*``, with a manifest
    listing what was there before), then the new one moves in. Once every target is swapped, the
    manifests are deleted (the commit point), then the backup and staging folders. On any
    exception (``BaseException``: an error, ``KeyboardInterrupt``, the CLI's SIGTERM exception)
    raised in the body or during the swap, up to the commit point, every target is rolled back
    from its backup and the staging folders are removed, then the exception propagates: the
    targets are exactly as before (bytes and list of files), with no temporary folder left. An
    exception after the commit point (while removing the backups) leaves the new entries in place.

    What is atomic and what is not:

    * For failures in this process (any exception, including a failed rename and a signal turned
      into an exception) the whole set of targets is all or nothing.
    * Readers are not isolated: during the swap (a few renames per entry, milliseconds) a
      concurrent reader may see some entries new and some old, or an entry briefly missing.
    * A crash (SIGKILL, power loss) during the swap leaves a backup folder with its manifest; the
      next ``staged_dirs`` or :func:`recover_staged` on that target rolls it back to the old
      entries before doing anything else. A crash after the commit point leaves backup or staging
      folders without a manifest: the new entries are in place and those folders are removed by
      the next run. With several targets, the commit point is one manifest deletion per target:
      a crash between two of them (microseconds) leaves one target new and the next one old.
      Nothing is fsync'ed: after a power loss the file system's ordering of renames decides.
    * Leftover folders are recognised by name, so two runs on the same target at the same time
      are not supported (the second one would take the first one's folders for leftovers).
    * Parent folders made to hold a target are removed again on failure, not after a crash.

    Raises ``ValueError`` for an owned entry that is absolute, empty, leaves its folder (``..``)
    or lies inside another owned entry (of the same or another target), and ``OSError`` from the
    file system (after rolling back).
    """
    swaps = _plan(owned)
    for swap in swaps:
        recover_staged(swap.folder)
    made: list[Path] = []
    try:
        for swap in swaps:
            made += _make_dirs(swap.folder.parent)
            swap.stage = Path(
                tempfile.mkdtemp(prefix=f".{swap.folder.name}.{_STAGE}", dir=swap.folder.parent)
            )
        folders = {swap.folder: swap.stage for swap in swaps}
        yield {Path(key): folders[_resolve(key)] for key in owned}
        _swap_all(swaps)
    except BaseException:
        try:
            for swap in swaps:
                if swap.stage is not None:
                    _remove_tree(swap.stage)
        finally:
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    os.rmdir(path)
        raise
    for swap in swaps:
        for path in (swap.backup, swap.stage):
            if path is not None:
                _remove_tree(path)


def recover_staged(folder: str | os.PathLike[str]) -> None:
    """Finish what an interrupted :func:`staged_dirs` on ``folder`` left beside it: a backup
    folder with its manifest (a crash during the swap) is rolled back, so ``folder`` holds the
    old entries again; backup folders without one and staging folders are removed. Does nothing
    when there are none. Raises ``OSError`` if a roll-back fails (the backup is kept)."""
    folder = _resolve(folder)
    parent = folder.parent
    if not folder.name or not parent.is_dir():
        return
    for path in sorted(parent.iterdir()):
        if path.name.startswith(f".{folder.name}.{_BACKUP}"):
            manifest = path / _MANIFEST
            if manifest.is_file():
                record = json.loads(manifest.read_text(encoding="utf-8"))
                _roll_back(folder, path, record["owned"], record["old"], record["made"])
            _remove_tree(path)
        elif path.name.startswith(f".{folder.name}.{_STAGE}"):
            _remove_tree(path)


@dataclass
class _Swap:
    """One target folder of :func:`staged_dirs`: what it owns, where its new and old entries go."""

    folder: Path
    owned: list[str]
    stage: Path | None = None
    backup: Path | None = None
    old: list[str] = field(default_factory=list)
    made: list[str] = field(default_factory=list)


def _resolve(path: str | os.PathLike[str]) -> Path:
    return Path(path).resolve()


def _plan(owned: Mapping[str | os.PathLike[str], Collection[str]]) -> list[_Swap]:
    swaps: dict[Path, _Swap] = {}
    for key, entries in owned.items():
        folder = _resolve(key)
        if not folder.name:
            raise ValueError(f"cannot stage the root folder {folder}")
        swap = swaps.setdefault(folder, _Swap(folder, []))
        if isinstance(entries, (str, bytes)):
            raise TypeError(f"owned entries of {key} must be a collection of paths, not a string")
        for entry in entries:
            path = PurePosixPath(entry)
            if (
                not str(entry)
                or path.is_absolute()
                or ".." in path.parts
                or path == PurePosixPath()
                or path.parts[0] == _MANIFEST
            ):
                raise ValueError(
                    f"owned entry {entry!r} of {key} must be a relative path inside it"
                )
            if str(path) not in swap.owned:
                swap.owned.append(str(path))
    claimed = sorted(
        (swap.folder / entry, f"{swap.folder}: {entry}")
        for swap in swaps.values()
        for entry in swap.owned
    )
    for (path, name), (other, other_name) in itertools.pairwise(claimed):
        if other.is_relative_to(path):
            raise ValueError(f"owned entries overlap: {other_name} lies inside {name}")
    return list(swaps.values())


def _make_dirs(path: Path) -> list[Path]:
    """Make ``path`` and its missing parents; return those made, outermost first."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    made = []
    try:
        for folder in reversed(missing):
            os.mkdir(folder)
            made.append(folder)
    except BaseException:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise
    return made


def _swap_all(swaps: list[_Swap]) -> None:
    started: list[_Swap] = []
    try:
        for swap in swaps:
            started.append(swap)
            _swap_in(swap)
        for swap in swaps:
            assert swap.backup is not None
            os.unlink(swap.backup / _MANIFEST)  # the commit point of this target
    except BaseException:
        for swap in reversed(started):
            if swap.backup is None:
                continue
            try:
                _roll_back(swap.folder, swap.backup, swap.owned, swap.old, swap.made)
            except BaseException:
                # Leave the backup and its manifest for recover_staged.
                with contextlib.suppress(OSError):
                    _write_manifest(swap)
                swap.backup = None
                raise
            _remove_tree(swap.backup)
            swap.backup = None
        raise


def _swap_in(swap: _Swap) -> None:
    assert swap.stage is not None
    folder, stage = swap.folder, swap.stage
    swap.old = [entry for entry in swap.owned if os.path.lexists(folder / entry)]
    needed = {PurePosixPath(".")}  # the folder itself and the parents of the new entries
    for entry in swap.owned:
        if os.path.lexists(stage / entry):
            needed.update(PurePosixPath(entry).parents)
    swap.made = [
        str(d) for d in sorted(needed, key=lambda d: (len(d.parts), d)) if not (folder / d).is_dir()
    ]
    swap.backup = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{_BACKUP}", dir=folder.parent))
    _write_manifest(swap)  # before the first change, so that a crash can be rolled back
    for made in swap.made:
        os.mkdir(folder / made)
    for entry in swap.owned:
        if entry in swap.old:
            (swap.backup / entry).parent.mkdir(parents=True, exist_ok=True)
            os.rename(folder / entry, swap.backup / entry)
        if os.path.lexists(stage / entry):
            os.rename(stage / entry, folder / entry)


def _write_manifest(swap: _Swap) -> None:
    assert swap.backup is not None
    record = {"owned": swap.owned, "old": swap.old, "made": swap.made}
    write_bytes_atomic(swap.backup / _MANIFEST, json.dumps(record, indent=1).encode())


def _roll_back(
    folder: Path, backup: Path, owned: list[str], old: list[str], made: list[str]
) -> None:
    """Put ``folder`` back as the manifest describes it; safe to repeat after a crash in it.

    An owned entry that was there before is either still in place (not yet moved: kept) or in
    the backup (whatever is in its place now is new: replaced by the backup); one that was not
    there before is new wherever it is found."""
    for entry in reversed(owned):
        target = folder / entry
        saved = backup / entry
        if entry in old:
            if os.path.lexists(saved):
                _remove(target)
                os.rename(saved, target)
        else:
            _remove(target)
    for made_dir in reversed(made):
        with contextlib.suppress(OSError):
            os.rmdir(folder / made_dir)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(backup / _MANIFEST)


def _remove(path: Path) -> None:
    """Remove a file, link or folder tree at ``path``, if there is one."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _remove_tree(path: Path) -> None:
    """Remove a staging or backup folder: once more, ignoring errors, if the first try fails.
    An ``OSError`` is dropped (a leftover is removed by the next run); other exceptions (an
    interrupt) propagate once the second try is done."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
