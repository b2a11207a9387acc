"""Charts of a run (needs the ``plot`` extra: matplotlib).

* ``percentiles.png`` — per framework, the latency percentiles of every
  configuration side by side (log scale: p50 and p99.9 differ tenfold);
* ``cdf.png`` — per framework, the latency distribution of every
  configuration, on a logit scale so that the tail (p90 to p99.9), where
  hedging acts, is as wide as the body;
* ``frontier.png`` (``simulate``) — p99 against extra load for each point
  of the settings grid.

Rendered with the non-interactive Agg backend, so no display is needed.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ._summary import PERCENTILES

__all__ = ["plot_frontier", "plot_run"]

T = TypeVar("T")

_COLORS = ("#7f7f7f", "#1f77b4", "#9467bd", "#2ca02c", "#d62728", "#ff7f0e", "#17becf")


_CDF_TICKS = {0.1: "p10", 0.5: "p50", 0.9: "p90", 0.99: "p99", 0.999: "p99.9"}


def _null_locator() -> Any:
    from matplotlib.ticker import NullLocator

    return NullLocator()


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _quiet(function: Callable[..., T]) -> Callable[..., T]:
    """Run a chart function with DeprecationWarnings silenced.

    Older matplotlib releases (the last for Python 3.9) call pyparsing APIs
    that newer pyparsing deprecates, at import and while drawing text:
    nothing a user of hedge-bench can act on.
    """

    @functools.wraps(function)
    def quiet(*args: Any, **kwargs: Any) -> T:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return function(*args, **kwargs)

    return quiet


def _grid(count: int) -> tuple[int, int]:
    columns = min(3, count)
    return math.ceil(count / columns), columns


@_quiet
def plot_run(
    rows: Sequence[dict[str, Any]],
    latencies: dict[tuple[str, str], list[float]],
    labels: dict[str, str],
    out: Path,
    title: str,
) -> list[Path]:
    """Draw ``percentiles.png`` and ``cdf.png`` into ``out``; return their paths.

    Args:
        rows: summary rows (``framework``, ``configuration`` and the percentile columns).
        latencies: every measured latency (ms) by ``(framework, configuration)``.
        labels: configuration slug to its display label.
        out: the output directory.
        title: a line saying what was measured.

    Raises:
        ImportError: if matplotlib is not installed.

    """
    plt = _pyplot()
    frameworks = list(dict.fromkeys(row["framework"] for row in rows))
    configurations = list(dict.fromkeys(row["configuration"] for row in rows))
    color = {slug: _COLORS[index % len(_COLORS)] for index, slug in enumerate(configurations)}
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    nrows, ncols = _grid(len(frameworks))
    figure, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    names = [name for name, _ in PERCENTILES]
    width = 0.8 / max(1, len(configurations))
    for index, framework in enumerate(frameworks):
        axis = axes[index // ncols][index % ncols]
        for position, slug in enumerate(configurations):
            row = next((r for r in rows if r["framework"] == framework and r["configuration"] == slug), None)
            if row is None:
                continue
            xs = [i + (position - (len(configurations) - 1) / 2) * width for i in range(len(names))]
            axis.bar(xs, [row[name] for name in names], width, color=color[slug], label=labels[slug])
        axis.set_xticks(range(len(names)))
        axis.set_xticklabels(names)
        axis.set_yscale("log")
        axis.set_ylabel("latency (ms)")
        axis.set_title(framework)
        axis.grid(axis="y", which="both", alpha=0.3)
    for index in range(len(frameworks), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    handles, legend = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, legend, loc="lower center", ncol=len(configurations), frameon=False)
    figure.suptitle(f"Latency percentiles per configuration\n{title}", fontsize=10)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    paths.append(out / "percentiles.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)

    figure, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    for index, framework in enumerate(frameworks):
        axis = axes[index // ncols][index % ncols]
        for slug in configurations:
            values = sorted(latencies.get((framework, slug), []))
            if not values:
                continue
            count = len(values)
            # Plotting positions strictly inside (0, 1), as the logit scale needs.
            axis.plot(
                values,
                [(rank + 0.5) / count for rank in range(count)],
                color=color[slug],
                label=labels[slug],
                linewidth=1.4,
            )
        axis.set_xscale("log")
        axis.set_yscale("logit")
        axis.set_ylim(0.05, 0.9995)
        axis.set_yticks(list(_CDF_TICKS))
        axis.set_yticklabels(list(_CDF_TICKS.values()))
        axis.yaxis.set_minor_locator(_null_locator())
        axis.set_xlabel("latency (ms)")
        axis.set_ylabel("percentile")
        axis.set_title(framework)
        axis.grid(which="both", alpha=0.3)
    for index in range(len(frameworks), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    handles, legend = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, legend, loc="lower center", ncol=len(configurations), frameon=False)
    figure.suptitle(f"Latency CDF per configuration\n{title}", fontsize=10)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    paths.append(out / "cdf.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)
    return paths


@_quiet
def plot_frontier(points: Sequence[dict[str, Any]], out: Path, title: str) -> Path:
    """Draw ``frontier.png``: p99 against extra load, one line per ``max_hedges``.

    Raises:
        ImportError: if matplotlib is not installed.

    """
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(6.4, 4.4))
    by_hedges: dict[int, list[dict[str, Any]]] = {}
    for point in points:
        by_hedges.setdefault(int(point["max_hedges"]), []).append(point)
    for index, (hedges, group) in enumerate(sorted(by_hedges.items())):
        group = sorted(group, key=lambda point: point["extra_percent"])
        xs = [point["extra_percent"] for point in group]
        ys = [point["p99"] for point in group]
        style = "s" if hedges == 0 else "o-"
        axis.plot(xs, ys, style, color=_COLORS[index % len(_COLORS)], label=f"max_hedges={hedges}")
        for point in group:
            if hedges and point.get("percentile") is not None:
                axis.annotate(
                    f"p{100 * point['percentile']:g}",
                    (point["extra_percent"], point["p99"]),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )
    axis.set_xlabel("extra load (% of requests)")
    axis.set_ylabel("p99 latency (ms)")
    axis.grid(alpha=0.3)
    axis.legend(frameon=False)
    axis.set_title(f"Simulated frontier\n{title}", fontsize=10)
    figure.tight_layout()
    path = out / "frontier.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
