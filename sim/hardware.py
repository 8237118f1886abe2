"""Hardware targets: the presets and files that describe them, loaded into their kind's class.

A file (``sim/hardware/*.yaml``, or any path) names its ``kind``; each kind is a cost model of
:mod:`prunesim.sim.costs` that declares the file's fields (its ``LAYOUT``) and prices workloads.
The kinds that exist (:func:`hardware_kinds`):

* ``accelerator`` (:class:`~prunesim.sim.costs.accelerator.Accelerator`): a SpAtten-class
  attention accelerator: multiplier arrays, softmax lanes, top-k engines, K/V SRAM, DRAM
  channels, energy per access/operation.
* ``processor`` (:class:`~prunesim.sim.costs.processor.Processor`): a GPU or CPU running eager
  PyTorch, priced by a roofline per kernel (peak compute per precision, memory bandwidth, a
  per-kernel overhead).
* ``published`` (:class:`~prunesim.sim.costs.published.Published`): an accelerator known only
  by its published throughput and energy efficiency (A3, MNNFast): time = ops / throughput,
  energy = ops / efficiency.
* ``systolic`` (:class:`~prunesim.sim.costs.systolic.Systolic`): a CNN accelerator built around
  a systolic array (rows, columns, a dataflow), input/filter/output SRAM buffers and DRAM, with
  optional sparse support (zero-skipping compute, compressed weights): SCALE-Sim's machine
  model, cross-checked against it.

Every number carries its unit in its name; every energy entry and every datasheet figure names its
source in the file (``source:`` beside the value). The format (values, sources, energy tables,
validation) is :mod:`prunesim.sim.hwfile`'s; each kind's module lists its fields.
:func:`load_hardware` takes a preset name or a path and validates every field, naming the file,
line and field of a bad one (:class:`HardwareError`). Every number has a physical range (a
clock of 1 MHz to 100 GHz, a bandwidth of 1 MB/s to 100 PB/s, at most 2**20 units of a kind
...): the table and its reasons are in :mod:`prunesim.sim.hwfile`'s documentation.
:func:`as_target` and :func:`load_targets` turn what the Python API takes as ``hardware`` (a
preset name, a path as a string or :class:`os.PathLike`, or a loaded target) into targets.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from prunesim.sim.costs import KINDS, Hardware
from prunesim.sim.hwfile import (
    EnergyTable,
    Field,
    HardwareError,
    MappingField,
    ValueProblem,
    field_value,
    layout_paths,
    read_hardware,
)

__all__ = [
    "PRESET_DIR",
    "EnergyTable",
    "Hardware",
    "HardwareError",
    "as_target",
    "field_paths",
    "field_spec",
    "format_setting",
    "hardware_file",
    "hardware_kinds",
    "hardware_names",
    "load_hardware",
    "load_sources",
    "load_targets",
    "unknown_field",
    "variant",
]

#: The folder of the presets shipped with the package.
PRESET_DIR = Path(__file__).parent / "hardware"


def hardware_kinds() -> list[str]:
    """The ``kind`` values a file may have (the registered cost models)."""
    return KINDS.names()


def hardware_names() -> list[str]:
    """The presets shipped in ``sim/hardware/`` (file stems), sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml") if p.is_file())


def hardware_file(name_or_path: str | os.PathLike[str]) -> tuple[str, Path]:
    """The file behind a preset name or a path: ``(label, path)``, ``label`` naming it in
    messages (``<name>.yaml`` for a preset, the path as given otherwise).

    A name from :func:`hardware_names` wins over a file of the same name in the working
    directory. Any other string or path must be an existing file. Raises :class:`TypeError` for
    anything but a string or a path, :class:`HardwareError` for an unknown name or a missing
    file.
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"hardware must be a preset name or a path, not {type(name_or_path).__name__}"
        )
    names = hardware_names()
    if isinstance(name_or_path, str) and name_or_path in names:
        path = PRESET_DIR / f"{name_or_path}.yaml"
        return path.name, path
    path = Path(name_or_path)
    label = os.fspath(name_or_path)
    if not path.is_file():
        raise HardwareError(
            f"unknown hardware {label!r} (choose from {', '.join(names)}; "
            "or give a path to a .yaml file)"
        )
    return label, path


def load_hardware(name_or_path: str | os.PathLike[str]) -> Hardware:
    """Load a preset by name or a YAML file by path; raise :class:`HardwareError` if invalid.

    The file is found by :func:`hardware_file` and validated field by field; the first problem
    found raises :class:`HardwareError` with ``file:line: field: problem`` (``file`` is
    ``<name>.yaml`` for a preset, the path as given otherwise). Returns the frozen dataclass of
    the file's kind (:mod:`prunesim.sim.costs`).
    """
    label, path = hardware_file(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HardwareError(f"{label}: cannot read: {exc}") from exc
    return read_hardware(label, text, dict(KINDS.items()))


def as_target(hardware: str | os.PathLike[str] | Hardware) -> Hardware:
    """A loaded target: a preset name or a path (a string or :class:`os.PathLike`) is loaded by
    :func:`load_hardware`; anything else is taken to be a loaded target and returned as it is."""
    if isinstance(hardware, str | os.PathLike):
        return load_hardware(hardware)
    return hardware


def load_targets(hardware: Iterable[str | os.PathLike[str] | Hardware]) -> list[Hardware]:
    """Each of ``hardware`` loaded (:func:`as_target`), in order, each at most once.

    Results are keyed by a target's ``name``, so two targets of one name would merge: the same
    file given twice (by name and by path) counts once, and so does a loaded target equal to
    one before it; two files of one name (a preset copied but not renamed), or a loaded target
    of the name of a different one, raise :class:`HardwareError` naming both, e.g.
    ``hardware 'a100' is named twice: a100.yaml and ./my-a100.yaml; give the copy a name of
    its own (its name: field)``.
    """
    return [target for _, target in load_sources(hardware)]


def load_sources(
    hardware: Iterable[str | os.PathLike[str] | Hardware],
) -> list[tuple[str | os.PathLike[str] | Hardware, Hardware]]:
    """:func:`load_targets`, each target with the item of ``hardware`` it was first given as (a
    preset name, a path or the loaded target itself): what a record of the inputs names."""
    sources: list[tuple[str | os.PathLike[str] | Hardware, Hardware]] = []
    seen: dict[str, tuple[str, Path | None, Hardware]] = {}
    for item in hardware:
        path: Path | None = None
        if isinstance(item, str | os.PathLike):
            label, file = hardware_file(item)
            target, path = load_hardware(item), file.resolve()
        else:
            label, target = f"a loaded {type(item).__name__}", item
        first = seen.get(target.name)
        if first is None:
            seen[target.name] = (label, path, target)
            sources.append((item, target))
            continue
        first_label, first_path, first_target = first
        if path is not None and first_path is not None:
            same = path == first_path  # two files: the same file again?
        else:
            same = target == first_target  # a loaded target: the same description again?
        if same:
            continue
        raise HardwareError(
            f"hardware {target.name!r} is named twice: {first_label} and {label}; "
            "give the copy a name of its own (its name: field)"
        )
    return sources


@functools.cache
def _paths(cls: type) -> dict[str, Field | tuple[MappingField, str]]:
    return layout_paths(cls.LAYOUT)


def field_paths(target: Hardware) -> list[str]:
    """The dotted paths :func:`variant` takes for ``target``: every value of its kind's file
    layout (``LAYOUT``), in layout order (``clock_ghz``, ``multipliers.qk``, ...,
    ``latency_cycles.qk``: each name a mapping allows)."""
    return list(_paths(type(target)))


def field_spec(target: Hardware, path: str) -> Field | tuple[MappingField, str]:
    """The layout entry at the dotted ``path`` of ``target``'s kind (a :class:`Field`, or a
    mapping's ``(field, name)``); HardwareError (:func:`unknown_field`) for an unknown path."""
    spec = _paths(type(target)).get(path)
    if spec is None:
        raise HardwareError(unknown_field(target, path))
    return spec


