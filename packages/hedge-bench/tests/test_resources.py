"""The soak's instruments: what a process holds, and what went wrong quietly."""

import asyncio
import gc
import logging
import socket
import sys
import threading
import warnings

from hedge_bench._resources import Watch, peak_rss, sample, socket_count


def test_sample_counts_sockets_descriptors_threads_and_memory():
    before = sample()
    with socket.socket() as one, socket.socket() as two:
        assert one.fileno() != two.fileno()
        during = sample()
    assert during.sockets == before.sockets + 2 == socket_count() + 2
    assert during.fds == before.fds + 2
    assert before.tasks is None  # no event loop here
    assert before.threads == threading.active_count()
    assert before.os_threads >= before.threads
    # Both from the kernel, counted differently (the peak lags): neither is zero.
    assert before.rss > 0 and peak_rss() > 0
    assert sample(server_connections=3).as_dict()["server_connections"] == 3


async def test_sample_counts_the_other_tasks_of_a_loop():
    assert sample().tasks == 0  # the task taking the sample does not count
    waiting = asyncio.ensure_future(asyncio.sleep(10))
    assert sample().tasks == 1
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert sample().tasks == 0


def test_watch_records_what_leaks_print():
    hooks = (sys.unraisablehook, threading.excepthook)
    with Watch() as watch:
        socket.socket()  # dropped unclosed
        gc.collect()

        async def main():
            watch.watch_loop(asyncio.get_running_loop())

            async def fail():
                raise RuntimeError("never looked at")

            task = asyncio.ensure_future(fail())
            await asyncio.sleep(0)
            del task
            gc.collect()

        asyncio.run(main())
        worker = threading.Thread(target=lambda: 1 / 0, name="doomed")
        worker.start()
        worker.join()

        class Finalized:
            def __del__(self):
                raise ValueError("in a finalizer")

        Finalized()
        logging.getLogger("some.library").warning("connection pool is full, discarding connection")
        warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)
    counts = watch.counts()
    assert counts == {
        "ResourceWarning": 1,
        "event loop": 1,
        "thread exception": 1,
        "unraisable": 1,
        "log warning": 1,
        "DeprecationWarning": 1,
    }, watch.problems
    messages = {problem.kind: problem.message for problem in watch.problems}
    assert "unclosed" in messages["ResourceWarning"]
    assert messages["event loop"].startswith("Task exception was never retrieved")
    assert "ZeroDivisionError" in messages["thread exception"] and "doomed" in messages["thread exception"]
    assert "in a finalizer" in messages["unraisable"]
    assert messages["log warning"] == "some.library: connection pool is full, discarding connection"
    # Everything it replaced is back.
    assert (sys.unraisablehook, threading.excepthook) == hooks
    assert all(not isinstance(handler, type(watch._handler)) for handler in logging.getLogger().handlers)


def test_a_quiet_watch_records_nothing():
    with Watch() as watch:
        with socket.socket() as closed_properly:
            closed_properly.setblocking(False)
        asyncio.run(asyncio.sleep(0))
    assert watch.problems == [] and watch.counts() == {}
