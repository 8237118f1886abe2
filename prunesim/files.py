"""Writing generated files: whole or not at all.

:func:`write_bytes_atomic` replaces one file; :func:`staged_dirs` replaces a set of files and
folders in one or more folders together (the report and its Verilog).

For tests only: when the environment variable ``PRUNESIM_TEST_PAUSE_BEFORE_RENAME`` holds a number
of seconds, :func:`write_bytes_atomic` sleeps that long between writing its temporary file and
renaming it, so that a test can interrupt it there.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "PAUSE_BEFORE_RENAME",
    "recover_staged",
    "staged_dirs",
    "write_bytes_atomic",
    "write_text_atomic",
]

#: The test-only environment variable: seconds to sleep just before the rename.
PAUSE_BEFORE_RENAME = "PRUNESIM_TEST_PAUSE_BEFORE_RENAME"


def write_bytes_atomic(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all: a temporary file in the same folder,
    then a rename. Creates the parent folders; the file gets the usual permissions (``0o666``
    less the umask). Raises ``OSError`` if it cannot be written, leaving no temporary file; an
    exception raised while it writes (such as :class:`KeyboardInterrupt` on SIGINT, or
    :class:`prunesim.cli.Terminated` on SIGTERM under ``prunesim``) removes the temporary
    file too, and leaves ``path`` as it was or, if the rename was done, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600
        pause = os.environ.get(PAUSE_BEFORE_RENAME)
        if pause:
            time.sleep(float(pause))
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


@contextlib.contextmanager
def staged_dirs(
    owned: Mapping[str | os.PathLike[str], Collection[str]],
) -> Iterator[dict[Path, Path]]:
    """Replace some entries of one or more folders together, all or none of them.

    ``owned`` maps each target folder to the entries of it that this run replaces: relative paths,
    a file or a whole folder each (``{"reports": ["report.md", "figures", "data"], "build":
    ["verilog/topk.v"]}``). Entering first rolls back what a crashed run left
    (:func:`recover_staged`), then yields, for every key of ``owned``, a fresh empty staging
    folder beside its target (``<parent>/.<name>.prunesim-stage-*``, so in the same file system);
    keys that name the same folder share one staging folder and their entries. The caller writes
    the new version of each owned entry there, under the same relative path. An owned entry left
    out of the staging folder is removed from the target (so stale files do not survive);
    anything in the staging folder that is not owned is discarded; the target's other entries are
    never touched. Missing target folders (and parents of new entries) are made, with the usual
    permissions.

    On a clean exit every owned entry is swapped in with renames: the old one moves into a backup
    folder beside its target (``.<name>.prunesim-backup-*``), then the new one moves in. Before
    the first rename, one manifest (in the first target's backup folder; the others point to it)
    records what every target held; deleting it once all targets are swapped is the commit
    point; then the backup and staging folders are removed.

    On any exception (``BaseException``: an error, a failed rename, ``KeyboardInterrupt``, the
    CLI's SIGTERM exception) raised in the body or before the commit point, every target is
    rolled back from its backup and the staging folders are removed, then the exception
    propagates: the targets are exactly as before (bytes and list of files), with no temporary
    folder left. An exception after the commit point (while removing the backups) leaves the new
    entries in place; an ``OSError`` there is dropped (the next run removes what is left).

    What is atomic and what is not:

    * Failures in this process (any exception) and crashes (SIGKILL, a machine that stops) at
      any moment: all targets together are all old or all new. A crash during the swap leaves
      some entries old, some new, and the backup folders with the manifest; the next
      ``staged_dirs`` or :func:`recover_staged` on any of the targets rolls all of them back
      before doing anything else (rolling back is safe to repeat if it is itself interrupted). A
      crash after the commit point leaves backup or staging folders without a manifest: the new
      entries are in place and the next run removes those folders.
    * Readers are not isolated: during the swap (two renames per entry, milliseconds) a
      concurrent reader may see some entries new and some old, or an entry briefly missing.
    * Nothing is fsync'ed: after a power loss the file system's ordering of writes and renames
      decides what survives.
    * Leftover folders are recognised by name, so two runs on the same target at the same time
      are not supported (each would take the other's folders for leftovers).
    * Parent folders made to hold a target are removed again on failure, not after a crash.

    Raises ``ValueError`` for an owned entry that is absolute, empty, leaves its folder (``..``)
    or lies inside another owned entry (of the same or another target), or a target whose
    folder lies inside an owned entry; ``OSError`` from the file system (after rolling back).
    """
    swaps, keys = _plan(owned)
    for swap in swaps:
        recover_staged(swap.folder)
    made: list[Path] = []
    try:
        for swap in swaps:
            made += _make_dirs(swap.folder.parent)
            prefix = f".{swap.folder.name}.{_STAGE}"
            swap.stage = Path(tempfile.mkdtemp(prefix=prefix, dir=swap.folder.parent))
        stages = {swap.folder: swap.stage for swap in swaps}
        yield {key: stages[folder] for key, folder in keys.items()}
        _swap_all(swaps)
    except BaseException:
        try:
            _remove_trees([swap.stage for swap in swaps])
        finally:
            for path in reversed(made):
                with contextlib.suppress(OSError):
                    os.rmdir(path)
        raise
    _remove_trees([swap.backup for swap in swaps] + [swap.stage for swap in swaps])


def recover_staged(folder: str | os.PathLike[str]) -> None:
    """Finish what an interrupted :func:`staged_dirs` on ``folder`` left beside it.

    A backup folder whose manifest is still there (a crash during the swap) is rolled back: every
    target of that run (``folder`` and the others staged with it) holds its old entries again.
    Backup folders without a manifest and staging folders are removed. Does nothing when there
    are none. Raises ``OSError`` if a roll-back fails (the manifest is kept, so it can be
    retried)."""
    folder = _resolve(folder)
    parent = folder.parent
    if not folder.name or not parent.is_dir():
        return
    for path in sorted(parent.iterdir()):
        if path.name.startswith(f".{folder.name}.{_BACKUP}"):
            manifest = path / _MANIFEST
            if manifest.is_file():
                record = json.loads(manifest.read_text(encoding="utf-8"))
                joint = Path(os.path.normpath(path / record.get("joint", _MANIFEST)))
                if joint.is_file():
                    if joint != manifest:
                        record = json.loads(joint.read_text(encoding="utf-8"))
                    base = joint.parent
                    swaps = [_Swap.from_record(target, base) for target in record["targets"]]
                    _roll_back_all(joint, swaps)
                    _remove_trees([swap.backup for swap in swaps])
            _remove_trees([path])
        elif path.name.startswith(f".{folder.name}.{_STAGE}"):
            _remove_trees([path])


_STAGE = "prunesim-stage-"
_BACKUP = "prunesim-backup-"
_MANIFEST = ".prunesim-swap.json"


@dataclass
class _Swap:
    """One target folder of :func:`staged_dirs`: what it owns, where its new and old entries are,
    which of its owned entries were there before (``old``) and which folders the swap makes."""

    folder: Path
    owned: list[str]
    stage: Path | None = None
    backup: Path | None = None
    old: list[str] = field(default_factory=list)
    made: list[str] = field(default_factory=list)

    def record(self, base: Path) -> dict[str, Any]:
        """What the manifest in folder ``base`` says of this target: paths relative to ``base``,
        so that a copied or moved tree can still be recovered."""
        assert self.backup is not None
        return {
            "folder": os.path.relpath(self.folder, base),
            "backup": os.path.relpath(self.backup, base),
            "owned": self.owned,
            "old": self.old,
            "made": self.made,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], base: Path) -> _Swap:
        return cls(
            Path(os.path.normpath(base / record["folder"])),
            list(record["owned"]),
            backup=Path(os.path.normpath(base / record["backup"])),
            old=list(record["old"]),
            made=list(record["made"]),
        )


def _resolve(path: str | os.PathLike[str]) -> Path:
    return Path(path).resolve()


def _plan(
    owned: Mapping[str | os.PathLike[str], Collection[str]],
) -> tuple[list[_Swap], dict[Path, Path]]:
    """The targets of ``owned``, one per folder (checked), and each key's folder."""
    swaps: dict[Path, _Swap] = {}
    keys: dict[Path, Path] = {}
    for key, entries in owned.items():
        folder = _resolve(key)
        if not folder.name:
            raise ValueError(f"cannot stage the root folder {folder}")
        keys[Path(key)] = folder
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
    for swap in swaps.values():
        for path, name in claimed:
            if swap.folder.parent.is_relative_to(path):
                raise ValueError(f"the folder {swap.folder} lies inside {name}, which is replaced")
    return list(swaps.values()), keys


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
    """Swap every target's owned entries in; on any exception, roll every target back."""
    joint: Path | None = None
    try:
        for swap in swaps:
            _survey(swap)
            prefix = f".{swap.folder.name}.{_BACKUP}"
            swap.backup = Path(tempfile.mkdtemp(prefix=prefix, dir=swap.folder.parent))
        manifest = swaps[0].backup / _MANIFEST
        for swap in swaps[1:]:
            _write_json(swap.backup / _MANIFEST, {"joint": os.path.relpath(manifest, swap.backup)})
        # From here on a crash is rolled back by the next run: the manifest is written before
        # the first rename.
        _write_joint(manifest, swaps)
        joint = manifest
        for swap in swaps:
            _swap_in(swap)
        os.unlink(joint)  # the commit point
    except BaseException:
        if joint is not None:
            _roll_back_all(joint, swaps)
        _remove_trees([swap.backup for swap in swaps])
        for swap in swaps:
            swap.backup = None
        raise


def _survey(swap: _Swap) -> None:
    """Note which owned entries the target holds now and which folders the swap must make."""
    assert swap.stage is not None
    folder, stage = swap.folder, swap.stage
    swap.old = [entry for entry in swap.owned if os.path.lexists(folder / entry)]
    needed = {PurePosixPath(".")}  # the folder itself and the parents of the new entries
    for entry in swap.owned:
        if os.path.lexists(stage / entry):
            needed.update(PurePosixPath(entry).parents)
    ordered = sorted(needed, key=lambda d: (len(d.parts), d))  # outermost first
    swap.made = [str(d) for d in ordered if not (folder / d).is_dir()]


def _swap_in(swap: _Swap) -> None:
    assert swap.stage is not None and swap.backup is not None
    folder, stage, backup = swap.folder, swap.stage, swap.backup
    for made in swap.made:
        os.mkdir(folder / made)
    for entry in swap.owned:
        if entry in swap.old:
            (backup / entry).parent.mkdir(parents=True, exist_ok=True)
            os.rename(folder / entry, backup / entry)
        if os.path.lexists(stage / entry):
            os.rename(stage / entry, folder / entry)


def _write_json(path: Path, value: Any) -> None:
    write_bytes_atomic(path, json.dumps(value, indent=1).encode())


def _write_joint(manifest: Path, swaps: list[_Swap]) -> None:
    _write_json(manifest, {"targets": [swap.record(manifest.parent) for swap in swaps]})


def _roll_back_all(manifest: Path, swaps: list[_Swap]) -> None:
    """Put every target back as ``manifest`` records it, then delete ``manifest``. If that fails,
    the manifest is kept (written again if need be) for :func:`recover_staged`, and the backups
    with it."""
    try:
        for swap in reversed(swaps):
            _roll_back(swap)
    except BaseException:
        with contextlib.suppress(OSError):
            if not manifest.is_file():
                _write_joint(manifest, swaps)
        for swap in swaps:
            swap.backup = None  # kept for the next run
        raise
    with contextlib.suppress(FileNotFoundError):
        os.unlink(manifest)


def _roll_back(swap: _Swap) -> None:
    """Put one target back; safe to repeat after a crash in it.

    An owned entry that was there before is either still in place (not moved yet: kept) or in
    the backup (whatever is in its place now is new: replaced by the backup); one that was not
    there before is new wherever it is found."""
    assert swap.backup is not None
    for entry in reversed(swap.owned):
        target = swap.folder / entry
        saved = swap.backup / entry
        if entry in swap.old:
            if os.path.lexists(saved):
                _remove(target)
                os.rename(saved, target)
        else:
            _remove(target)
    for made in reversed(swap.made):
        with contextlib.suppress(OSError):
            os.rmdir(swap.folder / made)


def _remove(path: Path) -> None:
    """Remove a file, link or folder tree at ``path``, if there is one."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _remove_trees(paths: list[Path | None]) -> None:
    """Remove staging or backup folders (None: nothing), each tried twice, the second time
    ignoring errors. An ``OSError`` is dropped (a leftover is removed by the next run); another
    exception (an interrupt) is raised once every folder has been tried."""
    pending: BaseException | None = None
    for path in paths:
        if path is None:
            continue
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            pass
        except BaseException as exc:
            shutil.rmtree(path, ignore_errors=True)
            if not isinstance(exc, OSError) and pending is None:
                pending = exc
    if pending is not None:
        raise pending
