"""The ``solve`` command line (click): one command per job, exit codes in cli_common."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import click

from .analyses.shares_command import shares_cmd
from .cli_common import (
    EXIT_CHECK,
    EXIT_OK,
    _bundled,
    _read_plan,
    exit_code_for,
    guarded,
    make_options,
    protect_pipes,
    solver_options,
)
from .reports.options import shadow_option
from .sweep.command import sweep_cmd


class DefaultGroup(click.Group):
    """``solve INSTANCE ...`` runs the ``run`` command; ``solve CMD ...`` runs CMD."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shareplan")
def cli():
    """Plan which police support functions to share, with whom, and where.

    \b
    solve INSTANCE            solve and print the plan (see 'solve run --help')
    solve check INSTANCE PLAN verify a plan independently
    solve template FILE.xlsx  a workbook to fill in (every command reads .xlsx)
    solve report INSTANCE --html FILE   a board report with charts and a map
    """


@cli.command("run")
@click.argument("instance", type=str)
@solver_options
@click.option("--out", type=click.Path(dir_okay=False), help="Write the plan JSON here.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False),
              help="Write the plan's tables (units.csv, forces.csv, yearly.csv, unit_years.csv) "
                   "and the briefing tables into this directory.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False),
              help="Write the plan as a workbook (summary, forces, units, functions, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@shadow_option
@click.option("--decomposition", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True,
              help="Unit-column decomposition (price, bound, fix, close) for one-block "
                   "instances with per-force targets or floors: auto uses it where it pays.")
@guarded
def run_cmd(instance, backend, time_limit, gap, threads, seed, log, out, csv_dir, xlsx_path,
            as_json, quiet, shadow_budget, decomposition):
    """Solve INSTANCE (a .json or .xlsx file, or a bundled name such as bch-2013) and print
    the plan as a briefing."""
    from .io import atomic_write_json
    from .models.load import load_instance
    from .solver.run import solve_instance

    path = _bundled(instance)
    inst, digest = load_instance(path)
    options = replace(make_options(time_limit, gap, threads, seed, log),
                      decomposition=decomposition)
    plan = solve_instance(inst, backend, options, digest=digest,
                          progress=sys.stderr.isatty())  # quiet when piped
    briefing = None
    if as_json or csv_dir or xlsx_path or not quiet:
        from .reports.options import briefing_for

        if time_limit is not None:  # the shadow re-solves share the run's time limit
            shadow_budget = min(shadow_budget, max(0.0, time_limit - plan.times["total_s"]))
        briefing = briefing_for(inst, plan.to_dict(), backend, options, shadow_budget)
    if out:
        atomic_write_json(out, plan.to_dict())
    if csv_dir and plan.has_solution:
        from .report import write_csv

        write_csv(plan, csv_dir, briefing)
    if xlsx_path and plan.has_solution:
        from .formats.plan_xlsx import write_plan_workbook

        write_plan_workbook(briefing, plan.to_dict(), xlsx_path)
    if as_json:
        click.echo(json.dumps({**plan.to_dict(), "briefing": briefing.as_dict()}, indent=2,
                              ensure_ascii=False))
    elif not quiet:
        from .report import make_console, print_plan

        width = make_console().width
        print_plan(plan, briefing)
        _echo_wrapped(f"instance file: {path} (sha256 {digest[:12]})", width)
        _print_warnings(inst, width)
    elif not plan.has_solution and plan.message:
        click.echo(f"{plan.status.value}: {plan.message}", err=True)
    sys.exit(exit_code_for(plan.status))


@cli.command("validate")
@click.argument("instance", type=str)
@guarded
def validate_cmd(instance):
    """Check INSTANCE against the schema and every rule; exit 2 with the problems."""
    from .models.load import load_instance

    path = _bundled(instance)
    inst, digest = load_instance(path)
    shareable = sum(1 for s in inst.functions if s.shareable)
    _print_warnings(inst)
    click.echo(f"{path}: valid ({len(inst.forces)} forces, {shareable} shareable and "
               f"{len(inst.functions) - shareable} local functions, {len(inst.sites)} sites; "
               f"sha256 {digest[:12]})")


@cli.command("schema")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the schema here.")
@guarded
def schema_cmd(out):
    """Print the JSON Schema of instance files (for editors)."""
    from .io import atomic_write_json
    from .models.instance import Instance

    schema = Instance.model_json_schema()
    if out:
        atomic_write_json(out, schema)
    else:
        click.echo(json.dumps(schema, indent=2))


@cli.command("export")
@click.argument("instance", type=str)
@click.option("--lp", "lp_path", type=click.Path(dir_okay=False), help="Write an LP file.")
@click.option("--mps", "mps_path", type=click.Path(dir_okay=False), help="Write an MPS file.")
@guarded
def export_cmd(instance, lp_path, mps_path):
    """Write the model of INSTANCE with readable names (x(custody,herts,kempston), linking(...))."""
    if not (lp_path or mps_path):
        raise click.UsageError("give --lp FILE or --mps FILE")
    import tempfile

    from .io import atomic_write_bytes
    from .models.load import load_instance
    from .models.network import build_network
    from .solver.backends.highs import write_model
    from .solver.formulation import build_formulation

    inst, _ = load_instance(_bundled(instance))
    lp = build_formulation(build_network(inst)).lp
    for path, suffix in ((lp_path, ".lp"), (mps_path, ".mps")):
        if path:
            with tempfile.TemporaryDirectory() as tmp:
                scratch = Path(tmp) / f"model{suffix}"
                write_model(lp, str(scratch))
                atomic_write_bytes(path, scratch.read_bytes())
            click.echo(f"wrote {path} ({lp.n_cols} variables, {lp.n_rows} constraints)")


@cli.command("check")
@click.argument("instance", type=str)
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Violations as JSON on stdout.")
@click.option("--allow-other-instance", is_flag=True,
              help="Check a plan made from another version of the instance (its sha256 "
                   "differs); the output says so.")
@guarded
def check_cmd(instance, plan_file, as_json, allow_other_instance):
    """Verify PLAN_FILE against INSTANCE without any solver; exit 5 on violations.

    Refused: a plan made from another version of the instance, a file with no plan in
    it (an infeasible run's result), figures that disagree with the units, with each
    other or with the instance, a status, bound and gap that contradict each other.
    """
    from .models.load import load_instance
    from .solver.checker import check_plan_file, describe_where

    path = _bundled(instance)
    inst, digest = load_instance(path)
    plan = _read_plan(plan_file)
    violations = check_plan_file(inst, plan, digest, allow_other_instance)
    other = plan.get("instance_sha256") != digest
    note = (f"note: the plan was made from another instance (sha256 "
            f"{str(plan.get('instance_sha256'))[:12]}, this file {digest[:12]}); checked "
            "anyway because of --allow-other-instance") if allow_other_instance and other \
        else ""
    if as_json:
        click.echo(json.dumps({"plan": plan_file, "instance_file": str(path),
                               "instance_sha256": digest, "checks_out": not violations,
                               "allow_other_instance": bool(allow_other_instance and other),
                               "violations": [{"rule": v.rule, "where": v.where,
                                               "place": describe_where(inst, plan, v.where),
                                               "message": v.message} for v in violations]},
                              indent=2))
    else:
        if note:
            click.echo(note)
        if violations:
            click.echo(f"{plan_file}: {len(violations)} violation(s) against {path}")
            for v in violations:
                click.echo(f"  [{v.rule}] {describe_where(inst, plan, v.where)}: {v.message}")
        else:
            click.echo(f"{plan_file}: plan checks out against {path} "
                       "(every constraint and cost recomputed)")
    sys.exit(EXIT_CHECK if violations else EXIT_OK)


@cli.command("compare")
@click.argument("instance", type=str)
@click.option("--backends", default="cbc,ortools", show_default=True,
              help="Comma-separated backends to run side by side.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True))
@click.option("--gap", type=click.FloatRange(min=0), default=1e-6, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Results as JSON on stdout.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False),
              help="Write the runs and plan differences as a workbook.")
@guarded
def compare_cmd(instance, backends, time_limit, gap, threads, seed, as_json, xlsx_path):
    """Solve INSTANCE on several backends; exit 5 when proven optima disagree."""
    from .analyses.compare import compare_backends
    from .models.load import load_instance
    from .solver.backends import REGISTRY

    names = [b.strip() for b in backends.split(",") if b.strip()]
    unknown = [b for b in names if b not in REGISTRY]
    if unknown or not names:
        raise click.BadParameter(f"unknown backend(s) {unknown}; choose from "
                                 f"{', '.join(REGISTRY)}", param_hint="--backends")
    inst, digest = load_instance(_bundled(instance))
    result = compare_backends(inst, names, make_options(time_limit, gap, threads, seed, False),
                              digest)
    if xlsx_path:
        from .formats.tables import write_workbook

        write_workbook(result.tables(), xlsx_path)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from .report import print_comparison

        print_comparison(result)
    sys.exit(EXIT_CHECK if result.disagreements else EXIT_OK)


@cli.command("diff")
@click.argument("plan_a", type=click.Path(dir_okay=False))
@click.argument("plan_b", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="The differences as JSON on stdout.")
@guarded
def diff_cmd(plan_a, plan_b, as_json):
    """What changed from PLAN_A to PLAN_B, in planner terms."""
    from dataclasses import asdict

    from .analysis import diff_plans

    plans = [_read_plan(p, strict=True) for p in (plan_a, plan_b)]
    diff = diff_plans(*plans)
    if as_json:
        click.echo(json.dumps({**asdict(diff), "identical": diff.identical}, indent=2))
    else:
        from .report import print_diff

        print_diff(diff, plan_a, plan_b)


def _print_warnings(inst, width: int | None = None) -> None:
    """Figures that load but look like a slip (a target of £30 meant as £30m), one each."""
    from .models.rules import check_warnings

    for w in check_warnings(inst):
        _echo_wrapped(f"warning: {w}", width)


def _echo_wrapped(text: str, width: int | None) -> None:
    """A line wrapped at spaces to the terminal's width (paths are never broken)."""
    import textwrap

    lines = textwrap.wrap(text, width, subsequent_indent="  ", break_long_words=False,
                          break_on_hyphens=False) if width else [text]
    click.echo("\n".join(lines or [text]))


def _write_instance(data: dict, out: str) -> None:
    """Validate an instance dict (so every written file loads) and write it atomically."""
    from .io import atomic_write_json
    from .models.load import instance_from_data

    instance_from_data(data, out)
    atomic_write_json(out, data)


@cli.group("convert")
def convert_group():
    """Turn facility-location benchmark files into ordinary instances."""


@convert_group.command("orlib")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--capacity", type=click.FloatRange(min=0, min_open=True),
              help="Capacity of every site (required for capa/capb/capc).")
