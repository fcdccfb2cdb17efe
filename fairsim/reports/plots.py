"""Figures of the comparative report, rendered to inline SVG strings.

matplotlib is imported only inside these functions. The object-oriented ``Figure`` API is used
(no ``pyplot``), so no global backend is switched and no window opens; the SVG canvas renders
directly. Output is deterministic: ``svg.hashsalt`` is fixed per figure (and differs between
figures, so element ids do not collide when several SVGs share one HTML page), the date metadata
is dropped, the XML prologue and ``<metadata>`` block are stripped, and text stays text
(``svg.fonttype = 'none'``) so labels are searchable and the file small.

Every function returns ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import io
import math
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairsim.reports.summary import Summary

_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "text.usetex": False,
}


def _tx(label: Any) -> str:
    """A user string safe for matplotlib: ``$`` would start mathtext, so escape it."""
    return str(label).replace("$", r"\$")


@contextmanager
def _figure(name: str, width: float, height: float):
    import matplotlib
    from matplotlib.figure import Figure

    rc: Any = {**_RC, "svg.hashsalt": f"fairsim-{name}"}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width, height), layout="constrained")
        fig.set_label(re.sub(r"[^A-Za-z0-9_-]", "-", name))
        yield fig


def _to_svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = _METADATA.sub("", _PROLOGUE.sub("", buf.getvalue(), count=1))
    # prefix every id (and every reference to one) so several SVGs can share one HTML page
    pre = fig.get_label()
    text = text.replace('id="', f'id="{pre}-').replace("url(#", f"url(#{pre}-")
    text = text.replace('href="#', f'href="#{pre}-')
    return text.strip()


def _grid(k: int, ncols: int = 3) -> tuple[int, int]:
    ncols = max(1, min(ncols, k))
    return int(math.ceil(k / ncols)), ncols


def _mech_axis(ax: Any, mechs: list[str]) -> None:
    ax.set_yticks(range(len(mechs)), [_tx(m) for m in mechs])
    ax.set_ylim(len(mechs) - 0.5, -0.5)  # first mechanism on top


def _panel_size(n_mechs: int) -> float:
    return 0.9 + 0.28 * max(n_mechs, 2)


def metric_means(summary: Summary) -> str | None:
    """Mean of each metric per mechanism with 95% Student-t error bars (one panel per metric,
    mechanisms on the shared vertical axis)."""
    t = summary.metric_table
    t = t[t["group"] == "all"]
    if len(t) == 0:
        return None
    metrics = list(dict.fromkeys(t["metric"]))
    mechs = summary.mechanisms
    rows, cols = _grid(len(metrics))
    label_w = 0.07 * max(len(m) for m in mechs)
    with _figure("metric-means", 2.6 * cols + label_w, _panel_size(len(mechs)) * rows) as fig:
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True).ravel()
        for ax, metric in zip(axes, metrics):
            sub = t[t["metric"] == metric].set_index("mechanism").reindex(mechs)
            m = sub["mean"].to_numpy(dtype=float)
            lo = m - sub["ci_low"].to_numpy(dtype=float)
            hi = sub["ci_high"].to_numpy(dtype=float) - m
            for i in range(len(mechs)):
                ax.errorbar(
                    m[i], i, xerr=[[lo[i]], [hi[i]]], fmt="o", capsize=3, color=f"C{i % 10}"
                )
            ax.set_title(_tx(metric))
            ax.grid(axis="x", alpha=0.3)
            _mech_axis(ax, mechs)
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        return _to_svg(fig)


def axiom_heatmap(summary: Summary) -> str | None:
    """Share of runs satisfying each axiom (rows: mechanisms, columns: axioms)."""
    t = summary.axiom_table
    if len(t) == 0:
        return None
    mechs, axioms = summary.mechanisms, summary.axioms
    share = t.pivot(index="mechanism", columns="axiom", values="share").reindex(
        index=mechs, columns=axioms
    )
    z = share.to_numpy(dtype=float)
    with _figure("axiom-heatmap", 1.1 * len(axioms) + 2.5, 0.45 * len(mechs) + 1.6) as fig:
        ax = fig.subplots()
        im = ax.pcolormesh(np.ma.masked_invalid(z), cmap="RdYlGn", vmin=0.0, vmax=1.0)
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                v = z[i, j]
                ax.text(
                    j + 0.5, i + 0.5, "–" if np.isnan(v) else f"{v:.0%}", ha="center", va="center"
                )
        ax.set_xticks(
            np.arange(len(axioms)) + 0.5, [_tx(a) for a in axioms], rotation=30, ha="right"
        )
        ax.set_yticks(np.arange(len(mechs)) + 0.5, [_tx(m) for m in mechs])
        ax.invert_yaxis()
        fig.colorbar(im, ax=ax, label="share of runs satisfying")
        return _to_svg(fig)


def ratio_distributions(summary: Summary) -> str | None:
    """Box plots of the approximation ratios (``*_ratio`` metrics) per mechanism: box = quartiles,
    whiskers = 5th and 95th percentiles, cross = maximum (no outlier points, so the SVG stays
    small however many runs there are)."""
    metrics = [m for m in summary.ratio_metrics if m in summary.ratio_values]
    return metric_boxes(summary.ratio_values, metrics, summary.mechanisms, "ratio-distributions")


def metric_boxes(
    values: dict[str, dict[str, np.ndarray]], metrics: list[str], mechs: list[str], name: str
) -> str | None:
    """Box plots of per-run metric values, one panel per metric, mechanisms on the shared
    vertical axis: box = quartiles, whiskers = 5th and 95th percentiles, cross = maximum.
    ``values[metric][mechanism]`` holds the finite values; ``name`` makes the SVG ids unique."""
    metrics = [m for m in metrics if m in values]
    if not metrics or not mechs:
        return None
    rows, cols = _grid(len(metrics))
    label_w = 0.07 * max(len(m) for m in mechs)
    with _figure(name, 2.6 * cols + label_w, _panel_size(len(mechs)) * rows) as fig:
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True).ravel()
        for ax, metric in zip(axes, metrics):
            vals = values[metric]
            pos = [i for i, m in enumerate(mechs) if vals.get(m) is not None and vals[m].size]
            if pos:
                data = [vals[mechs[i]] for i in pos]
                ax.boxplot(
                    data,
                    positions=pos,
                    widths=0.6,
                    whis=(5, 95),
                    showfliers=False,
                    orientation="horizontal",
                )
                ax.plot([float(v.max()) for v in data], pos, "x", color="C3")
            ax.set_title(_tx(metric))
            ax.grid(axis="x", alpha=0.3)
            _mech_axis(ax, mechs)
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        return _to_svg(fig)


def round_lines(table: pd.DataFrame, mechs: list[str], ylabel: str, name: str) -> str | None:
    """Mean per round with a 95% band, one line per mechanism. ``table`` has the columns
    ``mechanism, round, mean, ci_low, ci_high``."""
    from matplotlib.ticker import MaxNLocator

    if len(table) == 0:
        return None
    with _figure(name, 5.5, 3.2) as fig:
        ax = fig.subplots()
        for i, mech in enumerate(mechs):
            s = table[table["mechanism"] == mech].sort_values("round", kind="stable")
            if len(s) == 0:
                continue
            x = s["round"].to_numpy(dtype=float)
            ax.plot(
                x,
                s["mean"].to_numpy(dtype=float),
                "o-",
                color=f"C{i % 10}",
                label=_tx(mech),
                markersize=3,
            )
            ax.fill_between(
                x,
                s["ci_low"].to_numpy(dtype=float),
                s["ci_high"].to_numpy(dtype=float),
                color=f"C{i % 10}",
                alpha=0.2,
                linewidth=0,
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("round")
        ax.set_ylabel(_tx(ylabel))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        return _to_svg(fig)


def numeric_params(summary: Summary) -> list[str]:
    """Swept ``param.*`` columns whose values are all numbers, with at least two distinct ones."""
    out = []
    for p in summary.params:
        col = summary.data.results[p].dropna()
        num = pd.to_numeric(col, errors="coerce")
        if len(col) and num.notna().all() and num.nunique() > 1:
            out.append(p)
    return out


def sweep_lines(summary: Summary, param: str) -> str | None:
    """Metric mean vs swept parameter value, one line per mechanism, with 95% CI bands."""
    t = summary.metric_table
    t = t[t["group"] == param].copy()
    if len(t) == 0:
        return None
    t["x"] = pd.to_numeric(t["group_value"], errors="coerce")
    t = t.dropna(subset=["x"]).sort_values("x", kind="stable")
    metrics = list(dict.fromkeys(t["metric"]))
    rows, cols = _grid(len(metrics))
    with _figure(f"sweep-{param}", 3.4 * cols, 2.6 * rows + 0.6) as fig:
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, metric in zip(axes, metrics):
            for i, mech in enumerate(summary.mechanisms):
                s = t[(t["metric"] == metric) & (t["mechanism"] == mech)]
                if len(s) == 0:
                    continue
                x = s["x"].to_numpy(dtype=float)
                ax.plot(
                    x, s["mean"].to_numpy(dtype=float), "o-", color=f"C{i % 10}", label=_tx(mech)
                )
                ax.fill_between(
                    x,
                    s["ci_low"].to_numpy(dtype=float),
                    s["ci_high"].to_numpy(dtype=float),
                    color=f"C{i % 10}",
                    alpha=0.2,
                    linewidth=0,
                )
            ax.set_title(_tx(metric))
            ax.set_xlabel(_tx(param[len("param.") :]))
            ax.grid(alpha=0.3)
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)))
        return _to_svg(fig)


def dynamics(summary: Summary) -> str | None:
    """Mean |outcome - final outcome| against the round of best-response dynamics (log y)."""
    from matplotlib.ticker import MaxNLocator

    d = summary.distance
    if len(d) == 0 or not (d["mean_distance"] > 0).any():
        return None
    with _figure("dynamics", 5.5, 3.2) as fig:
        ax = fig.subplots()
        positive = False
        for i, mech in enumerate(summary.mechanisms):
            s = d[d["mechanism"] == mech]
            y = s["mean_distance"].to_numpy(dtype=float)
            if not (y > 0).any():  # never moved: nothing to show on a log scale
                continue
            positive |= bool((y > 0).any())
            y = np.where(y > 0, y, np.nan)
            ax.plot(s["round"], y, "o-", color=f"C{i % 10}", label=_tx(mech), markersize=3)
        if positive:  # always true here; kept so a later change cannot log-scale zeros
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("round (0 = truthful reports)")
        ax.set_ylabel("mean |outcome − final outcome|")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        return _to_svg(fig)


def all_plots(summary: Summary) -> dict[str, Any]:
    """Every figure of the report: ``{"metrics", "axioms", "ratios", "dynamics": svg or None,
    "sweeps": {param: svg}}``."""
    return {
        "metrics": metric_means(summary),
        "axioms": axiom_heatmap(summary),
        "ratios": ratio_distributions(summary),
        "dynamics": dynamics(summary),
        "sweeps": {
            p: svg for p in numeric_params(summary) if (svg := sweep_lines(summary, p)) is not None
        },
    }
