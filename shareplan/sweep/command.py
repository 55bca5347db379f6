"""``solve sweep INSTANCE --vary PATH=SPEC ...``: the click command.

Registered in :mod:`shareplan.cli` with ``cli.add_command(sweep_cmd)``; also runs
alone as ``python -m shareplan.sweep``. Only click and the CLI helpers are imported
here; the sweep machinery (and dask, matplotlib, pyarrow) loads when it runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli_common import (
    EXIT_OK,
    EXIT_USAGE,
    _bundled,
    _fail,
    guarded,
    make_options,
    solver_options,
)

EXIT_INTERRUPTED = 130

VARY_HELP = """PATH=SPEC: a number in the instance and the values it takes. PATH by field
names and ids (forces.herts.savings_target_gbp, functions.custody.variable_cost_gbp_per_unit,
costs.herts.custody.standalone_cost_gbp, functions.custody.hosts.welwyn_garden_city.capacity,
discount_rate). SPEC: a list (0,0.035), a range with a count (0..12e6:7) or scale factors
of the base value (x0.8,x1,x1.2). Repeat for a grid of every combination."""


@click.command("sweep")
@click.argument("instance", type=str)
@click.option("--vary", "vary_texts", multiple=True, required=True, metavar="PATH=SPEC",
              help=VARY_HELP)
@click.option("--one-at-a-time", is_flag=True,
              help="Vary each PATH alone, the others at their base values (not a grid).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Results table, .csv, .parquet or .xlsx; the journal OUT.journal.jsonl goes "
                   "next to it (run the same command again to resume).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Write a PNG: objective and savings against the varied parameter(s).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Local worker processes [default: the number of cores]; 1 runs in this "
                   "process. Not used with --scheduler.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on a Dask distributed cluster (tcp://host:8786); shareplan must be "
                   "installed on its workers.")
@solver_options
@click.option("--explain", is_flag=True,
              help="Explain infeasible scenarios in the message column (an extra solve each).")
@click.option("--retry-failed", is_flag=True,
              help="Run again the scenarios the journal holds as errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary.")
@guarded
def sweep_cmd(instance, vary_texts, one_at_a_time, out, plot_path, workers, scheduler,
              backend, time_limit, gap, threads, seed, log, explain, retry_failed, quiet):
    """Solve INSTANCE for every combination of --vary values (or one at a time).

    \b
    solve sweep bch-2013 --vary forces.herts.savings_target_gbp=0..12e6:7 \\
        --out herts.csv --plot herts.png
    solve sweep bch-2013 --vary discount_rate=0,0.035 \\
        --vary functions.custody.variable_cost_gbp_per_unit=x0.8,x1,x1.2 --out grid.parquet

    One row per scenario goes to OUT (parameters, status, objective, gap, savings and
    frontline officers per force, the sharing pattern); a scenario that fails is a row
    with its error. Paths that do not exist and values that make the instance invalid
    are refused before anything runs (exit 2). A killed sweep resumes where it stopped.
    """
    from ..formats.extras import need
    from ..formats.tables import SUFFIXES
    from ..models.load import instance_from_data, read_instance_data
    from .journal import Journal, JournalBusy, journal_path
    from .runner import ClusterLost, Job, SchedulerUnreachable, run_sweep
    from .spec import SweepError, prepare

    suffix = Path(out).suffix.lower()
    if suffix not in SUFFIXES:
        raise click.UsageError(f"--out {out}: name a .csv, .parquet or .xlsx file")
    if suffix == ".parquet":  # before any run, not after the last one
        need("pyarrow", "parquet")
    if plot_path and Path(plot_path).suffix.lower() != ".png":
        raise click.UsageError(f"--plot {plot_path}: name a .png file")
    path = _bundled(instance)
    data, digest = read_instance_data(path)
    inst = instance_from_data(data, str(path))
    try:
        if plot_path and len(vary_texts) > 2 and not one_at_a_time:
            raise SweepError("--plot draws one parameter, two (a heatmap) or --one-at-a-time; "
                             f"this grid has {len(vary_texts)}: drop --plot or vary fewer")
        varies, scenarios = prepare(data, list(vary_texts), one_at_a_time, str(path))
    except SweepError as exc:
        _fail("error: " + "\n  ".join(exc.lines), EXIT_USAGE)
    options = make_options(time_limit, gap, threads, seed, log)
    job = Job(data, digest, str(path), backend, options, explain)
    try:  # held until the table and plot are written: one sweep per output at a time
        journal = Journal(journal_path(out))
    except JournalBusy as exc:
        _fail(f"error: {exc}", EXIT_USAGE)
    with journal:
        try:
            outcome = run_sweep(job, scenarios, out, workers=workers, scheduler=scheduler,
                                quiet=quiet, retry_failed=retry_failed, journal=journal)
        except SchedulerUnreachable as exc:
            _fail(f"error: {exc}", EXIT_USAGE)
        except ClusterLost as exc:
            _fail(f"error: {exc}; what finished is in the journal: run the same command "
                  "again once it has workers", EXIT_USAGE)
        except OSError as exc:  # the journal cannot be written (a full disk)
            _fail(f"error: cannot write {exc.filename or journal.path}: "
                  f"{exc.strerror or exc}; every scenario finished before is in the "
                  "journal: free the space and run the same command again", EXIT_USAGE)
        if outcome.interrupted:
            click.echo(f"interrupted: {len(outcome.results)} of {len(scenarios)} scenarios "
                       "are in the journal; run the same command again to finish", err=True)
            sys.exit(EXIT_INTERRUPTED)
        try:
            df = _write_outputs(outcome, varies, inst, out, plot_path, one_at_a_time)
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            _fail(f"error: cannot write{where}: {exc.strerror or exc}; the old file is "
                  "intact and every result is in the journal: free the space (or fix the "
                  "path) and run the same command again", EXIT_USAGE)
    if not quiet:
        from .summary import print_summary

        paths = [v.target.path for v in varies]
        print_summary(df, paths, outcome, out, plot_path)
    sys.exit(EXIT_OK)


def _write_outputs(outcome, varies, inst, out: str, plot_path: str | None,
                   one_at_a_time: bool):
    """Write the table and the plot; the table's DataFrame."""
    from .table import table_of, write_table

    paths = [v.target.path for v in varies]
    df = table_of(outcome.results, paths, [f.id for f in inst.forces], one_at_a_time)
    write_table(df, out)
    if plot_path:
        from .plot import PlotInfo, plot_sweep

        what = ", ".join(paths) if len(paths) < 3 else f"{len(paths)} parameters"
        info = PlotInfo(
            paths=paths, forces=[(f.id, f.name) for f in inst.forces],
            targets={f.id: f.savings_target_gbp for f in inst.forces},
            horizon_years=inst.horizon_years,
            title=f"{inst.name}: " + ("one at a time: " if one_at_a_time else "sweep of ") + what,
            objective_label="total cost" if inst.objective.sense == "min_cost" else "objective")
        plot_sweep(df, info, plot_path, one_at_a_time)
    return df
