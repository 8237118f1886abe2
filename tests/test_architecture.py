"""The project's import rules (docs: DESIGN.md, "Data flow"), checked on the sources.

The sources are read, never imported: every ``*.py`` under the package folders named in
pyproject.toml (``prunesim/`` and the ``[tool.setuptools.package-dir]`` entries) is parsed with
:mod:`ast`, and its module name follows from its path (``rtl/topk.py`` -> ``prunesim.rtl.topk``,
``sim/methods/__init__.py`` -> ``prunesim.sim.methods``).

Which imports count
    Every ``import``/``from ... import`` statement anywhere in a file: at module level, inside
    functions, classes, ``try`` blocks. Those under ``if TYPE_CHECKING:`` (its ``else`` branch does
    count) never run and are left out. ``importlib.import_module(name)`` with a computed name is
    invisible to a static walk; the CLI's command and report tables use it on purpose.

How a target is resolved
    ``import a.b.c`` -> ``a.b.c``. ``from a.b import c`` -> ``a.b.c`` when that is a module of the
    project (a submodule), else ``a.b`` with the imported name ``c`` kept (the private-name rule
    reads it). Relative imports are made absolute from the importing module's package (``from
    .params import x`` in ``prunesim.rtl.topk`` -> ``prunesim.rtl.params``). A ``prunesim.*`` name
    that is no module (a typo, a module being moved) resolves to its longest prefix that is one.
    Targets outside ``prunesim`` and the standard library are third-party; each module keeps them
    under their top-level name (``torch``, ``amaranth``, ``numpy``).

Re-exports
    ``from prunesim.sim import evaluate`` takes ``evaluate`` from the package, which took it from
    ``prunesim.sim.engine``: the layering rules follow such module-level re-exports to the module
    that defines the name, so a facade cannot hide a forbidden import (the message names both).

Packages executed on the way
    Importing ``a.b.c`` first runs ``a/__init__`` and ``a/b/__init__``. The transitive rule (no
    rtl module reaches torch) models that: a chain may pass through a package's ``__init__``
    (whether ``prunesim.golden.topk`` pulls in torch depends on ``prunesim.golden``'s too), and it
    follows function-level imports as well, since they run when the function is called. The cycle
    rule does NOT add these implicit edges: a package whose ``__init__`` re-exports its submodules
    would then be in a "cycle" with every submodule that imports a sibling by its absolute name
    (``prunesim.sim.methods`` <-> ``prunesim.sim.methods.aim``). Python runs that fine: the package
    is already in ``sys.modules`` and the submodule asks for a sibling module, not for a name of
    the half-initialised package. The cycles that break at import time, or make two layers one,
    are those of explicit imports, and each of those is an edge here.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections import deque
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "prunesim"

# ------------------------------------------------------------------------------------------------
# The rules, as data. A prefix names a module and everything under it ("prunesim.sim.costs" covers
# prunesim.sim.costs and prunesim.sim.costs.roofline, not prunesim.sim.costsheet).
# ------------------------------------------------------------------------------------------------

SIM = "prunesim.sim"
METHODS = ("prunesim.sim.methods", "prunesim.sim.families")
PRICING = ("prunesim.sim.costs", "prunesim.sim.hardware", "prunesim.sim.hwfile")
PRICING += ("prunesim.sim.engine", "prunesim.sim.result")
FRONT_ENDS = ("prunesim.cli", "prunesim.simcli", "prunesim.commands", "prunesim.report")
FRONT_ENDS += ("prunesim.bench", "prunesim.verif")


@dataclass(frozen=True)
class Rule:
    """Modules under ``applies_to`` may not import project modules under ``forbidden``; with
    ``only`` set, they may import no project module outside ``only``; ``no_transitive`` lists
    third-party packages that they may not reach through any chain of imports."""

    applies_to: tuple[str, ...]
    forbidden: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None
    no_transitive: tuple[str, ...] = ()


RULES: dict[str, Rule] = {
    # 1. A pruning method says what it prunes, never what it costs.
    "methods-price-no-hardware": Rule(
        applies_to=("prunesim.sim.methods",),
        forbidden=(
            "prunesim.sim.hardware",
            "prunesim.sim.engine",
            "prunesim.sim.costs",
            "prunesim.sim.compare",
            "prunesim.sim.ofa_sweep",
            "prunesim.sim.api",
            "prunesim.sim.dse",
            "prunesim.sim.names",
        ),
    ),
    # 2. Cost models and hardware price a workload record, whoever made it.
    "pricing-knows-no-methods": Rule(applies_to=PRICING, forbidden=METHODS),
    # 3. rtl sits below the simulator and the front ends, and builds without torch.
    "rtl-below-sim-and-cli": Rule(applies_to=("prunesim.rtl",), forbidden=(SIM, *FRONT_ENDS)),
    "rtl-reaches-no-torch": Rule(applies_to=("prunesim.rtl",), no_transitive=("torch",)),
    # 4. golden models stand alone (the RTL and the simulator are checked against them).
    "golden-stands-alone": Rule(applies_to=("prunesim.golden",), only=("prunesim.golden",)),
    # 5. The model zoo describes networks; it knows no method, simulator, RTL or front end.
    "models-know-no-sim": Rule(
        applies_to=("prunesim.models",),
        forbidden=(SIM, "prunesim.rtl", "prunesim.golden", *FRONT_ENDS),
    ),
}
CYCLE_RULE = "no-import-cycles"  # 6.
PRIVATE_RULE = "no-private-imports"  # 7.

# ------------------------------------------------------------------------------------------------
# The walker.
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRef:
    """One module imported by one statement (``from a import b, c`` gives one per name)."""

    path: str  # the importing file, relative to the repository root
    line: int
    module: str  # the importing module
    target: str  # the module imported: a project module, or a third-party dotted name
    name: str | None  # `from target import name`, when name is no submodule
    alias: str | None  # the name a `from ... import` binds in the importing module
    in_function: bool

    @property
    def project(self) -> bool:
        return under(self.target, PROJECT)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Project:
    """The parsed package: each module's file, its imports, and its module-level bindings."""

    paths: dict[str, str] = field(default_factory=dict)  # module -> file
    imports: dict[str, list[ImportRef]] = field(default_factory=dict)
    bindings: dict[str, dict[str, ImportRef]] = field(default_factory=dict)  # re-exports

    @property
    def modules(self) -> list[str]:
        return sorted(self.paths)

    def edges(self, module: str) -> list[ImportRef]:
        """Imports of other project modules by ``module``."""
        return [r for r in self.imports[module] if r.project and r.target != module]

    def third_party(self, module: str) -> dict[str, list[ImportRef]]:
        """Third-party imports of ``module``, by top-level package name."""
        found: dict[str, list[ImportRef]] = {}
        for ref in self.imports[module]:
            top = ref.target.partition(".")[0]
            if not ref.project and top not in sys.stdlib_module_names:
                found.setdefault(top, []).append(ref)
        return found


