"""Registration through hedge's plugin system, and the seed's import paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hedge_grpc
from hedge.plugins import discover_adapters
from hedge_grpc import _plugin


def test_plugin_module_does_not_import_grpc() -> None:
    code = "import sys, hedge_grpc._plugin, hedge_grpc; assert 'grpc' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_adapter_is_discovered_and_compatible() -> None:
    [status] = [status for status in discover_adapters() if status.spec.name == "grpc"]
    assert status.distribution == "hedge-grpc"
    assert status.compatible, status.status
    for public in status.spec.exports:
        assert status.spec.load(public) is getattr(hedge_grpc, public)


def test_seed_import_path_resolves() -> None:
    from hedge.interceptor import HedgedServerStreamInterceptor, HedgedUnaryInterceptor

    assert HedgedUnaryInterceptor is hedge_grpc.HedgedUnaryInterceptor
    assert HedgedServerStreamInterceptor is hedge_grpc.HedgedServerStreamInterceptor


def test_public_names() -> None:
    for name in hedge_grpc.__all__:
        assert getattr(hedge_grpc, name) is not None
    assert set(hedge_grpc.__all__) <= set(dir(hedge_grpc))


def test_floor_matches_pyproject() -> None:
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f'"grpcio>={_plugin.GRPCIO_FLOOR}"' in pyproject