@click.option("--single-source", is_flag=True, help="Each customer served by one site.")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@guarded
def convert_orlib_cmd(file, capacity, single_source, out):
    """OR-Library cap41..cap134, capa/capb/capc (multi-source unless --single-source)."""
    from .convert import orlib_to_instance

    _convert(orlib_to_instance, out, file, capacity=capacity, single_source=single_source)


def _convert(read, out: str, *args, **kwargs) -> None:
    """A benchmark file read into an instance (a bad file is a usage error), written."""
    try:
        data = read(*args, **kwargs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    _write_instance(data, out)
    click.echo(f"wrote {out} ({len(data['forces'])} customers, {len(data['sites'])} sites)")


@convert_group.command("holmberg")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@guarded
def convert_holmberg_cmd(file, out):
    """Holmberg, Ronnqvist and Yuan (1999) single-source files p1..p71."""
    from .convert import holmberg_to_instance

    _convert(holmberg_to_instance, out, file)


@convert_group.command("yang")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@guarded
def convert_yang_cmd(file, out):
    """Yang, Chu and Chen (2012) single-source files p1..p20 (whole numbers only)."""
    from .convert import yang_to_instance

    _convert(yang_to_instance, out, file)


@cli.command("generate")
@click.option("--forces", type=click.IntRange(min=1, max=5000), default=10, show_default=True)
@click.option("--functions", type=click.IntRange(min=1, max=100), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-distance", type=click.FloatRange(min=0, max=50_000, min_open=True),
              default=150.0,
              show_default=True, help="km within which forces may share a unit.")
@click.option("--no-targets", is_flag=True, help="No per-force savings targets.")
@click.option("--one-block", is_flag=True,
              help="Lay the forces out like England and Wales (each within reach of another), "
                   "so the distance rule joins them all into one block.")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@guarded
def generate_cmd(forces, functions, seed, max_distance, no_targets, one_block, out):
    """A seeded synthetic instance of any size the loader reads (same seed, same file)."""
    from .generate import generate_instance, largest_forces
    from .models.load import MAX_INSTANCE_BYTES

    most = largest_forces(functions)
    if forces > most:
        raise click.BadParameter(
            f"{forces} forces with {functions} functions would write a file larger than "
            f"the {MAX_INSTANCE_BYTES / 2**20:.0f} MiB an instance may have; with "
            f"{functions} functions give at most {most} forces (or fewer functions)",
            param_hint="--forces")
    data = generate_instance(forces=forces, functions=functions, seed=seed,
                             max_distance_km=max_distance, targets=not no_targets,
                             one_block=one_block)
    _write_instance(data, out)
    click.echo(f"wrote {out} ({forces} forces, {functions} shareable functions, seed {seed})")


@cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--from", "source", metavar="INSTANCE",
              help="Fill the workbook from this instance (e.g. bch-2013) as an example.")