def under(name: str, prefix: str) -> bool:
    """Whether module ``name`` is ``prefix`` or lies inside it."""
    return name == prefix or name.startswith(prefix + ".")


def ancestors(module: str) -> list[str]:
    """The packages that importing ``module`` runs first, outermost first."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def package_dirs(root: Path = ROOT) -> dict[str, str]:
    """Package -> source folder, from pyproject.toml's ``[tool.setuptools.package-dir]``."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    return {PROJECT: PROJECT, **mapping}


def module_name(path: str, dirs: Mapping[str, str]) -> tuple[str, bool] | None:
    """``rtl/topk.py`` -> ``("prunesim.rtl.topk", False)``, ``sim/__init__.py`` ->
    ``("prunesim.sim", True)``; None for a file outside every package folder."""
    parts = PurePosixPath(path).with_suffix("").parts
    best: tuple[str, tuple[str, ...]] | None = None
    for package, folder in dirs.items():
        prefix = PurePosixPath(folder).parts
        if parts[: len(prefix)] == prefix and (best is None or len(prefix) > len(best[1])):
            best = (package, prefix)
    if best is None:
        return None
    rest = list(parts[len(best[1]) :])
    is_package = rest[-1] == "__init__"
    if is_package:
        rest.pop()
    return ".".join([best[0], *rest]), is_package


