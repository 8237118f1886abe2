"""``prunesim sweep``: price a design space (:func:`prunesim.sim.sweep`) and write its rows to
Parquet (and CSV), with the Pareto front marked and drawn.

Everything is checked before any work: the options (or the spec file's keys, ``FILE:LINE``),
each grid's VALUES (:mod:`prunesim.sim.grid`), the output suffixes, the limits (points, samples,
rows of a three-objective front), then every name and value of the sweep
(:func:`prunesim.sim.dse.check`). Bad input is one line ``prunesim: error: ...``, exit status 2,
nothing written. Outputs are written whole or not at all (a temporary file, then a rename), and
only once every point is priced: an interrupt (Ctrl-C: exit 130, SIGTERM: 143) leaves no output
file, unless ``--partial`` asks to keep the finished rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from prunesim.argtypes import CLIError, names, nonnegative_int, one_line, positive_int
from prunesim.commands import Command, register_command
from prunesim.commands.workload_options import add_workload_arguments, stage_request

__all__ = ["COMMAND", "SCHEDULERS", "parquet_bytes", "read_outputs"]

#: The named schedulers (anything else must be a Dask scheduler's address, ``tcp://HOST:PORT``).
SCHEDULERS = ("local", "processes")
#: The stage options (``--stage`` .. ``--generate``), by destination.
_STAGE_KEYS = ("stage", "batch", "images", "text_tokens", "tokens", "prompt", "generate")
#: The metadata key of the Parquet file that holds the record of inputs (JSON).
METADATA_KEY = b"prunesim"
#: The first characters of the CSV file's first line (then the record of inputs as JSON).
CSV_COMMENT = "# prunesim sweep inputs: "

DESCRIPTION = """\
Price every point of models x methods x hardware x a grid of values and write one row
per point (inputs, cycles, seconds, DRAM bytes, MACs, energy, area, static power, the
bounding unit) to Parquet, optionally CSV, with the Pareto front marked and drawn.

Grid names (--grid NAME=VALUES, repeatable, each name once):
  hw.<path>          a value of the hardware file, dotted along its nesting
                     (hw.multipliers.qk, hw.dram.channels, hw.topk.comparators);
                     each target becomes a variant named after it
                     (spatten[multipliers.qk=256])
  stage.<field>      a field of the stage (stage.tokens, stage.batch, stage.images)
  <method>.<option>  that method's option (spatten.token_keep, catp.ratio)
  <option>           that option of every method that has it (dense excepted)
A name that does not apply to a point (hw.topk.comparators on a GPU) is left out of
it; one that applies to no point is an error.

VALUES:
  a,b,c                   the values listed (numbers or names), each once
  start:stop:count        count values evenly spaced, start and stop included
  start:stop:count:log    count values in geometric progression (start, stop > 0)
A range's values are rounded to 12 significant digits (0.1:0.9:9 gives 0.3). Integer
fields take integers: a range that gives a non-integer for one (16:512:4:log gives
50.8 for hw.multipliers.qk) is an error naming the field, never rounded silently.

Limits (checked before any work): at most {max_points:,} points priced at once (models x
methods x hardware x the grid's values; --samples draws at most that many from a larger
sweep), a range at most {max_count:,} values, --samples at most the sweep's points, a
Pareto front of 3 objectives at most {max_rows_3:,} rows.

Outputs: --out is Parquet; its key-value metadata "prunesim" holds the record of the
inputs (JSON: version, models, methods, hardware files and their sha256, stage, grid,
samples, seed). --csv writes the same rows, its first line a comment holding the same
record ("{csv_comment}{{...}}": read it with pandas.read_csv(path, skiprows=1)).
--pareto OBJ,OBJ[,OBJ] (among latency, energy, area, dram, all minimised) adds the
boolean column pareto: rows no other row beats on every objective; a row without a
value for one (skipped, or no area) is never on it. --plot draws every point on the
first two objectives (log axes where a column spans more than a decade, area as
colour) and the front over them; SVG or PNG by the suffix; without --pareto it
draws latency,energy. Files are written whole (a temporary file, then a rename)
once every point is priced. Ctrl-C (exit 130) or SIGTERM (143) leaves no output
file; with --partial, the rows finished so far are written instead (the record says
how many: "priced" < "points"; local scheduler only).

A spec file (prunesim sweep SPEC.yaml) holds the same options as a YAML mapping, keys
without dashes (text_tokens); lists as text or YAML lists; grid as a mapping of
name: VALUES (text, a number or a YAML list). Options given on the command line
override the file's; --grid entries replace the file's entry of the same name.
Paths in the file are relative to the current folder, as on the command line.