@guarded
def template_cmd(file, source):
    """Write a workbook to fill in (forces, functions, sites, costs, existing units, policy,
    settings); solve it with 'solve FILE.xlsx'. With --from, FILE may be a folder: the same
    sheets as CSV files, which every command reads too."""
    from .formats.instance_xlsx import write_instance_workbook
    from .models.load import load_instance

    inst = load_instance(_bundled(source))[0] if source else None
    if file.lower().endswith(".xlsx"):
        write_instance_workbook(inst, file)
    elif inst is not None and not Path(file).suffix:  # a folder of CSV sheets
        from .formats.instance_xlsx import write_instance_folder

        write_instance_folder(inst, file)
    else:
        raise click.UsageError(f"{file}: name a .xlsx file (or, with --from, a folder for "
                               "CSV sheets)")
    click.echo(f"wrote {file}" + (f" (from {inst.name})" if inst else " (empty template)"))


@cli.command("report")
@click.argument("instance", type=str)
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@click.option("--html", "html_path", required=True, type=click.Path(dir_okay=False),
              help="Write the board report here (one self-contained file).")
@solver_options
@shadow_option
@guarded
def report_cmd(instance, plan_file, html_path, backend, time_limit, gap, threads, seed, log,
               shadow_budget):
    """A board report of INSTANCE: the briefing, charts and a map, in one HTML file that
    opens offline. Solves INSTANCE unless PLAN_FILE (from 'solve --out') is given."""
    from .models.load import load_instance
    from .reports.html import write_report
    from .reports.options import briefing_for
    from .solver.checker import check_plan
    from .solver.run import solve_instance

    inst, digest = load_instance(_bundled(instance))
    options = make_options(time_limit, gap, threads, seed, log)
    if plan_file:
        plan = _read_plan(plan_file, strict=True)
        violations = check_plan(inst, plan) if plan.get("status") in ("optimal",
                                                                        "feasible") else []
        if violations:
            click.echo(f"{plan_file}: does not check out against {instance} "
                       f"({len(violations)} violation(s), e.g. {violations[0]}); no report",
                       err=True)
            sys.exit(EXIT_CHECK)
    else:
        plan = solve_instance(inst, backend, options, digest=digest).to_dict()
    briefing = briefing_for(inst, plan, backend, options, shadow_budget)
    size = write_report(inst, plan, briefing, html_path)
    click.echo(f"wrote {html_path} ({size / 1024:,.0f} KiB; status {plan['status']})")
    from .solver.core import Status

    sys.exit(exit_code_for(Status(plan["status"])))