def source_files(root: Path = ROOT) -> dict[str, str]:
    """Repository-relative path -> text of every Python file in the package folders."""
    files = {}
    for folder in set(package_dirs(root).values()):
        for file in (root / folder).rglob("*.py"):
            if "__pycache__" not in file.parts:
                files[file.relative_to(root).as_posix()] = file.read_text(encoding="utf-8")
    return files


def is_type_checking(test: ast.expr) -> bool:
    """Whether an ``if`` tests ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_statements(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of ``tree`` that can run, and whether it is inside a function.

    Imports are statements, so only statement blocks are walked (bodies, ``else``/``finally``
    blocks, ``except`` handlers, ``match`` cases), never expressions: a tenth of the nodes."""
    blocks = (ast.stmt, ast.excepthandler, ast.match_case)
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
            continue
        if isinstance(node, ast.If) and is_type_checking(node.test):
            lists: list[list] = [node.orelse]
        else:
            lists = [value for _, value in ast.iter_fields(node) if isinstance(value, list)]
        inside = in_function or isinstance(node, functions)
        stack.extend(
            (child, inside) for nodes in lists for child in nodes if isinstance(child, blocks)
        )


def resolve(name: str, modules: Container[str]) -> str:
    """A ``prunesim.*`` name's longest prefix that is a project module (the name itself when
    none is); any other name unchanged."""
    if not under(name, PROJECT):
        return name
    candidate = name
    while candidate not in modules and "." in candidate:
        candidate = candidate.rpartition(".")[0]
    return candidate if candidate in modules else name


def collect_imports(
    tree: ast.AST, module: str, is_package: bool, path: str, modules: Container[str]
) -> list[ImportRef]:
    """The resolved imports of one parsed file, sorted by line."""
    package = module if is_package else module.rpartition(".")[0]
    refs = []
    for node, in_function in import_statements(tree):
        here = dict(path=path, line=node.lineno, module=module, in_function=in_function)
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = resolve(alias.name, modules)
                refs.append(ImportRef(target=target, name=None, alias=None, **here))
            continue
        base = node.module or ""
        if node.level:
            anchor = package
            for _ in range(node.level - 1):
                anchor = anchor.rpartition(".")[0]
            base = f"{anchor}.{base}" if base else anchor
        for alias in node.names:
            bound = alias.asname or alias.name
            if f"{base}.{alias.name}" in modules:
                target, name = f"{base}.{alias.name}", None
            else:
                target, name = resolve(base, modules), alias.name
            refs.append(ImportRef(target=target, name=name, alias=bound, **here))
    return sorted(refs, key=lambda r: (r.line, r.target, r.name or ""))


def build_project(files: Mapping[str, str], dirs: Mapping[str, str]) -> Project:
    """Parse ``files`` (path -> source text) into a :class:`Project`."""
    named = {}
    for path, text in files.items():
        found = module_name(path, dirs)
        if found is not None:
            named[found[0]] = (path, found[1], text)
    project = Project()
    for module, (path, is_package, text) in sorted(named.items()):
        tree = ast.parse(text, filename=path)
        refs = collect_imports(tree, module, is_package, path, named)
        project.paths[module] = path
        project.imports[module] = refs
        project.bindings[module] = {r.alias: r for r in refs if r.alias and not r.in_function}
    return project


def origin(project: Project, ref: ImportRef) -> str:
    """The module that defines what ``ref`` imports, following module-level re-exports
    (``from prunesim.sim import evaluate`` -> ``prunesim.sim.engine``)."""
    seen = set()
    while ref.name is not None and ref not in seen:
        seen.add(ref)
        bound = project.bindings.get(ref.target, {}).get(ref.name)
        if bound is None:
            break
        ref = bound
    return ref.target


@cache
def the_project() -> Project:
    """The repository's own package, parsed once per test session."""
    dirs = package_dirs()
    return build_project(source_files(), dirs)