examples:
  prunesim sweep --model bert-base --method spatten --hw spatten \\
      --grid hw.multipliers.qk=64:1024:5:log --grid hw.dram.channels=4,8,16 \\
      --grid spatten.token_keep=0.1:0.9:9 \\
      --out sweep.parquet --pareto latency,energy --plot front.svg
  prunesim sweep sweep.yaml --samples 100 --seed 1 --csv sweep.csv
"""


def _description() -> str:
    from prunesim.sim.dse import MAX_POINTS
    from prunesim.sim.grid import MAX_COUNT
    from prunesim.sim.pareto import MAX_ROWS_3

    return DESCRIPTION.format(
        max_points=MAX_POINTS,
        max_count=MAX_COUNT,
        max_rows_3=MAX_ROWS_3,
        csv_comment=CSV_COMMENT,
    )


def _grid_entry(text: str) -> tuple[str, str]:
    """``NAME=VALUES`` as ``(name, values text)``; the name kept as written (the sweep's
    :func:`prunesim.sim.names.parse_name` reads it)."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUES, not {text!r}")
    return name.strip(), values.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = _description()
    parser.add_argument(
        "spec",
        nargs="?",
        type=Path,
        default=None,
        metavar="SPEC.yaml",
        help="a spec file holding these options (see above); the command line overrides it",
    )
    parser.add_argument(
        "--model", type=names, default=None, metavar="LIST", help="comma-separated model names"
    )
    parser.add_argument(
        "--method", type=names, default=None, metavar="LIST", help="comma-separated methods"
    )
    parser.add_argument(
        "--hw",
        type=names,
        default=None,
        metavar="LIST",
        help="comma-separated hardware presets or files",
    )
    add_workload_arguments(parser, stage_only=True)
    parser.set_defaults(stage=None)  # None: not given (the spec file's, else auto)
    parser.add_argument(
        "--grid",
        type=_grid_entry,
        action="append",
        default=None,
        metavar="NAME=VALUES",
        help="values of one name (see above); repeatable, each name once",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=None,
        metavar="N",
        help="draw N distinct points at random instead of all (N at most the sweep's points)",
    )
    parser.add_argument(
        "--seed", type=nonnegative_int, default=None, metavar="S", help="seed of --samples (0)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="FILE.parquet", help="the rows, as Parquet"
    )
    parser.add_argument(
        "--csv", type=Path, default=None, metavar="FILE", help="the same rows, as CSV"
    )
    parser.add_argument(
        "--pareto",
        default=None,
        metavar="OBJ,OBJ[,OBJ]",
        help="mark the Pareto front of 2 or 3 of latency, energy, area, dram (column pareto)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="FILE.svg|FILE.png",
        help="draw the points and the front (the --pareto objectives, else latency,energy)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="local|processes|ADDRESS",
        help="where to price: this process (local, the default), local processes, or the "
        "Dask scheduler at ADDRESS (tcp://HOST:PORT)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes for --scheduler processes (default: the CPU count)",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        default=None,
        help="on Ctrl-C or SIGTERM, write the rows finished so far instead of nothing",
    )


# ------------------------------------------------------------------------------------------------
# The options, from the command line and the spec file.


