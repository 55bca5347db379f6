"""The sweep plot (matplotlib figures, Agg, no pyplot state): what changes as a parameter moves.

One parameter (or ``--one-at-a-time``, a column per parameter): the objective on
top and each force's savings below (its target dotted), money in £m; a dashed line
where the sharing pattern changes, each stretch of one pattern lettered (A, B, ...)
and the patterns spelt out under the plot; scenarios without a plan as red crosses.
Two parameters: heatmaps of the objective (cells lettered by pattern) and of each
force's savings.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass

from .patterns import describe, letters

MAX_FORCE_PANELS = 6  # beyond this, the heatmaps show total savings instead
FORCE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f", "#d62728"]
NO_PLAN = "#d62728"


@dataclass(frozen=True)
class PlotInfo:
    """What the plot needs beyond the table."""

    paths: list[str]
    forces: list[tuple[str, str]]  # (id, name)
    targets: dict[str, float | None]  # force id -> savings target in the base instance
    horizon_years: int
    title: str
    objective_label: str = "total cost"


# --------------------------------------------------------------- units ---

@dataclass(frozen=True)
class _Scale:
    """How a parameter's values read: £m, £, % or plain."""

    kind: str  # "£m" | "£" | "%" | ""

    @classmethod
    def of(cls, path: str, values) -> _Scale:
        last = path.rsplit(".", 1)[-1]
        if "gbp" in last or ".arc_cost_gbp." in path:
            big = max((abs(v) for v in values if v == v), default=0) >= 1e5
            return cls("£m" if big else "£")
        if last.endswith("rate"):
            return cls("%")
        return cls("")

    def text(self, v: float, digits: int = 4) -> str:
        if self.kind == "£m":
            return f"£{v / 1e6:,.{digits}g}m"
        if self.kind == "£":
            return f"£{v:,.{digits}g}"
        if self.kind == "%":
            return f"{100 * v:.{digits}g}%"
        return f"{v:,.{digits}g}"

    def label(self, path: str) -> str:
        return f"{path} ({self.kind})" if self.kind else path

    def format_axis(self, axis) -> None:
        from matplotlib.ticker import FuncFormatter, PercentFormatter

        if self.kind == "£m":
            _millions(axis)
        elif self.kind == "%":
            axis.set_major_formatter(PercentFormatter(1.0))
        elif self.kind == "£":
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"£{v:,.4g}"))


def _millions(axis) -> None:
    """Ticks in £m with the decimals the ticks need (£12.5m, £15m -> £12.5m, £15.0m)."""
    from matplotlib.ticker import Formatter

    class Millions(Formatter):
        decimals = 0

        def __call__(self, x, pos=None):
            return f"£{x / 1e6:,.{self.decimals}f}m"

        def format_ticks(self, values):
            m = [v / 1e6 for v in values]
            tol = 1e-9 * max([1.0] + [abs(v) for v in m])
            self.decimals = next((d for d in range(7)
                                  if all(abs(v - round(v, d)) <= tol for v in m)), 6)
            return [self(v) for v in values]

    axis.set_major_formatter(Millions())


# ---------------------------------------------------------------- common ---

def _key_lines(lettered: dict[str, str], width: int) -> list[str]:
    lines: list[str] = []
    for letter, text in describe(lettered).items():
        text = f"{letter}{'' if text.startswith('=') else ':'} {text}"
        lines.extend(textwrap.wrap(text, width, subsequent_indent="     ",
                                   break_on_hyphens=False) or [text])
    return lines


def _key(fig, lines: list[str], height_in: float, fig_h: float, where: str) -> None:
    """The pattern key in the bottom ``height_in`` inches of the figure."""
    if lines:
        fig.text(0.012, height_in / fig_h, f"Sharing patterns ({where})\n" + "\n".join(lines),
                 ha="left", va="top", fontsize=8.5, family="monospace", linespacing=1.25)


def _key_height(lines: list[str]) -> float:
    return 0.16 * (len(lines) + 1) + 0.2 if lines else 0.0


def _save(fig, out: str) -> None:
    from ..io import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    atomic_write_bytes(out, buf.getvalue())


def plot_sweep(df, info: PlotInfo, out: str, one_at_a_time: bool = False) -> None:
    """Write the PNG for a sweep table (``df`` as :func:`.table.frame` makes it)."""
    if len(info.paths) == 2 and not one_at_a_time:
        _heatmaps(df, info, out)
    else:
        _lines(df, info, out, one_at_a_time)