# ------------------------------------------------------------------------------------------------
# The checks: each returns every offence as "path:line: module imports target (rule)".
# ------------------------------------------------------------------------------------------------


def offence(where: str, module: str, target: str, rule: str, note: str = "") -> str:
    """One offence, as ``path:line: module imports target (rule)`` and an optional note."""
    return f"{where}: {module} imports {target} ({rule}){note}"


def layer_offences(project: Project, rule_name: str, rule: Rule) -> list[str]:
    """Direct imports (or re-exports reached through one) that ``rule`` refuses."""

    def refused(target: str) -> bool:
        if any(under(target, prefix) for prefix in rule.forbidden):
            return True
        return rule.only is not None and not any(under(target, p) for p in rule.only)

    found = []
    for module in project.modules:
        if not any(under(module, prefix) for prefix in rule.applies_to):
            continue
        for ref in project.edges(module):
            source = origin(project, ref)
            if refused(ref.target):
                found.append(offence(ref.where, ref.module, ref.target, rule_name))
            elif under(source, PROJECT) and refused(source):
                note = f" through {ref.target}.{ref.name}"
                found.append(offence(ref.where, ref.module, source, rule_name, note))
    return found


def transitive_offences(project: Project, rule_name: str, rule: Rule) -> list[str]:
    """Modules of ``rule.applies_to`` that reach a package of ``rule.no_transitive`` through
    any chain of imports, packages run on the way included; the shortest chain is shown."""
    found = []
    for start in project.modules:
        if not any(under(start, prefix) for prefix in rule.applies_to):
            continue
        # how each module was reached: (importer, statement, package run on the way?)
        came: dict[str, tuple[str, ImportRef | None, bool]] = {}
        for package in ancestors(start):
            came[package] = (start, None, True)
        queue = deque(m for m in [*ancestors(start), start] if m in project.imports)
        reached: dict[str, tuple[str, ImportRef]] = {}
        while queue:
            module = queue.popleft()
            for top, refs in project.third_party(module).items():
                if top in rule.no_transitive and top not in reached:
                    reached[top] = (module, refs[0])
            for ref in project.edges(module):
                for step in [*ancestors(ref.target), ref.target]:
                    if step not in came and step != start and step in project.imports:
                        came[step] = (module, ref, step != ref.target)
                        queue.append(step)
        for top, (module, last) in sorted(reached.items()):
            links: list[tuple[str, ImportRef | None]] = []  # from the reached module back
            while module != start:
                importer, ref, on_the_way = came[module]
                if ref is None:
                    links.append((f"{module} (package of {start}, runs first)", None))
                elif on_the_way:
                    links.append((f"{module} (its __init__, run by {ref.where})", ref))
                else:
                    links.append((f"{module} ({ref.where})", ref))
                module = importer
            links.reverse()
            chain = " -> ".join([start, *(text for text, _ in links), f"{top} ({last.where})"])
            first = next((ref for _, ref in links if ref is not None), last)
            found.append(offence(first.where, start, top, rule_name, f" via {chain}"))
    return found


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph`` (node -> successors), iteratively;
    each component sorted, components in the order they complete."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> Iterator[str]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return iter(sorted(graph.get(node, ())))

    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, visit(root))]
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    work.append((successor, visit(successor)))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def shortest_cycle(graph: Mapping[str, Iterable[str]], start: str, within: set[str]) -> list[str]:
    """A shortest cycle through ``start`` inside ``within``, as its nodes (start repeated)."""
    came = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph.get(node, ())):
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return [*reversed(path), start]
            if successor in within and successor not in came:
                came[successor] = node
                queue.append(successor)
    return [start]


def cycle_offences(project: Project) -> list[str]:
    """Each import cycle: its modules, a shortest loop, and every edge between its modules."""
    graph = {m: {r.target for r in project.edges(m)} for m in project.modules}
    found = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        members = set(component)
        loop = " -> ".join(shortest_cycle(graph, component[0], members))
        lines = [f"cycle of {len(component)} modules ({loop}), edges:"]
        seen = set()
        for module in component:
            for ref in project.edges(module):
                if ref.target in members and (ref.where, ref.target) not in seen:
                    seen.add((ref.where, ref.target))
                    lines.append("  " + offence(ref.where, ref.module, ref.target, CYCLE_RULE))
        found.append("\n".join(lines))
    return found