def _spec_fields() -> dict[str, Any]:
    """Each key of a spec file with its converter (the command line's checks)."""
    from prunesim.sim.families import STAGE_NAMES
    from prunesim.sim.workload import MAX_BATCH

    def text(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be text, not {value!r}")
        return value.strip()

    def name_list(value: Any) -> list[str]:
        if isinstance(value, list):
            if not value or not all(isinstance(item, str) and item.strip() for item in value):
                raise ValueError(f"must be a list of names, not {value!r}")
            return list(dict.fromkeys(item.strip() for item in value))
        return names(text(value))

    def integer(parse: Any) -> Any:
        def convert(value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"must be an integer, not {value!r}")
            return parse(str(value))

        return convert

    def stage(value: Any) -> str:
        if value not in STAGE_NAMES:
            raise ValueError(f"must be one of {', '.join(STAGE_NAMES)}, not {value!r}")
        return value

    def flag(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value

    def batch(text_: str) -> int:
        number = int(text_)
        if not 1 <= number <= MAX_BATCH:
            raise ValueError(f"must be an integer 1..{MAX_BATCH}, not {number}")
        return number

    def objectives(value: Any) -> str:
        return ",".join(name_list(value))

    return {
        "model": name_list,
        "method": name_list,
        "hw": name_list,
        "stage": stage,
        "batch": integer(batch),
        "images": integer(positive_int),
        "text_tokens": integer(positive_int),
        "tokens": integer(positive_int),
        "prompt": integer(nonnegative_int),
        "generate": integer(positive_int),
        "samples": integer(positive_int),
        "seed": integer(nonnegative_int),
        "out": lambda value: Path(text(value)),
        "csv": lambda value: Path(text(value)),
        "pareto": objectives,
        "plot": lambda value: Path(text(value)),
        "scheduler": text,
        "workers": integer(positive_int),
        "partial": flag,
    }


def _merge(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The options in effect (the spec file's, overridden by the command line's) and the grid
    parsed (name -> values, the file's names first, in order)."""
    from prunesim.sim.grid import parse_values
    from prunesim.sweep_spec import read_spec

    fields = _spec_fields()
    spec: dict[str, Any] = {}
    if args.spec is not None:
        spec = read_spec(args.spec, fields)
    options = {key: spec.get(key) for key in fields}
    for key in fields:
        given = getattr(args, key, None)
        if given is not None:
            options[key] = given
    grid: dict[str, list[Any]] = dict(spec.get("grid", {}))
    seen: set[str] = set()
    for name, values in args.grid or []:
        if name in seen:
            raise ValueError(f"--grid {name} is given twice")
        seen.add(name)
        grid[name] = parse_values(values, name=name)
    return options, grid


def _check_outputs(options: dict[str, Any]) -> None:
    from prunesim.report.sweep_plot import FORMATS

    out = options["out"]
    if out is None:
        raise ValueError("no output: give --out FILE.parquet (or out: in the spec file)")
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"--out is a Parquet file (FILE.parquet), not {os.fspath(out)!r}")
    plot = options["plot"]
    if plot is not None and plot.suffix.lower().lstrip(".") not in FORMATS:
        raise ValueError(f"--plot must end in .svg or .png, not {os.fspath(plot)!r}")
    paths = [p for p in (out, options["csv"], plot) if p is not None]
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise ValueError("--out, --csv and --plot must be different files")
    for path in paths:
        if path.is_dir():
            raise ValueError(f"{os.fspath(path)!r} is a folder, not a file")


def _scheduler(options: dict[str, Any]) -> str | None:
    """The API's ``scheduler`` (:func:`prunesim.sim.distribute.check_scheduler`): None for
    local, else ``processes`` or the address."""
    from prunesim.sim.distribute import check_scheduler

    scheduler = options["scheduler"]
    if scheduler in (None, "local") and options["workers"] is not None:
        raise ValueError("--workers needs --scheduler processes or an address")
    scheduler = check_scheduler(scheduler, options["workers"])
    if scheduler not in (None, "local") and options["partial"]:
        raise ValueError("--partial works with --scheduler local only")
    return None if scheduler == "local" else scheduler


def _stage(options: dict[str, Any], models: list[str]) -> Any:
    """The stage of every model: None (each family's default) when no stage option is given;
    else the stage they ask of each model, which must be the same for all."""
    if all(options[key] is None for key in _STAGE_KEYS) or (
        options["stage"] == "auto" and all(options[key] is None for key in _STAGE_KEYS[1:])
    ):
        return None
    from prunesim.models import get_model
    from prunesim.sim.families import family_of

    given = {key: options[key] for key in _STAGE_KEYS}
    request = stage_request(argparse.Namespace(**{**given, "stage": given["stage"] or "auto"}))
    stages = {}
    for name in models:
        model = get_model(name)
        stages[name] = family_of(model).stage(model, request)
    first = next(iter(stages.values()))
    for name, stage in stages.items():
        if stage != first:
            raise ValueError(
                f"the stage options give {models[0]} {first.describe()} but {name} "
                f"{stage.describe()}: sweep them separately, or use --grid stage.<field>"
            )
    return first


# ------------------------------------------------------------------------------------------------
# Outputs.


def parquet_bytes(frame: Any, record: dict[str, Any]) -> bytes:
    """``frame`` as Parquet, ``record`` (JSON) in the key-value metadata under ``prunesim``. An
    object column pyarrow cannot type (mixed values) is stored as text."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        frame = frame.copy()
        for column in frame.columns:
            if frame[column].dtype == object:
                try:
                    pa.array(frame[column])
                except (pa.ArrowInvalid, pa.ArrowTypeError):
                    frame[column] = [None if v is None else str(v) for v in frame[column]]
        table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(record).encode("utf-8")
    table = table.replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _csv_text(frame: Any, record: dict[str, Any]) -> str:
    return CSV_COMMENT + json.dumps(record) + "\n" + frame.to_csv(index=False)


def read_outputs(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """A sweep's Parquet file (``--out``) read back: ``(frame, record of inputs)``."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    record = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    return table.to_pandas(), record


class _Progress:
    """A progress bar on stderr, shown on a terminal only (tqdm), fed with finished points."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            unit="point",
            file=sys.stderr,
            leave=False,
            disable=not sys.stderr.isatty(),
            desc="sweep",
        )

    def __call__(self, done: int) -> None:
        self.bar.update(done)

    def close(self) -> None:
        self.bar.close()


def _price(plan: Any, scheduler: str | None, workers: int | None, progress: Any, partial: bool):
    """The plan's frame, and whether it is complete. Without ``partial``, :func:`run`'s (an
    interrupt propagates). With ``partial`` (this process only): the chunks priced one by one;
    an interrupt stops there and the finished rows (in product order) are returned."""
    from prunesim.sim.dse import evaluate_chunk, gather, run

    if not partial:
        return run(plan, scheduler=scheduler, workers=workers, progress=progress), None
    chunks = plan.chunks()
    results: list[list[dict[str, Any]]] = []
    interrupt: BaseException | None = None
    try:
        for chunk in chunks:
            results.append(evaluate_chunk(chunk))
            progress(len(results[-1]))
    except KeyboardInterrupt as exc:  # also prunesim.cli.Terminated (SIGTERM)
        interrupt = exc
    return gather(plan, chunks, results), interrupt


def run(args: argparse.Namespace) -> int:
    from prunesim.files import write_bytes_atomic
    from prunesim.provenance import sweep_inputs
    from prunesim.sim.dse import check
    from prunesim.sim.grid import grid_size
    from prunesim.sim.pareto import MAX_ROWS_3, check_objectives, pareto_mask

    try:
        options, grid = _merge(args)
        for key, flag in (("model", "--model"), ("method", "--method"), ("hw", "--hw")):
            if not options[key]:
                raise ValueError(f"no {key}: give {flag} LIST (or {key}: in the spec file)")
        _check_outputs(options)
        scheduler = _scheduler(options)
        objectives = None
        if options["pareto"] is not None:
            objectives = check_objectives(options["pareto"])
        plot_objectives = objectives or ["latency", "energy"]
        product = len(options["model"]) * len(options["method"]) * len(options["hw"])
        points = product * grid_size(grid)
        samples, seed = options["samples"], options["seed"] or 0
        rows = samples if samples is not None else points
        if objectives is not None and len(objectives) == 3 and rows > MAX_ROWS_3:
            raise ValueError(
                f"a Pareto front of 3 objectives takes at most {MAX_ROWS_3:,} rows; this "
                f"sweep has {rows:,}"
            )
        stage = _stage(options, options["model"])
        plan = check(
            options["model"],
            options["method"],
            options["hw"],
            stage=stage,
            grid=grid,
            samples=samples,
            seed=seed,
            build_workloads=scheduler is None,
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(one_line(exc)) from None

    progress = _Progress(plan.points)
    try:
        frame, interrupt = _price(
            plan, scheduler, options["workers"], progress, bool(options["partial"])
        )
    except (ValueError, TypeError) as exc:  # e.g. an address that does not answer
        raise CLIError(one_line(exc)) from None
    finally:
        progress.close()
    try:
        if objectives is not None:
            frame["pareto"] = pareto_mask(frame, objectives)
        record = sweep_inputs(
            models=options["model"],
            methods=options["method"],
            hardware=options["hw"],
            stage=stage,
            grid=grid,
            samples=samples,
            seed=seed,
            pareto=objectives,
            points=plan.points,
            priced=len(frame),
            spec=args.spec,
        )
        outputs = [(options["out"], parquet_bytes(frame, record))]
        if options["csv"] is not None:
            outputs.append((options["csv"], _csv_text(frame, record).encode("utf-8")))
        if options["plot"] is not None:
            from prunesim.report.sweep_plot import plot_sweep

            fmt = options["plot"].suffix.lower().lstrip(".")
            outputs.append((options["plot"], plot_sweep(frame, plot_objectives, fmt)))
    except (ValueError, OSError) as exc:
        raise CLIError(one_line(exc)) from None
    try:
        for path, content in outputs:
            write_bytes_atomic(path, content)
    except OSError as exc:
        raise CLIError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    done = f"{len(frame)} of {plan.points} points" if interrupt else f"{len(frame)} points"
    written = ", ".join(os.fspath(path) for path, _ in outputs)
    print(f"{done} written to {written}")
    if interrupt is not None:
        raise interrupt
    return 0


COMMAND = register_command(
    Command(
        name="sweep",
        help="price a design space (models x methods x hardware x a grid) to Parquet, "
        "with its Pareto front",
        order=55,
        add_arguments=add_arguments,
        run=run,
    )
)
