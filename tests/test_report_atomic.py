"""``prunesim report`` is all or nothing (:func:`prunesim.files.staged_dirs`).

The report owns ``OUT/report.md``, ``OUT/figures/``, ``OUT/data/`` and the Verilog files it writes
under ``BUILD``. A fault (an ``OSError`` or ``KeyboardInterrupt`` injected at each file-system
change in turn), a crash (a forked child that stops dead at each change in turn, then the next
run's recovery) or a real SIGINT leaves every file of the tree exactly as before (bytes and list
of files, a user's own files included) or exactly as a clean run leaves it, and no temporary
folder. Most tests use two tiny fake sections so that every step can be tried; one builds real
sections.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

import prunesim.files as files
import prunesim.report as report
from prunesim.report import ReportContext, Section, write_report

# ------------------------------------------------------------------------------------------------
# Helpers: the tree of a folder, fake sections, fault injection
# ------------------------------------------------------------------------------------------------


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root``: a file's SHA-256, ``dir`` for a folder, ``link`` for a link."""
    entries = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            entries[name] = "link"
        elif path.is_dir():
            entries[name] = "dir"
        else:
            entries[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


#: What the fake sections write: ``version`` changes their bytes (version 1 also writes a figure
#: that version 2 does not), ``interrupt`` names a section that raises SIGINT while it runs.
STATE: dict[str, object] = {"version": 1, "interrupt": None}


@dataclass(frozen=True)
class FakeSection(Section):
    """A section built by a function of this file."""

    make: Callable[[ReportContext], str] | None = None

    def build(self, ctx: ReportContext) -> str:
        assert self.make is not None
        return self.make(ctx)


def _alpha(ctx: ReportContext) -> str:
    version = STATE["version"]
    ctx.data("alpha", {"version": version})
    ctx.staged[ctx.out / "figures" / "alpha.png"] = f"alpha figure {version}".encode()
    if version == 1:
        ctx.staged[ctx.out / "figures" / "only_old.png"] = b"a figure only version 1 has"
    ctx.write(ctx.build / "verilog" / "alpha.v", f"// alpha {version}\n")
    return f"alpha {version}"


def _beta(ctx: ReportContext) -> str:
    if STATE["interrupt"] == "beta":
        signal.raise_signal(signal.SIGINT)
    version = STATE["version"]
    ctx.data("beta", {"version": version})
    ctx.staged[ctx.out / "figures" / "beta.png"] = f"beta figure {version}".encode()
    return f"beta {version}"


FAKE_SECTIONS = (
    FakeSection("alpha", "Alpha", "", "first fake section", make=_alpha),
    FakeSection("beta", "Beta", "", "second fake section", make=_beta),
)


def use_fake_sections() -> None:
    """Make the report's sections the fake ones (also used by the subprocess of the SIGINT
    test)."""
    report.SECTIONS = FAKE_SECTIONS
    STATE.update(version=1, interrupt=None)


@pytest.fixture
def fake_sections(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(report, "SECTIONS", FAKE_SECTIONS)
    STATE.update(version=1, interrupt=None)
    yield
    STATE.update(version=1, interrupt=None)


def write_fake(root: Path) -> list[Path]:
    """The fake report, into ``root/reports`` with its Verilog under ``root/build``."""
    return write_report(root / "reports", root / "build", ["alpha", "beta"])


def earlier(root: Path) -> Path:
    """``root`` with a user's files and a report of version 1 (written the ordinary way)."""
    (root / "reports" / "notes").mkdir(parents=True)
    (root / "reports" / "README.md").write_text("the user's README\n")
    (root / "reports" / "notes" / "mine.txt").write_text("the user's notes\n")
    (root / "build" / "verilog").mkdir(parents=True)
    (root / "build" / "verilog" / "user.v").write_text("// `prunesim verilog` output\n")
    (root / "build" / "other.txt").write_text("something else in build\n")
    STATE["version"] = 1
    write_fake(root)
    STATE["version"] = 2
    return root


MUTATORS = ("mkdir", "rename", "replace", "unlink", "rmdir")


@dataclass
class Counter:
    calls: list[str]


@contextmanager
def file_system_changes(
    at: int | None = None, act: Callable[[], None] | None = None
) -> Iterator[Counter]:
    """Count the calls of ``os``'s functions that change the file system (``shutil``,
    ``pathlib`` and ``tempfile`` go through them); the ``at``-th call runs ``act`` first (which
    may raise or end the process)."""
    counter = Counter([])
    saved = {name: getattr(os, name) for name in MUTATORS}

    def wrap(name: str) -> Callable[..., object]:
        real = saved[name]

        def call(*args: object, **kwargs: object) -> object:
            counter.calls.append(name)
            if len(counter.calls) == at and act is not None:
                act()
            return real(*args, **kwargs)

        return call

    for name in MUTATORS:
        setattr(os, name, wrap(name))
    try:
        yield counter
    finally:
        for name, real in saved.items():
            setattr(os, name, real)


def injected(error: type[BaseException]) -> Callable[[], None]:
    def act() -> None:
        if error is OSError:
            raise OSError(errno.EIO, "injected fault")
        raise error()

    return act


def probe(tmp_path: Path, pristine: Path) -> tuple[dict[str, str], list[str]]:
    """The tree a clean run of version 2 leaves, and the file-system changes it makes."""
    root = shutil.copytree(pristine, tmp_path / "probe")
    with file_system_changes() as counter:
        write_fake(root)
    return tree(root), counter.calls


def renames_of(calls: list[str]) -> list[int]:
    """The steps (1-based) of ``calls`` that are renames: the swap's moments."""
    return [at for at, name in enumerate(calls, 1) if name == "rename"]


def make_pristine(tmp_path: Path, with_earlier: bool) -> Path:
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    if with_earlier:
        earlier(pristine)
    STATE["version"] = 2
    return pristine


# ------------------------------------------------------------------------------------------------
# Faults in this process: every step, an OSError or a KeyboardInterrupt
# ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_sections")
@pytest.mark.parametrize("with_earlier", [True, False], ids=["earlier report", "first report"])
@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_a_fault_at_any_step_leaves_the_old_files_or_the_new_ones(
    tmp_path: Path, error: type[BaseException], with_earlier: bool
) -> None:
    pristine = make_pristine(tmp_path, with_earlier)
    old = tree(pristine)
    new, calls = probe(tmp_path, pristine)
    assert new != old
    outcomes = []
    for at in range(1, len(calls) + 1):
        root = shutil.copytree(pristine, tmp_path / f"run{at}")
        raised = False
        with file_system_changes(at, injected(error)):
            try:
                write_fake(root)
            except error:
                raised = True
        state = tree(root)
        assert state in (old, new), f"fault at step {at} ({calls[at - 1]}): a mix of old and new"
        outcomes.append(("new" if state == new else "old", raised))
        shutil.rmtree(root)
    assert outcomes[0] == ("old", True)
    # A fault that stops the run leaves the old files up to the commit point, the new ones after.
    stopped = [state for state, raised in outcomes if raised]
    assert stopped == sorted(stopped, key=["old", "new"].index)
    assert all(state == "new" for state, raised in outcomes if not raised)
    if error is KeyboardInterrupt:
        assert all(raised for _, raised in outcomes)
        assert stopped[-1] == "new"  # an interrupt while cleaning up after the commit point
    renames = renames_of(calls)
    assert all(outcomes[at - 1] == ("old", True) for at in renames)  # rolled back mid-swap
    assert "reports/figures/only_old.png" not in new  # a stale figure does not survive
    if with_earlier:
        for mine in ("reports/README.md", "reports/notes/mine.txt", "build/verilog/user.v"):
            assert new[mine] == old[mine]


# ------------------------------------------------------------------------------------------------
# Crashes: a child process stops dead at every step; the next run rolls back or finishes
# ------------------------------------------------------------------------------------------------

CRASHED = 17


def crash_at(at: int, run: Callable[[], object]) -> int:
    """Run ``run`` in a forked child that stops dead (``os._exit``, no clean-up) at the ``at``-th
    file-system change; return its exit status (``CRASHED``, or 0 if it got to the end)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        status = 0
        try:
            with file_system_changes(at, lambda: os._exit(CRASHED)):
                run()
        except BaseException:
            status = 1
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def recover(root: Path) -> None:
    files.recover_staged(root / "reports")
    files.recover_staged(root / "build")


@pytest.mark.usefixtures("fake_sections")
@pytest.mark.parametrize("with_earlier", [True, False], ids=["earlier report", "first report"])
def test_a_crash_at_any_step_is_rolled_back_or_finished_by_the_next_run(
    tmp_path: Path, with_earlier: bool
) -> None:
    pristine = make_pristine(tmp_path, with_earlier)
    old = tree(pristine)
    new, calls = probe(tmp_path, pristine)
    states = []
    mixed = 0
    for at in range(1, len(calls) + 1):
        root = shutil.copytree(pristine, tmp_path / f"run{at}")
        assert crash_at(at, lambda root=root: write_fake(root)) == CRASHED
        mixed += tree(root) not in (old, new)  # what the crash left, before recovery
        recover(root)
        state = tree(root)
        assert state in (old, new), f"crash at step {at} ({calls[at - 1]}): not recovered"
        states.append("new" if state == new else "old")
        shutil.rmtree(root)
    # Old up to the commit point (a single deletion), new after it.
    assert states == sorted(states, key=["old", "new"].index)
    assert states[0] == "old"
    assert states[-1] == "new"
    assert mixed > 0  # the crashes did hit the swap: there was something to roll back


@pytest.mark.usefixtures("fake_sections")
def test_a_crash_while_rolling_back_is_rolled_back_again(tmp_path: Path) -> None:
    pristine = make_pristine(tmp_path, True)
    old = tree(pristine)
    _, calls = probe(tmp_path, pristine)
    renames = renames_of(calls)
    middle = renames[len(renames) // 2]  # some entries swapped, some not
    crashed = shutil.copytree(pristine, tmp_path / "crashed")
    assert crash_at(middle, lambda: write_fake(crashed)) == CRASHED
    probed = shutil.copytree(crashed, tmp_path / "probe-recovery")
    with file_system_changes() as counter:
        recover(probed)
    assert tree(probed) == old
    assert len(counter.calls) > 2
    for at in range(1, len(counter.calls) + 1):
        root = shutil.copytree(crashed, tmp_path / f"run{at}")
        assert crash_at(at, lambda root=root: recover(root)) == CRASHED
        recover(root)
        assert tree(root) == old, f"crash at step {at} of the recovery"
        shutil.rmtree(root)


# ------------------------------------------------------------------------------------------------
# SIGINT through the command line
# ------------------------------------------------------------------------------------------------

SIGINT_SCRIPT = """
import signal, sys
sys.path.insert(0, sys.argv[1])
import test_report_atomic as t
from prunesim.cli import main

t.use_fake_sections()
t.STATE["version"] = 2
t.STATE["interrupt"] = sys.argv[2] or None
at = int(sys.argv[3]) or None
with t.file_system_changes(at, lambda: signal.raise_signal(signal.SIGINT)):
    status = main(["report", "--out", "reports", "--build", "build", "--sections", "alpha,beta"])
sys.exit(status)
"""


@pytest.mark.usefixtures("fake_sections")
def test_sigint_at_several_moments_leaves_the_earlier_report(tmp_path: Path) -> None:
    pristine = make_pristine(tmp_path, True)
    old = tree(pristine)
    _, calls = probe(tmp_path, pristine)
    renames = renames_of(calls)
    assert len(renames) >= 4
    moments = {
        "during a section": ("beta", 0),
        "after the sections, before the swap": ("", 1),
        "between two renames of the swap": ("", renames[len(renames) // 2]),
    }
    for moment, (section, at) in moments.items():
        root = shutil.copytree(pristine, tmp_path / re.sub(r"\W+", "-", moment))
        result = subprocess.run(
            [sys.executable, "-c", SIGINT_SCRIPT, str(Path(__file__).parent), section, str(at)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 130, (moment, result.stderr)
        assert "Traceback" not in result.stderr, moment
        assert tree(root) == old, moment


# ------------------------------------------------------------------------------------------------
# Success: exactly the new report, other files untouched
# ------------------------------------------------------------------------------------------------


def test_a_report_replaces_the_earlier_one_whole_and_nothing_else(tmp_path: Path) -> None:
    """Real sections (the cheapest ones) over an earlier report with stale figures and data: the
    report's files are exactly those written, the user's files are untouched."""
    out = tmp_path / "reports"
    for folder in ("figures", "data", "notes"):
        (out / folder).mkdir(parents=True)
    (out / "figures" / "stale.png").write_bytes(b"an earlier figure")
    (out / "data" / "stale.json").write_text("{}\n")
    (out / "report.md").write_text("an earlier report\n")
    (out / "README.md").write_text("the user's README\n")
    (out / "notes" / "mine.txt").write_text("the user's notes\n")
    mine = {name: state for name, state in tree(out).items() if name.startswith(("READ", "notes"))}

    written = write_report(out, tmp_path / "build", ["fedtiny", "sara"])
    assert sorted(path for path in tmp_path.rglob("*") if path.is_file()) == sorted(
        written + [out / "README.md", out / "notes" / "mine.txt"]
    )
    assert {name: tree(out)[name] for name in mine} == mine
    page = (out / "report.md").read_text()
    shown = sorted(re.findall(r"\]\(figures/([^)]+)\)", page))
    assert shown == sorted(path.name for path in (out / "figures").iterdir())
    assert shown == ["fedtiny_density.png", "sara_memory.png"]
    assert sorted(path.name for path in (out / "data").iterdir()) == ["fedtiny.json", "sara.json"]


@pytest.mark.usefixtures("fake_sections")
def test_the_build_folder_may_be_the_report_folder(tmp_path: Path) -> None:
    both = tmp_path / "both"
    write_report(both, both, ["alpha"])
    assert sorted(tree(tmp_path)) == [
        "both",
        "both/data",
        "both/data/alpha.json",
        "both/figures",
        "both/figures/alpha.png",
        "both/figures/only_old.png",
        "both/report.md",
        "both/verilog",
        "both/verilog/alpha.v",
    ]


@pytest.mark.usefixtures("fake_sections")
def test_a_build_folder_inside_the_figures_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"build folder .*figures.* lies inside"):
        write_report(tmp_path / "reports", tmp_path / "reports" / "figures" / "gen", ["alpha"])
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------
# --sections
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("", r"no section chosen \(choose from rtl, synth, paper"),
        (",", r"empty section name \(choose from rtl"),
        ("rtl,,paper", r"empty section name"),
        ("fedtiny,fedtiny", r"section 'fedtiny' chosen twice"),
        ("spatten,spatten", r"unknown section 'spatten'"),
    ],
)
def test_bad_sections_are_one_line_errors_and_write_nothing(
    tmp_path: Path, value: str, pattern: str
) -> None:
    result = run_cli("report", "--out", "out", "--build", "gen", "--sections", value, cwd=tmp_path)
    assert_one_line_error(result, pattern)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("keys", "pattern"),
    [
        ([], "no section chosen"),
        ([""], "empty section name"),
        (["sara", "rtl", "sara"], "section 'sara' chosen twice"),
    ],
)
def test_check_sections_refuses(keys: list[str], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        report.check_sections(keys)
