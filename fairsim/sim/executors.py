"""Executors of the batch runner: sequential, local process pool, Dask.

Every executor runs chunks of ``(design_point, replication)`` tasks through the same function
(:func:`fairsim.sim.runner.run_one`) with the same seeds, so the tables do not depend on the
executor (DESIGN.md "Seeds"). Workers are long-lived: the design points are sent once per worker
(process-pool initializer; a Dask broadcast), and numba compiles (or loads its cache) once per
worker process. Results come back per chunk as they complete, in any order; the runner sorts.

* ``"sequential"``: in this process, yielding after every task (so an interruption loses nothing).
* ``"local"``: ``concurrent.futures.ProcessPoolExecutor`` with ``workers`` processes (start method:
  :func:`mp_context`).
* ``"dask"``: ``dask.distributed``; a ``LocalCluster`` of ``workers`` single-threaded worker
  processes, or an existing scheduler at ``address`` (``tcp://host:port``). Optional extra:
  ``pip install 'fairsim[dask]'``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fairsim import registry
from fairsim.errors import FairsimError, InputError

EXECUTORS = ("sequential", "local", "dask")

Task = tuple[int, int]
TaskResult = tuple[int, int, list, list]
"""``(design_point, replication, result rows, round rows)``."""

# Worker side: the design points live in a module global (set once per worker process).
_STATE: dict[str, Any] = {}


def init_worker(points: dict[int, Any], root_seed: int, base_dir: str | None) -> None:
    """Install the design points, root seed and data folder in this worker process."""
    _STATE["points"] = points
    _STATE["root"] = root_seed
    _STATE["base_dir"] = base_dir


def run_chunk(chunk: Sequence[Task]) -> list[TaskResult]:
    """Run consecutive tasks with the state of :func:`init_worker`."""
    from fairsim.sim import runner

    points = _STATE["points"]
    out = []
    for dp, rep in chunk:
        rows, rounds = runner.run_one(points[dp], dp, rep, _STATE["root"], _STATE["base_dir"])
        out.append((dp, rep, rows, rounds))
    return out


def _dask_run_chunk(
    points: dict[int, Any], root: int, base_dir: str | None, chunk: Sequence[Task]
) -> list[TaskResult]:
    init_worker(points, root, base_dir)
    return run_chunk(chunk)


def mp_context() -> Any:
    """``forkserver`` where available (POSIX), else ``spawn`` [F].

    Plain ``fork`` is unsafe here: numba's OpenMP threading layer (and torch) abort a forked child
    of a process that already ran parallel code. Mesa's ``batchrunner`` (imported by
    ``import mesa``) also forces the global start method to ``spawn``, so the context is always
    chosen explicitly. The fork server preloads fairsim's simulation and registry modules once;
    each worker forks from it already initialised. As with ``spawn``, a script that runs a
    scenario with ``workers > 1`` needs the ``if __name__ == "__main__":`` guard, and entries
    registered at run time (outside the registry's provider modules) are unknown to the workers.
    """
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    from fairsim.sim.domains import preload_modules

    ctx.set_forkserver_preload([*preload_modules(), *registry._PROVIDERS])
    return ctx


def check_executor(executor: str, address: str | None) -> str:
    """Validate the executor name (and that ``address`` goes with ``"dask"`` only)."""
    if executor not in EXECUTORS:
        raise InputError(f"executor must be one of {EXECUTORS}; got {executor!r}")
    if address is not None:
        if executor != "dask":
            raise InputError(f"address works with executor 'dask' only; got executor {executor!r}")
        if not isinstance(address, str) or "://" not in address:
            raise InputError(f"address must look like 'tcp://host:port'; got {address!r}")
    return executor


def execute(
    executor: str,
    chunks: Sequence[Sequence[Task]],
    points: dict[int, Any],
    root: int,
    base_dir: str | None,
    workers: int,
    address: str | None = None,
) -> Iterator[list[TaskResult]]:
    """Run ``chunks``, yielding lists of task results as they complete (any order).

    A chunk whose execution itself raised (not a run: runs record their own errors) is yielded as
    an empty :class:`ChunkFailure` naming its tasks and the error.
    """
    if executor == "sequential":
        init_worker(points, root, base_dir)
        for chunk in chunks:
            for task in chunk:
                yield run_chunk([task])
        return
    if executor == "local":
        yield from _execute_pool(chunks, points, root, base_dir, workers)
        return
    yield from _execute_dask(chunks, points, root, base_dir, workers, address)


class ChunkFailure(list):  # type: ignore[type-arg]
    """Yielded by :func:`execute` for a chunk whose execution raised: ``tasks`` and ``error``."""

    def __init__(self, tasks: Sequence[Task], error: str) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.error = error


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _execute_pool(
    chunks: Sequence[Sequence[Task]],
    points: dict[int, Any],
    root: int,
    base_dir: str | None,
    workers: int,
) -> Iterator[list[TaskResult]]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ex = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp_context(),
        initializer=init_worker,
        initargs=(points, root, base_dir),
    )
    try:
        pending = {ex.submit(run_chunk, list(c)): list(c) for c in chunks}
        while pending:
            finished, _ = wait(set(pending), return_when=FIRST_COMPLETED)
            for fut in finished:
                tasks = pending.pop(fut)
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:  # noqa: BLE001 - recorded as failed tasks
                    yield ChunkFailure(tasks, _error_text(exc))
                    continue
                yield res
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise FairsimError(
            "the Dask executor needs dask.distributed, which is not installed; "
            "install it with: pip install 'fairsim[dask]'"
        ) from exc
    return distributed


def _execute_dask(
    chunks: Sequence[Sequence[Task]],
    points: dict[int, Any],
    root: int,
    base_dir: str | None,
    workers: int,
    address: str | None,
) -> Iterator[list[TaskResult]]:
    distributed = _import_distributed()
    cluster = None
    if address is None:
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
    else:
        client = distributed.Client(address)
    try:
        # one copy of the design points per worker, reused by every chunk it runs
        pts = client.scatter([points], broadcast=True)[0]
        futures = {
            client.submit(_dask_run_chunk, pts, root, base_dir, list(c), pure=False): list(c)
            for c in chunks
        }
        for fut in distributed.as_completed(list(futures)):
            tasks = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - recorded as failed tasks
                yield ChunkFailure(tasks, _error_text(exc))
                continue
            yield res
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


__all__ = ["EXECUTORS", "ChunkFailure", "check_executor", "execute", "init_worker", "run_chunk"]
