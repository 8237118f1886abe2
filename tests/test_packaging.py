"""Installation and toolchain: one import namespace, and both simulators present.

The import checks run in a fresh interpreter (``python -I``, from an empty folder) so that the
repository root, which pytest may put on ``sys.path``, does not hide what the installation exposes.
They hold for an editable install (``pip install -e .``) and for a wheel install alike.
"""

import json
import os
import subprocess
import sys

import pytest

import prunesim
from prunesim import toolchain

SUBPACKAGES = {
    "prunesim.rtl": "rtl",
    "prunesim.golden": "golden",
    "prunesim.sim": "sim",
    "prunesim.models": "models",
    "prunesim.verif": "verif",
    "prunesim.bench": "bench",
}
GENERIC_NAMES = ("rtl", "golden", "sim", "models", "tests", "verif", "bench")


def run_isolated(code: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def installed_distribution(tmp_path) -> dict:
    """Version, top_level.txt and file list of the installed ``prunesim`` distribution.

    Read from an isolated interpreter: pytest's working folder (the repository root, which holds
    the ``prunesim.egg-info`` that an editable install leaves) would otherwise shadow it.
    """
    code = """
import importlib.metadata, json
dist = importlib.metadata.distribution("prunesim")
print(json.dumps({
    "version": dist.version,
    "top_level": dist.read_text("top_level.txt"),
    "files": [list(file.parts) for file in dist.files or []],
}))
"""
    result = run_isolated(code, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_version_matches_metadata(tmp_path):
    assert installed_distribution(tmp_path)["version"] == prunesim.__version__


def test_distribution_installs_only_prunesim(tmp_path):
    dist = installed_distribution(tmp_path)
    if dist["top_level"] is not None:
        assert dist["top_level"].split() == ["prunesim"]
    assert dist["files"], "the prunesim distribution lists no files"
    outside = []
    for parts in dist["files"]:
        first = parts[-1] if parts[0] == "__pycache__" else parts[0]
        if first == "..":  # console scripts, installed next to the interpreter
            continue
        if first == "prunesim" or first.startswith("prunesim-"):  # package, dist-info
            continue
        if first.startswith("__editable__") and "prunesim" in first:  # editable finder, .pth
            continue
        outside.append("/".join(parts))
    assert outside == [], f"installed outside the prunesim namespace: {outside}"


def test_no_generic_top_level_packages(tmp_path):
    code = f"""
import importlib.util, json, pathlib, prunesim
root = pathlib.Path(prunesim.__file__).resolve().parent.parent
leaks = {{}}
for name in {GENERIC_NAMES!r}:
    spec = importlib.util.find_spec(name)
    if spec is None:
        continue
    places = [spec.origin or "", *(spec.submodule_search_locations or [])]
    if any(p and pathlib.Path(p).resolve().is_relative_to(root / name) for p in places):
        leaks[name] = places
print(json.dumps(leaks))
"""
    result = run_isolated(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}, "generic names importable from the project"


def test_subpackages_map_to_their_folders(tmp_path):
    code = f"""
import importlib, json, pathlib
found = {{}}
for name in {sorted(SUBPACKAGES)!r}:
    module = importlib.import_module(name)
    found[name] = pathlib.Path(list(module.__path__)[0]).name
print(json.dumps(found))
"""
    result = run_isolated(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == SUBPACKAGES


def test_console_script(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "prunesim")
    result = subprocess.run([script, "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"prunesim {prunesim.__version__}"


# Toolchain: the simulators must be there; a missing one is an error, never a skip.


@pytest.mark.parametrize("name", toolchain.SIMULATORS)
def test_simulator_present(name):
    info = toolchain.require_simulator(name)
    assert info.name == name
    assert os.path.isfile(info.executable)


def test_verilator_recent_enough():
    version = toolchain.require_simulator("verilator").version
    major, minor = (int(part) for part in version.split("."))
    assert (major, minor) >= toolchain.MIN_VERILATOR_VERSION


def test_verilator_env():
    root = toolchain.verilator_root()
    env = toolchain.verilator_env({"PATH": f"/usr/bin{os.pathsep}{root / 'bin'}"})
    assert env["VERILATOR_ROOT"] == str(root)
    assert env["PATH"].split(os.pathsep) == [str(root / "bin"), "/usr/bin"]
    assert os.access(root / "bin" / "verilator", os.X_OK)


def test_toolchain_shell(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "prunesim.toolchain", "--shell"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("=")[0] for line in lines] == ["export PATH", "export VERILATOR_ROOT"]
    check = subprocess.run(
        ["sh", "-c", f"{result.stdout}\nverilator --version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr


def test_missing_icarus_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(toolchain.ToolchainError) as excinfo:
        toolchain.require_simulator("icarus")
    message = str(excinfo.value)
    assert "\n" not in message
    assert "apt-get install -y iverilog" in message


def test_missing_build_tools_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(toolchain.ToolchainError, match="apt-get install -y g\\+\\+ make"):
        toolchain.require_simulator("verilator")


def test_unknown_simulator():
    with pytest.raises(ValueError, match="unknown simulator 'modelsim'"):
        toolchain.require_simulator("modelsim")


def test_every_package_folder_is_listed_in_pyproject():
    # The wheel holds only the packages that pyproject.toml lists (an editable install maps whole
    # folders, so it would not notice a forgotten subpackage).
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {"prunesim": "prunesim", **config["package-dir"]}
    found = set()
    for package, folder in folders.items():
        for init in (root / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(root / folder).parts
            if "__pycache__" not in relative:
                found.add(".".join([package, *relative]))
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"


def test_wheel_ships_the_hardware_presets(tmp_path):
    # The hardware presets are data files (sim/hardware/*.yaml), shipped as package data: an
    # editable install reads them from the checkout, so only a wheel shows a forgotten entry.
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("prunesim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    presets = sorted(path.name for path in (root / "sim" / "hardware").glob("*.yaml"))
    assert presets
    for preset in presets:
        assert f"prunesim/sim/hardware/{preset}" in names
