"""An elastic pool of daemon threads for synchronous attempts.

A hedge that waits in a queue for a free thread has already lost, so the
pool never queues: a job goes to an idle thread if there is one, otherwise a
new thread starts. Threads that stay idle for ``idle_timeout`` seconds exit,
so the number of threads follows the number of attempts in flight (about
``callers x (1 + max_hedges)``) and falls back when traffic stops.

Threads are daemons: an attempt stuck forever in a blocking call cannot keep
the interpreter from exiting. :meth:`WorkerPool.close` lets running jobs
finish and stops idle threads.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Optional

__all__ = ["WorkerPool"]

logger = logging.getLogger("hedge")

_Job = Optional[Callable[[], object]]


class WorkerPool:
    """Run callables on threads, starting a thread whenever none is idle.

    Args:
        idle_timeout: seconds an idle thread waits for work before exiting.
        name: prefix of the threads' names.
    """

    def __init__(self, idle_timeout: float = 30.0, name: str = "hedge-worker") -> None:
        self._idle_timeout = idle_timeout
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self._started = 0

    @property
    def threads(self) -> int:
        """How many worker threads are alive."""
        with self._lock:
            return len(self._threads)

    def submit(self, job: Callable[[], object]) -> None:
        """Run ``job()`` on a worker thread as soon as possible.

        Raises:
            RuntimeError: if the pool is closed.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the hedge worker pool is closed")
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)
                return
            self._started += 1
            thread = threading.Thread(
                target=self._work, args=(job,), name=f"{self._name}-{self._started}", daemon=True
            )
            self._threads.add(thread)
        thread.start()

    def _work(self, job: _Job) -> None:
        try:
            while job is not None:
                try:
                    job()
                except BaseException:
                    logger.exception("hedge: a worker job raised")
                job = self._next_job()
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _next_job(self) -> _Job:
        with self._lock:
            if self._closed:
                return None
            self._idle += 1
        try:
            return self._jobs.get(timeout=self._idle_timeout)
        except queue.Empty:
            with self._lock:
                # A submit may have counted on this thread just as it timed out:
                # the job is then already in the queue.
                try:
                    return self._jobs.get_nowait()
                except queue.Empty:
                    self._idle -= 1
                    return None

    def close(self, timeout: float = 5.0) -> None:
        """Stop idle threads and wait up to ``timeout`` seconds for busy ones (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, 0
            threads = list(self._threads)
        for _ in range(idle):
            self._jobs.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
