"""Where shards run.

- ``SerialBackend``: in this process, one at a time (--jobs 1): no cluster to start,
  and Ctrl-C lands in the running fuzz() directly.
- ``PoolBackend``: a concurrent.futures process pool (--jobs N): N worker processes on
  this machine, nothing else to install or start (a local Dask cluster cost 5 s of a
  10 s campaign in start-up and scheduling).
- ``DaskBackend``: Dask distributed (--scheduler tcp://HOST:PORT, `pip install
  mmfuzz[dask]`): joins an existing cluster, spreading shards over every machine's
  workers. A worker that dies is Dask's business (it re-runs the shard elsewhere).
A shard that cannot finish comes back as an error, never as an exception in the
campaign's loop.
"""

from __future__ import annotations

import signal

from mmfuzz.engine.versions import UnknownName

from .shard import run_shard


HANDSHAKE_SECONDS = 5.0  # a scheduler greets a new connection at once


def _reachable(address: str, timeout: float) -> None:
    """Fail in milliseconds on a refused tcp:// address (Dask would retry until timeout),
    and in seconds on one that is not a Dask scheduler: a Dask comm sends its handshake
    (msgpack with "compression" and "pickle-protocol") as soon as it accepts, while
    Client() waits on a silent port without any timeout."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme == "tcp" and parts.hostname and parts.port:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
            sock.settimeout(min(timeout, HANDSHAKE_SECONDS))
            try:
                greeting = sock.recv(512)
            except TimeoutError:
                greeting = b""
        if b"pickle-protocol" not in greeting and b"compression" not in greeting:
            raise ValueError(f"{address} is not a Dask scheduler (no Dask handshake within "
                             f"{min(timeout, HANDSHAKE_SECONDS):.0f}s)")


class SerialBackend:
    slots = 1

    class _Done:
        def __init__(self, value):
            self.value = value

    def submit(self, spec):
        return self._Done(run_shard(spec))

    def wait(self, futures, timeout):
        return list(futures)

    def finished(self, futures):
        return list(futures)

    def outcome(self, fut, spec) -> dict:
        return fut.value

    def cancel(self, futures):
        pass

    def describe(self) -> str:
        return "in-process, 1 job"

    def close(self):
        pass


def _error(spec, err) -> dict:
    return {"key": spec["key"], "seed": spec["seed"], "examples": 0, "steps": 0,
            "seconds": 0.0, "entry": None, "error": f"{type(err).__name__}: {err}"}


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: the campaign process handles it (and
    # stops the workers); a worker dying of it mid-shard would only break the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PoolBackend:
    def __init__(self, jobs: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.slots = jobs
        # spawn: a worker inherits no signal handler, lock or state of the campaign process
        self.pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_init)

    def submit(self, spec):
        return self.pool.submit(run_shard, spec)

    def wait(self, futures, timeout):
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(futures), timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def finished(self, futures):
        return [f for f in futures if f.done()]

    def outcome(self, fut, spec) -> dict:
        if fut.cancelled():
            return _error(spec, "cancelled")
        err = fut.exception()
        return fut.result() if err is None else _error(spec, err)  # a worker died (BrokenProcessPool)

    def cancel(self, futures):
        for f in futures:
            f.cancel()

    def describe(self) -> str:
        return f"process pool, {self.slots} workers"

    def close(self):
        # shards still running are lost work (their races were not found yet): stop them
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)


class DaskBackend:
    def __init__(self, scheduler: str, connect_timeout: float = 15):
        try:
            from distributed import Client
        except ImportError:
            raise UnknownName("--scheduler needs Dask: pip install 'mmfuzz[dask]'") from None
        try:
            _reachable(scheduler, connect_timeout)
        except (OSError, ValueError) as e:
            raise UnknownName(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
        try:
            self.client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            raise UnknownName(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
        self.address = scheduler

    @property
    def slots(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def submit(self, spec):
        # pure=False: two shards with equal specs are still two runs
        return self.client.submit(run_shard, spec, pure=False)

    def wait(self, futures, timeout):
        from distributed import wait

        try:
            done, _ = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        return list(done)

    def finished(self, futures):
        return [f for f in futures if f.done()]

    def outcome(self, fut, spec) -> dict:
        if fut.status == "finished":
            return fut.result()
        try:
            err = fut.exception(timeout=1)
        except Exception as e:  # noqa: BLE001  (cancelled, lost scheduler)
            err = e
        return _error(spec, err)

    def cancel(self, futures):
        if futures:
            try:
                self.client.cancel(list(futures))
            except Exception:  # noqa: BLE001  (the cluster may already be gone)
                pass

    def describe(self) -> str:
        return f"Dask scheduler {self.address}, {self.slots} workers"

    def close(self):
        client = getattr(self, "client", None)
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:  # noqa: BLE001
                pass