def format_setting(value: Any) -> str:
    """A value as a variant's name shows it: ``256``, ``0.25``, ``true``, ``ws``; a float that is
    an integer without its ``.0`` (``32``), any other float in full (``repr``), so that two
    values never share a name."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def variant(target: Hardware, values: Mapping[str, Any]) -> Hardware:
    """``target`` with the fields at the dotted paths of ``values`` changed (a new frozen
    target, ``dataclasses.replace``), named after them: ``spatten[multipliers.qk=256,
    dram.channels=32]`` (in the order given), so that it never merges with the file's target.

    Paths are the file's (:func:`field_paths`: ``clock_ghz``, ``multipliers.qk``,
    ``dram.channels``, ``latency_cycles.qk``, ``peak_tflops.fp16``; a mapping's optional name
    may be added). Each value is checked as the file's value would be: its type, sign and range
    (the field's :class:`~prunesim.sim.hwfile.Range`), its choices, then the rules across fields
    on the values that result (a processor's ``dtype`` must have a peak); text is read as YAML
    reads a file's value (``"256"`` is 256). The source of a changed value names the variant.
    Raises :class:`HardwareError` (a ValueError), one line: an unknown path names the target,
    its kind and the closest paths (``unknown hardware field 'multipliers.qq' of spatten (kind
    accelerator); did you mean 'multipliers.qk'?``); a bad value the words of a file's message
    after the target's name instead of ``file:line`` (``spatten: multipliers.qk: must be
    between 1 and 1048576, not 0``). Empty ``values`` return ``target`` itself."""
    if not values:
        return target
    paths = _paths(type(target))
    changes: dict[str, Any] = {}
    sources = dict(target.sources)
    shown = []
    for path, value in values.items():
        spec = paths.get(path)
        if spec is None:
            raise HardwareError(unknown_field(target, path))
        try:
            checked = field_value(spec, value)
        except ValueProblem as exc:
            raise HardwareError(f"{target.name}: {path}: {exc}") from None
        if isinstance(spec, tuple):
            mapping, key = spec
            entries = changes.get(mapping.attr, getattr(target, mapping.attr))
            changes[mapping.attr] = {**entries, key: checked}
            source_key = path
        else:
            changes[spec.attr] = checked
            source_key = spec.attr
        text = format_setting(checked)
        old = sources.pop(source_key, None)
        was = f"; the file's: {old}" if old else ""
        sources[source_key] = f"a variant of {target.name}: {path}={text}{was}"
        shown.append(f"{path}={text}")
    result = dataclasses.replace(
        target, name=f"{target.name}[{','.join(shown)}]", sources=sources, **changes
    )
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    for path, spec in paths.items():
        # a field of an optional group the file leaves out is None: no rule to hold
        if isinstance(spec, Field) and spec.check is not None and fields[spec.attr] is not None:
            problem = spec.check(fields[spec.attr], fields)
            if problem is not None:
                raise HardwareError(f"{result.name}: {path}: {problem}")
    return result


def unknown_field(target: Hardware, path: str) -> str:
    """The message of a path :func:`variant` does not know for ``target``: its name, its kind
    and the closest paths of that kind."""
    known = field_paths(target)
    close = difflib.get_close_matches(path, known, n=3)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    hint = hint or f"its fields: {', '.join(known)}"
    return f"unknown hardware field {path!r} of {target.name} (kind {target.kind}); {hint}"
