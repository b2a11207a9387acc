"""What a process holds, and what went wrong quietly: the soak's two instruments.

:func:`sample` reads the resources a leak would pile up: open file
descriptors and, among them, sockets; asyncio tasks alive; threads (Python's
and the operating system's, which include a C extension's own, such as
gRPC's); resident memory. On Linux everything comes from ``/proc/self``
(one ``listdir`` and a ``readlink`` per descriptor, a few hundred
microseconds); where a figure cannot be read it is ``None``, never a guess.

:class:`Watch` records what a program that leaks usually prints and carries
on: every warning (``ResourceWarning`` for an unclosed socket, transport or
file, aiohttp's unclosed session), every exception the event loop could not
deliver (``Task exception was never retrieved``, ``Task was destroyed but it
is pending!``, unclosed sessions reported through the loop), exceptions
raised in ``__del__`` methods and finalizers (``sys.unraisablehook``) and in
threads (``threading.excepthook``), and log records of level WARNING or
above. A clean run records nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem", "Sample", "Watch", "peak_rss", "sample", "socket_count"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _fd_directory() -> str | None:
    for directory in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(directory):
            return directory
    return None


def _descriptors() -> tuple[int | None, int | None]:
    """Open descriptors and how many of them are sockets (``None`` where unknown)."""
    directory = _fd_directory()
    if directory is None:
        return None, None
    names = os.listdir(directory)
    if directory != "/proc/self/fd":
        return len(names) - 1, None  # listdir's own descriptor is listed too
    sockets = sum(1 for name in names if _link(f"{directory}/{name}").startswith("socket:"))
    return len(names) - 1, sockets


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed between listdir and readlink (listdir's own descriptor)
        return ""


def socket_count() -> int | None:
    """Sockets this process has open (``None`` where ``/proc`` is not available)."""
    return _descriptors()[1]


def _rss() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _os_threads() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def peak_rss() -> int | None:
    """The most resident memory this process has had, in bytes (``None`` where unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux KiB


@dataclass(frozen=True)
class Sample:
    """What the process held at one instant.

    Attributes:
        fds: open file descriptors.
        sockets: how many of them are sockets.
        tasks: asyncio tasks alive besides the one that took the sample
            (``None`` outside an event loop).
        threads: Python threads alive (``threading.active_count()``).
        os_threads: the process's threads as the OS counts them.
        rss: resident memory in bytes.
        server_connections: connections the server had open (set by the caller).

    """

    fds: int | None
    sockets: int | None
    tasks: int | None
    threads: int
    os_threads: int | None
    rss: int | None
    server_connections: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        """The figures by name."""
        return {
            "fds": self.fds,
            "sockets": self.sockets,
            "tasks": self.tasks,
            "threads": self.threads,
            "os_threads": self.os_threads,
            "rss": self.rss,
            "server_connections": self.server_connections,
        }


def sample(server_connections: int | None = None) -> Sample:
    """Read the calling process's resources now (see :class:`Sample`)."""
    fds, sockets = _descriptors()
    tasks = None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        current = asyncio.current_task(loop)
        tasks = sum(1 for task in asyncio.all_tasks(loop) if task is not current)
    return Sample(
        fds=fds,
        sockets=sockets,
        tasks=tasks,
        threads=threading.active_count(),
        os_threads=_os_threads(),
        rss=_rss(),
        server_connections=server_connections,
    )


@dataclass(frozen=True)
class Problem:
    """One thing that went wrong quietly: its kind and what it said."""

    kind: str
    message: str


class _LogHandler(logging.Handler):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(logging.WARNING)
        self.problems = problems

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a badly formatted record is still a record
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({record.exc_info[1]!r})"
        self.problems.append(Problem(f"log {record.levelname.lower()}", f"{record.name}: {message}"))


@dataclass
class Watch:
    """Records warnings, undelivered exceptions and warning logs while active.

    Use as a context manager around everything measured (client creation to
    after its close), and call :meth:`watch_loop` on each event loop. It
    replaces the warning filters (every warning recorded, ``ResourceWarning``
    included), the unraisable and thread exception hooks, and adds a
    handler to the root logger; all are restored on exit.
    """

    problems: list[Problem] = field(default_factory=list)
    _saved: list[Any] = field(default_factory=list, repr=False)
    _catcher: Any = field(default=None, repr=False)
    _caught: list[warnings.WarningMessage] = field(default_factory=list, repr=False)
    _handler: _LogHandler | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __enter__(self) -> Watch:
        self._catcher = warnings.catch_warnings(record=True)
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        self._saved = [sys.unraisablehook, threading.excepthook]
        sys.unraisablehook = self._unraisable
        threading.excepthook = self._thread_exception
        self._handler = _LogHandler(self.problems)
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.collect_warnings()
        sys.unraisablehook, threading.excepthook = self._saved
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
        self._catcher.__exit__(None, None, None)

    def collect_warnings(self) -> None:
        """Move the warnings recorded so far into :attr:`problems`."""
        with self._lock:
            caught, self._caught[:] = list(self._caught), []
        for message in caught:
            self.problems.append(Problem(message.category.__name__, str(message.message)))

    def watch_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Record what ``loop`` reports to its exception handler instead of logging it."""
        loop.set_exception_handler(self._loop_exception)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", "unknown"))
        exception = context.get("exception")
        if exception is not None:
            message += f" ({exception!r})"
        self.problems.append(Problem("event loop", message))

    def _unraisable(self, unraisable: Any) -> None:
        where = getattr(unraisable, "object", None)
        message = f"{unraisable.exc_value!r}" + (f" in {where!r}" if where is not None else "")
        self.problems.append(Problem("unraisable", message))

    def _thread_exception(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        self.problems.append(Problem("thread exception", f"{args.exc_value!r} in thread {name}"))

    def counts(self) -> dict[str, int]:
        """How many problems of each kind were recorded."""
        self.collect_warnings()
        found: dict[str, int] = {}
        for problem in self.problems:
            found[problem.kind] = found.get(problem.kind, 0) + 1
        return found
