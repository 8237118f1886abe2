"""``prunesim.sim.distribute.map_chunks``: in process, on local processes, and on a Dask cluster
started here from the ``dask scheduler`` / ``dask worker`` commands (stopped at the end)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prunesim.sim.distribute import check_scheduler, map_chunks

DASK = Path(sys.executable).with_name("dask")
CHUNKS = [[1.0, 2.0], [3.0], [], [4.0, 5.0, 6.0], [7.0]]


@pytest.mark.parametrize(
    "scheduler, workers, message",
    [
        ("threads", None, "scheduler must be local, processes or a Dask scheduler address"),
        ("tcp://", None, "not 'tcp://'"),
        ("processes", 0, "workers must be a positive integer, not 0"),
        ("local", True, "workers must be a positive integer, not True"),
        ("tcp://127.0.0.1:1", 2, "the cluster at tcp://127.0.0.1:1 has its own"),
    ],
)
def test_bad_schedulers_are_named(scheduler, workers, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_scheduler(scheduler, workers)


def test_good_schedulers_pass():
    assert check_scheduler(None) is None
    assert check_scheduler("local") == "local"
    assert check_scheduler("processes", 2) == "processes"
    assert check_scheduler("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"


def test_local_runs_in_order_and_reports_each_chunk():
    done = []
    results = map_chunks(sum, CHUNKS, on_done=lambda index, result: done.append((index, result)))
    assert results == [3.0, 3.0, 0, 15.0, 7.0]
    assert done == list(enumerate(results))


def test_an_address_that_does_not_answer_is_one_error(monkeypatch):
    monkeypatch.setattr("prunesim.sim.distribute.CONNECT_TIMEOUT_S", 2)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        map_chunks(sum, CHUNKS, scheduler="tcp://127.0.0.1:9")
    assert time.perf_counter() - started < 30


def test_processes_equal_local():
    done = []
    results = map_chunks(
        sum, CHUNKS, scheduler="processes", workers=2, on_done=lambda i, r: done.append(i)
    )
    assert results == map_chunks(sum, CHUNKS)
    assert sorted(done) == list(range(len(CHUNKS)))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers on localhost, from the dask commands; yields
    the scheduler's address and stops all three."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", info],
            **quiet,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.exists(), "dask scheduler did not start within 60 s"
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [DASK, "worker", "--scheduler-file", info, "--nthreads", "1"]
                    + ["--no-dashboard", "--local-directory", folder],
                    **quiet,
                )
            )
        address = json.loads(info.read_text())["address"]
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            workers = client.scheduler_info()["workers"]
        yield address, workers
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_an_existing_cluster_runs_the_chunks_on_its_workers(cluster):
    address, workers = cluster
    assert len(workers) == 2
    done = []
    results = map_chunks(
        sum, CHUNKS, scheduler=address, on_done=lambda index, result: done.append(index)
    )
    assert results == map_chunks(sum, CHUNKS)
    assert sorted(done) == list(range(len(CHUNKS)))


def test_a_failing_chunk_raises_here(cluster):
    address, _ = cluster
    with pytest.raises(TypeError):
        map_chunks(sum, [[1], ["a"]], scheduler=address)


SWEEP = {
    "model": ["bert-base", "gpt2-small"],
    "method": ["spatten", "dense"],
    "hardware": ["spatten", "a100"],
    "grid": {"hw.dram.channels": [8, 16], "spatten.token_keep": [0.5, 0.8]},
}


def _sweep(**where):
    from prunesim.sim import sweep

    return sweep(SWEEP["model"], SWEEP["method"], SWEEP["hardware"], grid=SWEEP["grid"], **where)


def test_a_sweep_on_the_cluster_equals_the_sweep_in_process(cluster):
    address, _ = cluster
    here = _sweep()
    there = _sweep(scheduler=address)
    # per model: spatten on spatten 2 channels x 2 keeps, on a100 (no dram.channels) 2 keeps;
    # dense (no token_keep) 2 channels on spatten, 1 point on a100
    assert len(here) == 2 * (4 + 2 + 2 + 1)
    assert here["cycles"].notna().all()
    assert list(there.columns) == list(here.columns)
    assert there.equals(here)


def test_a_sweep_on_local_processes_equals_the_sweep_in_process():
    finished = []
    there = _sweep(scheduler="processes", workers=2, progress=finished.append)
    assert there.equals(_sweep())
    assert sum(finished) == len(there)


def test_a_sweep_refuses_a_bad_scheduler_before_work():
    with pytest.raises(ValueError, match="scheduler must be local, processes"):
        _sweep(scheduler="threads")


def test_a_value_a_method_refuses_while_building_is_named_by_the_worker():
    # on other processes the client does not build the workloads (they would be built twice);
    # the worker that builds it raises the same one-line error as the in-process check
    from prunesim.sim import sweep

    message = r"^bert-base spatten \(summarize 128 tokens, token_keep=0.1\): keep ratio 0.1"
    grid = {"token_keep": [0.5, 0.1]}
    with pytest.raises(ValueError, match=message) as here:
        sweep("bert-base", "spatten", "spatten", grid=grid)
    with pytest.raises(ValueError, match=message) as there:
        sweep("bert-base", "spatten", "spatten", grid=grid, scheduler="processes", workers=1)
    assert str(there.value) == str(here.value)