def private_offences(project: Project) -> list[str]:
    """``from prunesim.x import _name`` where ``_name`` is no submodule (dunders are public)."""
    found = []
    for module in project.modules:
        for ref in project.edges(module):
            name = ref.name
            if (
                name
                and name.startswith("_")
                and not (name.startswith("__") and name.endswith("__"))
            ):
                found.append(offence(ref.where, ref.module, f"{ref.target}.{name}", PRIVATE_RULE))
    return found


def fail_on(offences: list[str], what: str) -> None:
    """Fail the test with every offence, one a line."""
    if offences:
        pytest.fail(f"{len(offences)} {what}:\n" + "\n".join(offences), pytrace=False)


# ------------------------------------------------------------------------------------------------
# The rules on the repository.
# ------------------------------------------------------------------------------------------------


def test_methods_price_no_hardware():
    name = "methods-price-no-hardware"
    fail_on(layer_offences(the_project(), name, RULES[name]), "imports break " + name)


def test_pricing_knows_no_methods():
    name = "pricing-knows-no-methods"
    fail_on(layer_offences(the_project(), name, RULES[name]), "imports break " + name)


def test_rtl_below_sim_and_cli():
    name = "rtl-below-sim-and-cli"
    fail_on(layer_offences(the_project(), name, RULES[name]), "imports break " + name)


def test_rtl_reaches_no_torch():
    name = "rtl-reaches-no-torch"
    fail_on(transitive_offences(the_project(), name, RULES[name]), "rtl modules reach torch")


def test_golden_stands_alone():
    name = "golden-stands-alone"
    fail_on(layer_offences(the_project(), name, RULES[name]), "imports break " + name)


def test_models_know_no_sim():
    name = "models-know-no-sim"
    fail_on(layer_offences(the_project(), name, RULES[name]), "imports break " + name)


def test_no_import_cycles():
    fail_on(cycle_offences(the_project()), "import cycles")


def test_no_private_imports():
    fail_on(private_offences(the_project()), "imports of private names")


# ------------------------------------------------------------------------------------------------
# The walker finds what it must, and every rule can fail.
# ------------------------------------------------------------------------------------------------

DIRS = {"prunesim": "prunesim", "prunesim.rtl": "rtl", "prunesim.sim": "sim"}
DIRS |= {"prunesim.golden": "golden", "prunesim.models": "models"}


def synthetic(files: Mapping[str, str]) -> Project:
    """A project of the given files (path -> source), every package folder given an __init__."""
    full = dict(files)
    for path in files:
        for parent in PurePosixPath(path).parents:
            if parent.parts:
                full.setdefault(f"{parent}/__init__.py", "")
    return build_project(full, DIRS)


def test_walker_finds_the_package():
    project = the_project()
    assert len(project.modules) >= 60, project.modules
    for module in ("prunesim", "prunesim.cli", "prunesim.rtl", "prunesim.sim.api", "prunesim.sim"):
        assert module in project.modules
    assert project.paths["prunesim.sim.methods"] == "sim/methods/__init__.py"
    assert len(project.edges("prunesim.sim.api")) >= 3
    assert {"amaranth"} <= set(project.third_party("prunesim.rtl.topk"))
    assert "torch" in project.third_party("prunesim.golden.topk")
    topk = project.imports["prunesim.rtl.topk"]
    assert any(r.target == "prunesim.rtl.params" and r.name == "check_int" for r in topk), topk
    for name, rule in RULES.items():  # no rule applies to nothing
        assert any(under(m, p) for m in project.modules for p in rule.applies_to), name