def _parse_slack(text: str) -> float:
    """'1%' or '0.01' -> 0.01."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise click.BadParameter(f"'{text}' is not a slack; write a percentage such as 1% or "
                                 "a fraction such as 0.01", param_hint="--slack")
    return value


@cli.command("alternatives")
@click.argument("instance", type=str)
@solver_options
@click.option("--slack", default="1%", show_default=True,
              help="How much dearer than the least cost a plan may be: 1% or 0.01.")
@click.option("--slack-of", "basis", type=click.Choice(["decisions", "total"]),
              default="decisions", show_default=True,
              help="Slack as a share of the cost decisions change, or of the total cost.")
@click.option("--n", "n_plans", type=click.IntRange(min=1, max=1000), default=10,
              show_default=True, help="Plans wanted, the least-cost plan included.")
@click.option("--fewest-units-at", metavar="SITE|FORCE", help="Direction: fewest units there.")
@click.option("--most-units-at", metavar="SITE|FORCE", help="Direction: most units there.")
@click.option("--even-spread", is_flag=True,
              help="Direction: hosted units spread as evenly as possible across forces.")
@click.option("--closest-to", type=click.Path(dir_okay=False), metavar="PLAN",
              help="Direction: plans as close as possible to this plan file.")
@click.option("--keep-local", multiple=True, metavar="FUNCTION[:FORCE]",
              help="Every alternative keeps this function local (for every force, or one).")
@click.option("--json", "as_json", is_flag=True, help="The alternatives as JSON on stdout.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False),
              help="Write alternatives.csv, decisions.csv and changes.csv here.")
@click.option("--out-dir", type=click.Path(file_okay=False),
              help="Write one plan file per alternative here (plan-00.json = least cost).")
@guarded
def alternatives_cmd(instance, backend, time_limit, gap, threads, seed, log, slack, basis,
                     n_plans, fewest_units_at, most_units_at, even_spread, closest_to,
                     keep_local, as_json, csv_dir, out_dir):
    """Distinct near-optimal plans of INSTANCE, and which decisions are firm or open."""
    from .analyses.alternatives import SOLVER_ERROR, Direction, find_alternatives
    from .cli_common import EXIT_INTERNAL
    from .models.load import load_instance

    chosen = [d for d in (fewest_units_at and Direction("fewest_units", fewest_units_at),
                          most_units_at and Direction("most_units", most_units_at),
                          even_spread and Direction("even_spread"),
                          closest_to and Direction("closest", reference=_read_plan(
                              closest_to, strict=True))) if d]
    if len(chosen) > 1:
        raise click.UsageError("give one direction at most (--fewest-units-at, "
                               "--most-units-at, --even-spread, --closest-to)")
    inst, digest = load_instance(_bundled(instance))
    result = find_alternatives(inst, n=n_plans, slack=_parse_slack(slack), backend=backend,
                               options=make_options(time_limit, gap, threads, seed, log),
                               basis=basis, direction=chosen[0] if chosen else None,
                               keep_local=list(keep_local), digest=digest,
                               source=closest_to or instance)
    from .analyses import alternatives_report as report

    if csv_dir and result.alternatives:
        report.write_csv(result, csv_dir)
    if out_dir and result.alternatives:
        report.write_plans(result, out_dir)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        report.print_alternatives(result, n_plans)
    code = exit_code_for(result.optimum_status)
    sys.exit(EXIT_INTERNAL if code == EXIT_OK and result.search == SOLVER_ERROR else code)


cli.add_command(sweep_cmd)
cli.add_command(shares_cmd)


def main() -> None:
    from .solver.deadline import exit_past_abandoned_solvers

    protect_pipes()
    with exit_past_abandoned_solvers():  # a solver stopped past its limit never hangs exit
        cli(prog_name="solve")


if __name__ == "__main__":
    main()
