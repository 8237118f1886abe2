"""Running a function over chunks of work: in this process, on local processes, or on a Dask
cluster (``prunesim.sim.distribute``).

:func:`map_chunks` is the one place prunesim hands work to Dask (``dask[distributed]``): a sweep
(:func:`prunesim.sim.sweep`) splits its points into chunks of plain picklable data and maps a
module-level function over them. Schedulers (:func:`check_scheduler` reads their names):

* ``None`` or ``"local"``: one chunk after another in this process (no Dask).
* ``"processes"``: a :class:`distributed.LocalCluster` of ``workers`` single-threaded worker
  processes on this machine (default: one per CPU core), started for the call and stopped after.
  Dask starts them by spawning, which imports the caller's main module again in each: a script
  that calls this must guard its top level with ``if __name__ == "__main__":`` (the
  ``prunesim`` command does).
* ``"tcp://HOST:PORT"`` (or ``tls://``, ``ws://``, ``wss://``, ``inproc://``, ``ucx://``): an
  existing Dask scheduler, e.g. one started with ``dask scheduler`` and fed by ``dask worker``
  processes that can import prunesim (the same version); the connection is closed after the
  call, the cluster is left running. ``workers`` must be None there (the cluster has its own).

Each chunk is one Dask task; results come back in the order of the chunks whatever the order in
which they finish. ``on_done(index, result)`` is called in this process as each chunk finishes
(a progress bar's hook). An exception raised by the function on a worker is raised here; an
interrupt (Ctrl-C) cancels the remaining tasks and stops a local cluster before it propagates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["ADDRESS_SCHEMES", "CONNECT_TIMEOUT_S", "check_scheduler", "map_chunks"]

T = TypeVar("T")
R = TypeVar("R")

#: The address schemes of a Dask scheduler that ``scheduler`` may name.
ADDRESS_SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "inproc://", "ucx://")
#: Seconds to wait for an existing scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 10


def check_scheduler(scheduler: str | None, workers: int | None = None) -> str | None:
    """``scheduler`` as :func:`map_chunks` takes it (``None``, ``"local"``, ``"processes"`` or an
    address with a scheme of :data:`ADDRESS_SCHEMES`); ValueError naming a bad one, or a
    ``workers`` count that is not a positive integer or is given with an address."""
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, not {workers!r}")
    if scheduler is None or scheduler in ("local", "processes"):
        return scheduler
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be a name or an address, not {type(scheduler).__name__}")
    if scheduler.startswith(ADDRESS_SCHEMES) and len(scheduler) > scheduler.index("://") + 3:
        if workers is not None:
            raise ValueError(
                f"workers applies to local schedulers; the cluster at {scheduler} has its own"
            )
        return scheduler
    raise ValueError(
        f"scheduler must be local, processes or a Dask scheduler address such as "
        f"tcp://HOST:8786, not {scheduler!r}"
    )


def map_chunks(
    function: Callable[[T], R],
    chunks: Sequence[T],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    on_done: Callable[[int, R], None] | None = None,
) -> list[R]:
    """``[function(chunk) for chunk in chunks]`` on ``scheduler`` (module docstring).

    ``function`` must be importable by name on the workers (a module-level function of
    prunesim) and ``chunks`` picklable. ValueError for a bad ``scheduler``/``workers``
    (:func:`check_scheduler`) or an address that does not answer within
    :data:`CONNECT_TIMEOUT_S` seconds (the message names the address).
    """
    scheduler = check_scheduler(scheduler, workers)
    if scheduler in (None, "local"):
        results = []
        for index, chunk in enumerate(chunks):
            result = function(chunk)
            if on_done is not None:
                on_done(index, result)
            results.append(result)
        return results
    if not chunks:
        return []
    from distributed import Client, LocalCluster

    if scheduler == "processes":
        count = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=min(count, len(chunks)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # logging.ERROR: no worker chatter on the user's terminal
        )
        try:
            with Client(cluster) as client:
                return _gather(client, function, chunks, on_done)
        finally:
            cluster.close()
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        return _gather(client, function, chunks, on_done)


def _gather(
    client: Any,
    function: Callable[[T], R],
    chunks: Sequence[T],
    on_done: Callable[[int, R], None] | None,
) -> list[R]:
    """Submit one task per chunk, collect the results in chunk order as they finish."""
    from distributed import as_completed

    futures = [client.submit(function, chunk, pure=False) for chunk in chunks]
    index_of = {future.key: index for index, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    try:
        for future in as_completed(futures):
            index = index_of[future.key]
            results[index] = future.result()
            if on_done is not None:
                on_done(index, results[index])
    except BaseException:
        client.cancel(futures)
        raise
    return results
