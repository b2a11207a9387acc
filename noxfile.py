"""Every session a developer or CI runs for the hedge monorepo.

    nox -s lint typecheck        static checks
    nox -s core                  hedge-core's tests on every Python 3.9-3.13 found
    nox -t httpx                 every row of one adapter's framework matrix
    nox -t quick                 floor + latest of every adapter (CI on every push)
    nox -t ci                    what .ci/run runs: lint, typecheck, core, quick
    nox -t matrix                the full framework matrix

The matrix is a rule written by hand (floor, the last release of each series
that matters, latest): one literal table per adapter below. Floors are read
from each package's own pyproject.toml, the single source of truth. The
latest release runs on every Python the framework supports; older rows run
on one Python. Every row prints the framework version it installed and fails
if that is not the version it asked for.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["lint", "typecheck", "core"]

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
MAIN_PYTHON = "3.11"


def _activate_pyenv() -> None:
    """Make every pyenv-installed CPython 3.9-3.14 visible as pythonX.Y on PATH."""
    if "PYENV_VERSION" in os.environ or shutil.which("pyenv") is None:
        return
    try:
        listed = subprocess.run(
            ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    wanted = [v for v in listed.split() if re.fullmatch(r"3\.(9|1[0-4])\.\d+", v)]
    if wanted:
        current = subprocess.run(["pyenv", "version-name"], capture_output=True, text=True).stdout.strip()
        ordered = [v for v in wanted if v == current] + [v for v in wanted if v != current]
        os.environ["PYENV_VERSION"] = ":".join(ordered)


_activate_pyenv()
# Never let uv download an interpreter: a missing Python is skipped, loudly.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


def group(package: str, name: str) -> list[str]:
    """A PEP 735 dependency group of one package (or of the workspace root for "")."""
    path = ROOT / "pyproject.toml" if not package else PACKAGES / package / "pyproject.toml"
    return list(nox.project.dependency_groups(nox.project.load_toml(path), name))


EXAMPLE_PLUGIN = ROOT / "docs" / "examples" / "hedge-urllib3"


def floor(package: str, framework: str) -> str:
    """The lowest ``framework`` version ``package`` declares (dependencies or extras)."""
    project = nox.project.load_toml(PACKAGES / package / "pyproject.toml")["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    # The name must end there: "httpx" must not match "httpx2>=2.13".
    pattern = re.compile(
        rf"^{re.escape(framework)}(?![\w.-])\s*(\[[^\]]*\])?\s*[^;]*?>=\s*([0-9][0-9a-zA-Z.]*)"
    )
    for requirement in requirements:
        match = pattern.match(requirement.strip())
        if match:
            return match.group(2)
    raise LookupError(f"{package} declares no '>=' floor for {framework}")


# ---------------------------------------------------------------------------
# The framework matrix: a literal table per adapter
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Framework:
    """One framework an adapter package supports, and the versions to test."""

    package: str  # the adapter distribution, e.g. "hedge-httpx"
    name: str  # the framework distribution, e.g. "httpx"
    tag: str  # selection tag, e.g. "httpx"
    series: tuple[str, ...]  # the last release of each series between floor and latest
    pythons: tuple[str, ...] = tuple(PYTHONS)  # Pythons the latest release supports
    floor_python: str = "3.9"  # the Python the floor and series rows run on
    extra: str | None = None  # the adapter's extra that pulls the framework in
    siblings: tuple[str, ...] = ()  # packages of this repository the tests drive, installed editable
    # A series release that needs a newer Python than floor_python runs on this one instead.
    series_python: tuple[tuple[str, str], ...] = ()

    def python_for(self, version: str) -> str:
        """The Python a series release runs on: floor_python, unless the release needs newer."""
        return dict(self.series_python).get(version, self.floor_python)


MATRIX: tuple[Framework, ...] = (
    # httpx 0.25 is the first on httpcore >= 0.18 (older ones keep a cancelled request counted in the pool).
    # Its older rows run on 3.10: on 3.9 httpcore's pool can lose a connection to a request cancelled
    # as it is handed one, without hedge too (docs/pages/adapters/httpx.md); latest-py3.9 still runs.
    Framework(
        "hedge-httpx", "httpx", "httpx", ("0.25.2", "0.26.0", "0.27.2"), floor_python="3.10", extra="httpx"
    ),
    # httpx2 2.13 fixes an early-closed stream error the OpenAI SDK triggers; 2.14 is the last for 3.10.
    Framework(
        "hedge-httpx",
        "httpx2",
        "httpx2",
        ("2.14.0", "2.15.1"),
        floor_python="3.10",
        extra="httpx2",
        pythons=("3.11", "3.12", "3.13"),
        series_python=(("2.15.1", "3.11"),),
    ),
    # aiohttp 3.14 needs Python 3.10+: 3.13.5 is the last release for 3.9.
    Framework(
        "hedge-aiohttp", "aiohttp", "aiohttp", ("3.12.15", "3.13.5"), pythons=("3.10", "3.11", "3.12", "3.13")
    ),
    Framework("hedge-niquests", "niquests", "niquests", ("3.15.2", "3.17.0", "3.18.8", "3.20.1")),
    # tornado 6.6 needs Python 3.11+: 6.5.10 is the last release for 3.9 and 3.10.
    Framework(
        "hedge-tornado",
        "tornado",
        "tornado",
        ("6.1", "6.2", "6.3.3", "6.4.2", "6.5.10"),
        pythons=("3.11", "3.12", "3.13"),
    ),
    # grpcio 1.81+ ships no Python 3.9 wheels: 1.80.1 is the last for 3.9.
    Framework(
        "hedge-grpc",
        "grpcio",
        "grpc",
        ("1.66.2", "1.72.2", "1.78.2", "1.80.1"),
        pythons=("3.10", "3.11", "3.12", "3.13"),
    ),
    # opentelemetry-api 1.30 is the first to carry histogram bucket advice; 1.41.1 the
    # last for Python 3.9 (1.42+ needs 3.10). The tests drive the httpx and gRPC adapters.
    Framework(
        "hedge-otel",
        "opentelemetry-api",
        "otel",
        ("1.30.0", "1.41.1"),
        pythons=("3.10", "3.11", "3.12", "3.13"),
        siblings=("hedge-httpx[httpx]", "hedge-grpc"),
    ),
)


def _rows() -> list[nox.param]:
    """Every (Python, package, framework, version) row of the matrix, with its tags.

    The floor and the series pins run on the framework's oldest Python; the
    latest release on every Python it supports. ``quick`` (and ``ci``) is the
    floor plus the latest on the main Python.
    """
    rows = []
    for framework in MATRIX:
        if not (PACKAGES / framework.package / "pyproject.toml").exists():
            continue
        tag = framework.tag

        def row(python: str, version: str, name: str, *extra: str, fw: Framework = framework) -> nox.param:
            # Tagged by framework and by package: a release of hedge-httpx (`-t httpx`) runs httpx2 too.
            tags = sorted({fw.tag, fw.package.removeprefix("hedge-"), "matrix", *extra})
            return nox.param(python, fw.package, fw.name, version, id=name, tags=tags)

        # The floor runs on the framework's oldest Python, or on the main one where that
        # is missing (a fresh CI machine has one Python): a floor is never left untested.
        floor_python = framework.floor_python if _found(framework.floor_python) else MAIN_PYTHON
        rows.append(row(floor_python, "floor", f"{tag}-floor", "quick", "ci"))
        rows.extend(row(framework.python_for(v), v, f"{tag}-{v}") for v in framework.series)
        for python in framework.pythons:
            quick = ("quick", "ci") if python == MAIN_PYTHON else ()
            rows.append(row(python, "latest", f"{tag}-latest-py{python}", *quick))
    return rows


def _found(python: str) -> bool:
    """Whether ``pythonX.Y`` is on PATH (pyenv's shims exist only for installed versions)."""
    return shutil.which(f"python{python}") is not None


def _framework(package: str, name: str) -> Framework:
    return next(f for f in MATRIX if f.package == package and f.name == name)


def _check_installed(session: nox.Session, name: str, wanted: str | None) -> None:
    script = f"import importlib.metadata as m; print(m.version({name!r}))"
    installed = session.run("python", "-c", script, silent=True).strip()  # type: ignore[union-attr]
    session.log(f"{name} installed: {installed} (asked for: {wanted or 'latest'})")
    if wanted is not None and _release(installed) != _release(wanted):
        session.error(f"{name} {installed} installed, but the row asked for {wanted}")


def _release(version: str) -> tuple[int, ...]:
    """Release numbers without trailing zeros: "3.14" and "3.14.0" are the same release."""
    numbers = [int(part) for part in re.findall(r"\d+", version.split("+")[0])]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


@nox.session
@nox.parametrize("python,package,framework,version", _rows())
def adapter(session: nox.Session, package: str, framework: str, version: str) -> None:
    """Run one adapter's tests against one version of its framework."""
    spec = _framework(package, framework)
    wanted = floor(package, framework) if version == "floor" else None if version == "latest" else version
    pin = f"{framework}=={wanted}" if wanted else framework
    target = f"./packages/{package}[{spec.extra}]" if spec.extra else f"./packages/{package}"
    siblings = [argument for sibling in spec.siblings for argument in ("-e", f"./packages/{sibling}")]
    session.install(*group(package, "test"), "-e", "./packages/hedge-core", *siblings, "-e", target, pin)
    _check_installed(session, framework, wanted)
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


# ---------------------------------------------------------------------------
# Core, static checks
# ---------------------------------------------------------------------------


@nox.session(python=PYTHONS, tags=["ci", "core"])
def core(session: nox.Session) -> None:
    """hedge-core's tests (stdlib + pluggy only)."""
    session.install(*group("hedge-core", "test"), "-e", "./packages/hedge-core")
    session.run("pytest", "packages/hedge-core/tests", *session.posargs)


@nox.session(python=MAIN_PYTHON, tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree; LICENSE copies identical."""
    session.install(*group("", "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    license_text = (ROOT / "LICENSE").read_text()
    for package in sorted(PACKAGES.iterdir()):
        copy = package / "LICENSE"
        if not copy.exists() or copy.read_text() != license_text:
            session.error(f"{copy} is missing or differs from the root LICENSE")


def _all_packages() -> list[str]:
    return sorted(p.name for p in PACKAGES.iterdir() if (p / "pyproject.toml").exists())


@nox.session(python=MAIN_PYTHON, tags=["ci"])
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's sources (with every framework installed)."""
    targets = []
    for package in _all_packages():
        extras = [f.extra for f in MATRIX if f.package == package and f.extra]
        targets += ["-e", f"./packages/{package}" + (f"[{','.join(extras)}]" if extras else "")]
        targets += group(package, "typecheck") if "typecheck" in _groups(package) else []
    session.install(*group("", "typecheck"), *targets)
    session.run("mypy", *[f"packages/{p}/src" for p in _all_packages()], *session.posargs)


def _groups(package: str) -> set[str]:
    return set(nox.project.load_toml(PACKAGES / package / "pyproject.toml").get("dependency-groups", {}))


# Every adapter with its framework, and hedge-bench with charts: the main job's environment.
BENCH = [
    "-e", "./packages/hedge-core",
    "-e", "./packages/hedge-httpx[httpx,httpx2]",
    "-e", "./packages/hedge-aiohttp",
    "-e", "./packages/hedge-niquests",
    "-e", "./packages/hedge-tornado",
    "-e", "./packages/hedge-grpc",
    "-e", "./packages/hedge-bench[plot]",
]  # fmt: skip


@nox.session(python=MAIN_PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """The main job: hedge-bench on its own local servers, every adapter (README's first command).

    Arguments after ``--`` go to hedge-bench (default ``run``), e.g.
    ``nox -s bench -- cost`` or ``nox -s bench -- simulate``.
    """
    session.install(*BENCH)
    arguments = session.posargs or ["run", "--out", "bench-results"]
    session.run("hedge-bench", *arguments)


@nox.session(python=MAIN_PYTHON, tags=["ci", "bench"])
def bench_tests(session: nox.Session) -> None:
    """hedge-bench's tests (CLI, workload, simulator, outputs, a short run of every adapter)."""
    session.install(*group("hedge-bench", "test"), *BENCH)
    session.run("pytest", "packages/hedge-bench/tests", *session.posargs)


# The reliability suite. The fault matrix, bad input and concurrency checks are
# tests of every package (run by `core` and `adapter`); these sessions add the
# long-running checks over real sockets, in a quick profile (CI) and in full.
ADAPTER_PACKAGES = sorted({f.package for f in MATRIX} - {"hedge-otel"})


@nox.session(python=MAIN_PYTHON, tags=["ci", "reliability"])
def reliability(session: nox.Session) -> None:
    """Quick profile: a 1,000-request leak soak of every adapter and form, and the outage run."""
    session.install(*BENCH)
    out = Path(session.create_tmp())
    session.run("hedge-bench", "soak", "--out", str(out / "soak"), *session.posargs)
    session.run("hedge-bench", "outage", "--scenarios", "single", "--out", str(out / "outage"))


@nox.session(python=MAIN_PYTHON, tags=["reliability"], default=False)
def reliability_full(session: nox.Session) -> None:
    """Full profile (about an hour): 100,000-request soaks, both outages, 1M keys, 1,000 in flight."""
    tests = [r for p in ADAPTER_PACKAGES for r in group(p, "test")]
    session.install(*tests, *BENCH)
    out = Path(session.create_tmp())
    session.run("hedge-bench", "soak", "--requests", "100000", "--out", str(out / "soak"))
    session.run("hedge-bench", "outage", "--out", str(out / "outage"))
    session.run("python", "packages/hedge-core/benchmarks/memory.py", "--keys", "1000000")
    session.run("pytest", "packages/hedge-core/tests/test_memory.py", env={"HEDGE_MEMORY_KEYS": "1000000"})
    # Many requests in flight on one client (1,000 here), one client shared by threads.
    concurrency = [f"packages/{p}/tests/test_contract.py" for p in ADAPTER_PACKAGES if p != "hedge-grpc"]
    concurrency.append("packages/hedge-grpc/tests/test_faults.py")
    keywords = "in_flight or shared_by_threads or many_concurrent_calls"
    session.run("pytest", *concurrency, "-k", keywords, env={"HEDGE_KIT_IN_FLIGHT": "1000"})


@nox.session(python=MAIN_PYTHON, tags=["ci"])
def docs(session: nox.Session) -> None:
    """Build the documentation site in strict mode (a broken link or reference fails) and test it."""
    # pytest-asyncio too: the workspace's pytest settings name its options (--strict-config).
    session.install(*group("", "docs"), "pytest-asyncio>=0.23", "-e", "./packages/hedge-core")
    session.run("pytest", "docs/tests", *session.posargs)
    session.env["NO_MKDOCS_2_WARNING"] = "1"
    session.run(
        "mkdocs", "build", "--strict", "-f", "docs/mkdocs.yml", "--site-dir", session.create_tmp() + "/site"
    )


@nox.session(python=MAIN_PYTHON, tags=["ci"])
def example_plugin(session: nox.Session) -> None:
    """The third-party path: install the example plugin from its directory, list it, run the kit on it."""
    tests = nox.project.dependency_groups(nox.project.load_toml(EXAMPLE_PLUGIN / "pyproject.toml"), "test")
    # pytest-asyncio too: the workspace's pytest settings name its options (--strict-config).
    session.install("./packages/hedge-core", "./docs/examples/hedge-urllib3", *tests, "pytest-asyncio>=0.23")
    session.run("python", "-m", "hedge")
    session.run("pytest", "docs/examples/hedge-urllib3/tests", *session.posargs)


@nox.session(python=MAIN_PYTHON, default=False)
def microbench(session: nox.Session) -> None:
    """hedge-core's hot paths: sketch add against ddsketch 3.0.1, delay lookup, engine overhead."""
    session.install("-e", "./packages/hedge-core", "ddsketch==3.0.1")
    session.run("python", "packages/hedge-core/benchmarks/microbench.py", *session.posargs)


WHEEL_CHECK = """
import sys, zipfile, email.parser
wheel, package, import_name = sys.argv[1:4]
names = zipfile.ZipFile(wheel).namelist()
def member(suffix):
    found = [n for n in names if n.endswith(suffix)]
    if not found:
        sys.exit(f"{wheel}: no {suffix}")
    return found[0]
member(f"{import_name}/py.typed")
member("/licenses/LICENSE")
metadata = email.parser.Parser().parsestr(zipfile.ZipFile(wheel).read(member(".dist-info/METADATA")).decode())
requires = metadata.get_all("Requires-Dist") or []
if package != "hedge-core":
    core = [r for r in requires if r.startswith("hedge-core")]
    if not core or "<" not in core[0]:
        sys.exit(f"{wheel}: hedge-core must be required and capped below its next breaking version: {core}")
    if package not in ("hedge-bench",):
        entry_points = zipfile.ZipFile(wheel).read(member(".dist-info/entry_points.txt")).decode()
        if "[hedge]" not in entry_points:
            sys.exit(f"{wheel}: no entry point in the hedge group")
print(f"{wheel}: py.typed, LICENSE, metadata and entry points present")
"""


@nox.session(python=MAIN_PYTHON, default=False)
@nox.parametrize("package", [nox.param(package, id=package) for package in _all_packages()])
def build(session: nox.Session, package: str) -> None:
    """Build one package's sdist and wheel into packages/<package>/dist and check them."""
    outdir = PACKAGES / package / "dist"
    shutil.rmtree(outdir, ignore_errors=True)
    session.install("build", "twine")
    session.run("python", "-m", "build", "--outdir", str(outdir), f"packages/{package}")
    artifacts = sorted(str(path) for path in outdir.iterdir())
    session.run("twine", "check", "--strict", *artifacts)
    import_name = "hedge" if package == "hedge-core" else package.replace("-", "_")
    wheel = next(path for path in artifacts if path.endswith(".whl"))
    session.run("python", "-c", WHEEL_CHECK, wheel, package, import_name)


# For the isolation session: each adapter alone with hedge-core and its framework.
# (adapter distribution, extra, import check + smoke request against a local server)
_SMOKE_HEADER = """
import asyncio, json, subprocess, sys
from hedge import HedgeConfig, Stats
from hedge.testing import Reply, ScriptedServer
listing = json.loads(subprocess.run([sys.executable, "-m", "hedge", "--json"], capture_output=True,
                                    text=True, check=True).stdout)
names = {a["name"]: a for a in listing["adapters"]}
assert ADAPTER in listing["plugins"] or names[ADAPTER]["compatible"], listing
config = HedgeConfig(min_delay=0.05, max_delay=0.05, warmup_delay=0.05, stats=Stats())
server = ScriptedServer().start()
server.script("/smoke", Reply(delay=30, body=b"slow"), Reply(body=b"fast"))
url = server.url_for("/smoke")
"""
_SMOKE_FOOTER = """
assert config.stats.snapshot().hedge_wins == 1, config.stats.snapshot()
server.stop()
print(ADAPTER, "isolated install: import, discovery and a hedged request all work")
"""
ISOLATION = {
    "httpx": (
        "hedge-httpx",
        "httpx",
        """
import httpx
from hedge_httpx import HedgedHttpxTransport
async def main():
    async with httpx.AsyncClient(transport=HedgedHttpxTransport(config=config)) as client:
        assert (await client.get(url)).content == b"fast"
asyncio.run(main())
""",
    ),
    "httpx2": (
        "hedge-httpx",
        "httpx2",
        """
import httpx2
from hedge_httpx import HedgedHttpx2Transport
async def main():
    async with httpx2.AsyncClient(transport=HedgedHttpx2Transport(config=config)) as client:
        assert (await client.get(url)).content == b"fast"
asyncio.run(main())
""",
    ),
    "aiohttp": (
        "hedge-aiohttp",
        None,
        """
from hedge_aiohttp import HedgedAiohttpSession
async def main():
    async with HedgedAiohttpSession(config=config) as session:
        async with session.get(url) as response:
            assert await response.read() == b"fast"
asyncio.run(main())
""",
    ),
    "niquests": (
        "hedge-niquests",
        None,
        """
from hedge_niquests import HedgedNiquestsSession
async def main():
    async with HedgedNiquestsSession(config=config) as session:
        assert (await session.get(url)).content == b"fast"
asyncio.run(main())
""",
    ),
    "tornado": (
        "hedge-tornado",
        None,
        """
from hedge_tornado import HedgedTornadoClient
async def main():
    async with HedgedTornadoClient(config=config) as client:
        assert (await client.fetch(url)).body == b"fast"
asyncio.run(main())
""",
    ),
    "otel": (
        "hedge-otel",
        None,
        """
# An observer plugin, not an adapter: the engine alone drives a hedged request;
# the SDK (installed beside the API for this check) reads what the plugin exported.
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from hedge import Hedger, RequestInfo
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
hedger = Hedger(config)
async def main():
    async def send(attempt):
        await asyncio.sleep(30 if attempt.index == 0 else 0)
        return b"fast"
    assert await hedger.run(RequestInfo.from_url("GET", url, framework="smoke"), send) == b"fast"
asyncio.run(main())
data = reader.get_metrics_data()
exported = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
assert "hedge.client.hedges" in exported, exported
""",
    ),
    "grpc": (
        "hedge-grpc",
        None,
        """
import grpc, grpc.aio
from hedge_grpc import HedgedUnaryInterceptor
async def main():
    calls = []
    async def echo(request, context):
        calls.append(request)
        if len(calls) == 1:
            await asyncio.sleep(30)
        return b"fast"
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(echo)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("smoke.Echo", {"Get": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    interceptor = HedgedUnaryInterceptor(config=config, target=f"127.0.0.1:{port}", hedge_all_methods=True)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=[interceptor]) as channel:
        call = channel.unary_unary("/smoke.Echo/Get")
        assert await call(b"x") == b"fast"
    await server.stop(0)
    interceptor.close()
asyncio.run(main())
""",
    ),
}


@nox.session(python=MAIN_PYTHON, tags=["isolation"])
def isolation(session: nox.Session) -> None:
    """`pip install hedge-<adapter>` alone works: wheels only, one fresh venv per adapter.

    Builds a wheel of every package, then for each adapter a virtualenv with
    only hedge-core's wheel, the adapter's wheel and its framework: the import
    works, ``python -m hedge`` lists it as compatible, and a hedged request
    against a local server is won by the hedge.
    """
    wheels = Path(session.create_tmp()) / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    session.install("build")
    for package in ["hedge-core", *sorted({package for package, _, _ in ISOLATION.values()})]:
        session.run(
            "python", "-m", "build", "--wheel", "--outdir", str(wheels), f"packages/{package}", silent=True
        )
    core = next(wheels.glob("hedge_core-*.whl"))
    for name, (package, extra, smoke) in ISOLATION.items():
        if session.posargs and name not in session.posargs:
            continue  # `nox -s isolation -- httpx grpc` checks only those
        wheel = next(wheels.glob(package.replace("-", "_") + "-*.whl"))
        venv = Path(session.create_tmp()) / f"isolated-{name}"
        shutil.rmtree(venv, ignore_errors=True)
        session.run("python", "-m", "venv", str(venv), silent=True)
        python = str(venv / "bin" / "python")
        requirement = f"{wheel}[{extra}]" if extra else str(wheel)
        checks = ["opentelemetry-sdk"] if name == "otel" else []  # to read the plugin's metrics
        session.run(python, "-m", "pip", "install", "--quiet", str(core), requirement, *checks, external=True)
        script = f"ADAPTER = {name!r}\n" + _SMOKE_HEADER + smoke + _SMOKE_FOOTER
        session.run(python, "-c", script, external=True)
        session.run(python, "-m", "pip", "list", "--format=freeze", external=True)


@nox.session(python=MAIN_PYTHON, default=False)
def dev(session: nox.Session) -> None:
    """Create .venv with every package editable and the dev tools (an instant dev environment)."""
    session.run("uv", "venv", "--python", MAIN_PYTHON, ".venv", external=True)
    editable = []
    for package in _all_packages():
        extras = [f.extra for f in MATRIX if f.package == package and f.extra]
        editable += ["-e", f"./packages/{package}" + (f"[{','.join(extras)}]" if extras else "")]
    session.run("uv", "pip", "install", "--python", ".venv", *editable, *group("", "dev"), external=True)