# ----------------------------------------------------------------- lines ---

def _series(df, path: str, one_at_a_time: bool):
    if one_at_a_time:
        df = df[(df["varied"] == path) | (df["varied"] == "(base)")]
    return df.sort_values(path)


def _runs(x, patterns) -> list[tuple[float, float, str]]:
    """Stretches of one pattern along x: (first x, last x, pattern)."""
    runs: list[tuple[float, float, str]] = []
    for xv, p in zip(x, patterns, strict=True):
        if runs and p == runs[-1][2]:
            runs[-1] = (runs[-1][0], xv, p)
        else:
            runs.append((xv, xv, p))
    return runs


def _lines(df, info: PlotInfo, out: str, one_at_a_time: bool) -> None:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    lettered = letters(df.sort_values("scenario")["pattern"])
    ncol = len(info.paths)
    width = max(10.0, 5.5 * ncol)
    key = _key_lines(lettered, int(width * 12.5))
    key_h = _key_height(key)
    fig_h = 7.8 + key_h
    fig = Figure(figsize=(width, fig_h))
    grid = fig.add_gridspec(2, ncol, left=1.45 / width, right=1 - 0.25 / width,
                            top=1 - (1.55 + 0.15 * (ncol > 1)) / fig_h,
                            bottom=(key_h + 0.65) / fig_h, hspace=0.2, wspace=0.25,
                            height_ratios=[1, 1.25])
    colour = {fid: FORCE_COLOURS[k % len(FORCE_COLOURS)]
              for k, (fid, _) in enumerate(info.forces)}
    years = f"{info.horizon_years} years"
    for c, path in enumerate(info.paths):
        s = _series(df, path, one_at_a_time)
        x = s[path].astype(float).to_numpy()
        scale = _Scale.of(path, x)
        ok = s["objective_gbp"].notna().to_numpy()
        top = fig.add_subplot(grid[0, c])
        bot = fig.add_subplot(grid[1, c], sharex=top)
        top.plot(x[ok], s["objective_gbp"].to_numpy()[ok], "o-", color="black", ms=4)
        for fid, _ in info.forces:
            bot.plot(x[ok], s[f"savings_{fid}_gbp"].to_numpy()[ok], "o-", color=colour[fid],
                     ms=3.5)
            if path == f"forces.{fid}.savings_target_gbp":
                bot.plot(x, x, ":", color=colour[fid], lw=1.4)
            elif info.targets.get(fid) is not None:
                bot.axhline(info.targets[fid], ls=":", color=colour[fid], lw=1.2)
        if (~ok).any():
            for ax in (top, bot):
                ax.plot(x[~ok], [0.03] * int((~ok).sum()), "x", color=NO_PLAN, ms=9, mew=2,
                        transform=ax.get_xaxis_transform(), clip_on=False)
        runs = _runs(x, s["pattern"].to_numpy())
        for before, after in zip(runs, runs[1:], strict=False):
            for ax in (top, bot):
                ax.axvline((before[1] + after[0]) / 2, ls="--", color="#555555", lw=1)
        statuses = dict(zip(x, s["status"], strict=True))
        for lo, hi, pattern in runs:
            if pattern in lettered:
                label, colour_ = lettered[pattern], "#333333"
            elif all(statuses[v] == "infeasible" for v in x if lo <= v <= hi):
                label, colour_ = "infeasible", NO_PLAN
            else:
                label, colour_ = "no plan", NO_PLAN
            top.annotate(label, xy=((lo + hi) / 2, 1.0), xycoords=("data", "axes fraction"),
                         xytext=(0, 4), textcoords="offset points", ha="center", va="bottom",
                         fontsize=11 if pattern else 9.5, fontweight="bold", color=colour_)
        top.set_title((f"{path}\n" if ncol > 1 else "") + f"Objective: {info.objective_label} "
                      f"of all forces over {years}", fontsize=10, pad=20, loc="left")
        bot.set_title(f"Savings per force over {years} (dotted: target)", fontsize=10,
                      loc="left")
        for ax in (top, bot):
            _millions(ax.yaxis)
            ax.grid(True, alpha=0.3)
        scale.format_axis(bot.xaxis)
        top.tick_params(labelbottom=False)
        bot.set_xlabel(scale.label(path))
        if c == 0:
            top.set_ylabel(f"{info.objective_label} (£m)")
            bot.set_ylabel("savings (£m)")
    handles = [Line2D([], [], color="black", marker="o", ms=4, label="objective")]
    handles += [Line2D([], [], color=colour[fid], marker="o", ms=3.5, label=name or fid)
                for fid, name in info.forces]
    handles += [Line2D([], [], color="grey", ls=":", label="savings target"),
                Line2D([], [], color="#555555", ls="--", label="sharing pattern changes")]
    if df["objective_gbp"].isna().any():
        handles.append(Line2D([], [], color=NO_PLAN, marker="x", ls="", mew=2,
                              label="no plan (infeasible or failed)"))
    fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 4),
               bbox_to_anchor=(0.5, 1 - 0.4 / fig_h), frameon=False, fontsize=9)
    fig.suptitle(info.title, fontsize=12, y=1 - 0.1 / fig_h)
    _key(fig, key, key_h, fig_h, "letters above the plot")
    _save(fig, out)


