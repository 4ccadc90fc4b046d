"""Where shards run.

- ``SerialBackend``: in this process, one at a time (--jobs 1): no cluster to start,
  and Ctrl-C lands in the running fuzz() directly.
- ``DaskBackend``: Dask distributed. Without an address it starts an embedded local
  cluster of single-threaded worker processes (one per job); with --scheduler it joins
  an existing cluster, spreading shards over every machine's workers. A worker that
  dies is Dask's business (it re-runs the shard elsewhere); a shard that cannot finish
  comes back as an error, never as an exception in the campaign's loop.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

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


@contextlib.contextmanager
def workers_ignore_sigint():
    """Worker processes started inside inherit SIGINT ignored (Python keeps an ignored
    SIGINT at start-up): Ctrl-C at the terminal reaches the whole process group, and only
    the driver should act on it (cancel, write the report), not every worker with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


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


class DaskBackend:
    def __init__(self, jobs: int = 0, scheduler: str | None = None, connect_timeout: float = 15):
        from distributed import Client, LocalCluster

        self.cluster = None
        try:
            if scheduler:
                _reachable(scheduler, connect_timeout)
                self.client = Client(scheduler, timeout=connect_timeout)
            else:
                with workers_ignore_sigint():
                    self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError, ValueError) as e:
            self.close()
            raise UnknownName(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
        self.address = scheduler or self.cluster.scheduler_address

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
        return {"key": spec["key"], "seed": spec["seed"], "examples": 0, "steps": 0,
                "seconds": 0.0, "entry": None, "error": f"{type(err).__name__}: {err}"}

    def cancel(self, futures):
        if futures:
            try:
                self.client.cancel(list(futures))
            except Exception:  # noqa: BLE001  (the cluster may already be gone)
                pass

    def describe(self) -> str:
        where = "local cluster" if self.cluster else f"scheduler {self.address}"
        return f"Dask {where}, {self.slots} workers"

    def close(self):
        client = getattr(self, "client", None)
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:  # noqa: BLE001
                pass
        if self.cluster is not None:
            try:
                self.cluster.close(timeout=10)
            except Exception:  # noqa: BLE001
                pass