def test_module_names_follow_the_package_dirs():
    assert module_name("prunesim/cli.py", DIRS) == ("prunesim.cli", False)
    assert module_name("rtl/topk.py", DIRS) == ("prunesim.rtl.topk", False)
    assert module_name("sim/methods/aim.py", DIRS) == ("prunesim.sim.methods.aim", False)
    assert module_name("sim/__init__.py", DIRS) == ("prunesim.sim", True)
    assert module_name("prunesim/__init__.py", DIRS) == ("prunesim", True)
    assert module_name("tests/test_cli.py", DIRS) is None
    assert package_dirs()["prunesim.rtl"] == "rtl"


def test_walker_collects_and_resolves_every_kind_of_import():
    project = synthetic(
        {
            "sim/methods/a.py": (
                "from typing import TYPE_CHECKING\n"
                "import numpy.linalg\n"
                "from prunesim.sim.methods import b\n"
                "from . import b as bee, helper\n"
                "from ..engine import evaluate\n"
                "if TYPE_CHECKING:\n"
                "    from prunesim.sim.hardware import Hardware\n"
                "else:\n"
                "    import json\n"
                "def f():\n"
                "    import prunesim.sim.engine\n"
                "    from prunesim.sim.methods.b import _x\n"
            ),
            "sim/methods/b.py": "",
            "sim/engine.py": "",
            "sim/hardware.py": "",
        }
    )
    refs = {
        (r.line, r.target, r.name, r.in_function) for r in project.imports["prunesim.sim.methods.a"]
    }
    assert refs == {
        (1, "typing", "TYPE_CHECKING", False),
        (2, "numpy.linalg", None, False),
        (3, "prunesim.sim.methods.b", None, False),
        (4, "prunesim.sim.methods.b", None, False),
        (4, "prunesim.sim.methods", "helper", False),
        (5, "prunesim.sim.engine", "evaluate", False),
        (9, "json", None, False),
        (11, "prunesim.sim.engine", None, True),
        (12, "prunesim.sim.methods.b", "_x", True),
    }
    assert set(project.third_party("prunesim.sim.methods.a")) == {"numpy"}


def test_synthetic_function_level_import_is_an_edge():
    project = synthetic(
        {"rtl/x.py": "def f():\n    from prunesim.sim import api\n", "sim/api.py": ""}
    )
    (ref,) = project.edges("prunesim.rtl.x")
    assert (ref.where, ref.target, ref.in_function) == ("rtl/x.py:2", "prunesim.sim.api", True)
    name = "rtl-below-sim-and-cli"
    assert layer_offences(project, name, RULES[name]) == [
        "rtl/x.py:2: prunesim.rtl.x imports prunesim.sim.api (rtl-below-sim-and-cli)"
    ]


def test_layer_rules_can_fail():
    project = synthetic(
        {
            "sim/methods/m.py": "from prunesim.sim import evaluate\nimport prunesim.sim.costs.x\n",
            "sim/__init__.py": "from prunesim.sim.engine import evaluate\n",
            "sim/engine.py": "from prunesim.sim.methods import m\n",
            "sim/costs/x.py": "from prunesim.sim.families.bert import Family\n",
            "sim/families/bert.py": "",
            "golden/g.py": "import torch\nfrom prunesim import __version__\nfrom . import h\n",
            "golden/h.py": "",
            "models/z.py": "from prunesim.golden.g import f\nfrom prunesim.models import y\n",
            "models/y.py": "",
        }
    )
    found = {name: layer_offences(project, name, rule) for name, rule in RULES.items()}
    assert found == {
        "methods-price-no-hardware": [
            "sim/methods/m.py:1: prunesim.sim.methods.m imports prunesim.sim.engine"
            " (methods-price-no-hardware) through prunesim.sim.evaluate",
            "sim/methods/m.py:2: prunesim.sim.methods.m imports prunesim.sim.costs.x"
            " (methods-price-no-hardware)",
        ],
        "pricing-knows-no-methods": [
            "sim/costs/x.py:1: prunesim.sim.costs.x imports prunesim.sim.families.bert"
            " (pricing-knows-no-methods)",
            "sim/engine.py:1: prunesim.sim.engine imports prunesim.sim.methods.m"
            " (pricing-knows-no-methods)",
        ],
        "rtl-below-sim-and-cli": [],
        "rtl-reaches-no-torch": [],
        "golden-stands-alone": [
            "golden/g.py:2: prunesim.golden.g imports prunesim (golden-stands-alone)"
        ],
        "models-know-no-sim": [
            "models/z.py:1: prunesim.models.z imports prunesim.golden.g (models-know-no-sim)"
        ],
    }