# -------------------------------------------------------------- heatmaps ---

def _heatmaps(df, info: PlotInfo, out: str) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    p1, p2 = info.paths
    xs = sorted(df[p1].dropna().unique())
    ys = sorted(df[p2].dropna().unique())
    sx, sy = _Scale.of(p1, xs), _Scale.of(p2, ys)
    lettered = letters(df.sort_values("scenario")["pattern"])
    panels = [("objective_gbp", f"Objective: {info.objective_label} (£m)")]
    if len(info.forces) <= MAX_FORCE_PANELS:
        panels += [(f"savings_{fid}_gbp", f"{name or fid}: savings (£m)")
                   for fid, name in info.forces]
    else:
        panels.append(("savings_total_gbp", "All forces: savings (£m)"))
    ncol = 2 if len(panels) > 1 else 1
    nrow = math.ceil(len(panels) / ncol)
    cell_w = max(6.0, 0.55 * len(xs) + 3.0)
    cell_h = max(3.8, 0.4 * len(ys) + 2.0)
    width = ncol * cell_w
    key = _key_lines(lettered, int(width * 12.5))
    key_h = _key_height(key)
    fig_h = nrow * cell_h + key_h + 1.2
    fig = Figure(figsize=(width, fig_h))
    grid = fig.add_gridspec(nrow, ncol, left=1.5 / width, right=1 - 1.0 / width,
                            top=1 - 1.1 / fig_h, bottom=(key_h + 1.1) / fig_h,
                            hspace=0.6, wspace=0.45)
    xi = {v: k for k, v in enumerate(xs)}
    yi = {v: k for k, v in enumerate(ys)}
    cells = [(xi.get(r[p1]), yi.get(r[p2]), r) for _, r in df.iterrows()]
    for k, (col, title) in enumerate(panels):
        ax = fig.add_subplot(grid[k // ncol, k % ncol])
        z = np.full((len(ys), len(xs)), np.nan)
        for j, i, r in cells:
            if j is not None and i is not None and r[col] == r[col] and r[col] is not None:
                z[i, j] = r[col]
        im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis",
                       interpolation="nearest")
        bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
        _millions(bar.ax.yaxis)
        ax.set_xticks(range(len(xs)), [sx.text(v) for v in xs], rotation=45, ha="right",
                      fontsize=8)
        ax.set_yticks(range(len(ys)), [sy.text(v) for v in ys], fontsize=8)
        ax.set_xlabel(sx.label(p1), fontsize=9)
        ax.set_ylabel(sy.label(p2), fontsize=9)
        ax.set_title(title, fontsize=10)
        for j, i, r in cells:
            if j is None or i is None:
                continue
            if not r["pattern"]:
                ax.text(j, i, "×", ha="center", va="center", fontsize=12, color=NO_PLAN)
            elif k == 0:
                ax.text(j, i, lettered[r["pattern"]], ha="center", va="center", fontsize=9,
                        color="white", fontweight="bold")
    fig.suptitle(info.title + "\nletters: sharing pattern; ×: no plan (infeasible or failed)",
                 fontsize=11, y=1 - 0.1 / fig_h, va="top")
    _key(fig, key, key_h, fig_h, "letters in the objective's cells")
    _save(fig, out)