def test_torch_rule_follows_chains_and_packages_run_on_the_way():
    name = "rtl-reaches-no-torch"
    project = synthetic(
        {
            "rtl/a.py": "from .b import x\n",
            "rtl/b.py": "def f():\n    from prunesim.golden.g import y\n",
            "golden/__init__.py": "import torch.nn\n",
            "golden/g.py": "",
            "rtl/c.py": "import amaranth\n",
        }
    )
    assert transitive_offences(project, name, RULES[name]) == [
        "rtl/a.py:1: prunesim.rtl.a imports torch (rtl-reaches-no-torch) via prunesim.rtl.a"
        " -> prunesim.rtl.b (rtl/a.py:1) -> prunesim.golden (its __init__, run by rtl/b.py:2)"
        " -> torch (golden/__init__.py:1)",
        "rtl/b.py:2: prunesim.rtl.b imports torch (rtl-reaches-no-torch) via prunesim.rtl.b"
        " -> prunesim.golden (its __init__, run by rtl/b.py:2) -> torch (golden/__init__.py:1)",
    ]
    project = synthetic({"rtl/__init__.py": "import torch\n", "rtl/a.py": ""})
    assert transitive_offences(project, name, RULES[name]) == [
        "rtl/__init__.py:1: prunesim.rtl imports torch (rtl-reaches-no-torch) via prunesim.rtl"
        " -> torch (rtl/__init__.py:1)",
        "rtl/__init__.py:1: prunesim.rtl.a imports torch (rtl-reaches-no-torch) via prunesim.rtl.a"
        " -> prunesim.rtl (package of prunesim.rtl.a, runs first) -> torch (rtl/__init__.py:1)",
    ]


def test_cycle_finder():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "a"}, "f": {"g"}}
    components = sorted(strongly_connected(graph))
    assert components == [["a", "b", "c"], ["d"], ["e"], ["f"], ["g"]]
    assert shortest_cycle(graph, "a", {"a", "b", "c"}) == ["a", "b", "c", "a"]
    chain = {str(i): {str(i + 1)} for i in range(5000)} | {"5000": {"0"}}  # deep: no recursion
    assert [len(c) for c in strongly_connected(chain)] == [5001]


def test_cycle_rule_can_fail_and_ignores_packages_run_on_the_way():
    project = synthetic(
        {
            "prunesim/cli.py": "def main():\n    from prunesim.simcli import add\n",
            "prunesim/simcli.py": "from prunesim.cli import CLIError, main\n",
            "sim/__init__.py": "from prunesim.sim.api import simulate\n",
            "sim/api.py": "from prunesim.sim.workload import Workload\n",
            "sim/workload.py": "",
        }
    )
    assert cycle_offences(project) == [
        "cycle of 2 modules (prunesim.cli -> prunesim.simcli -> prunesim.cli), edges:\n"
        "  prunesim/cli.py:2: prunesim.cli imports prunesim.simcli (no-import-cycles)\n"
        "  prunesim/simcli.py:1: prunesim.simcli imports prunesim.cli (no-import-cycles)"
    ]


def test_private_rule_can_fail():
    project = synthetic(
        {
            "prunesim/cli.py": "_x = 1\n",
            "prunesim/b.py": (
                "from prunesim.cli import _x, __version__, public\n"
                "from prunesim import _private_module\n"
                "def f():\n"
                "    from .cli import _y as y\n"
            ),
            "prunesim/_private_module.py": "import os._internal\n",
        }
    )
    assert private_offences(project) == [
        "prunesim/b.py:1: prunesim.b imports prunesim.cli._x (no-private-imports)",
        "prunesim/b.py:4: prunesim.b imports prunesim.cli._y (no-private-imports)",
    ]
