"""The ``solve`` command line (click): one command per job, exit codes in cli_common."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .cli_common import (
    EXIT_CHECK,
    EXIT_OK,
    _bundled,
    exit_code_for,
    guarded,
    make_options,
    solver_options,
)
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
    """


@cli.command("run")
@click.argument("instance", type=str)
@solver_options
@click.option("--out", type=click.Path(dir_okay=False), help="Write the plan JSON here.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False),
              help="Write units.csv and forces.csv into this directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@guarded
def run_cmd(instance, backend, time_limit, gap, threads, seed, log, out, csv_dir, as_json,
            quiet):
    """Solve INSTANCE (a file, or a bundled name such as bch-2013) and print the plan."""
    from .io import atomic_write_json
    from .models.load import load_instance
    from .solver.run import solve_instance

    inst, digest = load_instance(_bundled(instance))
    options = make_options(time_limit, gap, threads, seed, log)
    plan = solve_instance(inst, backend, options, digest=digest,
                          progress=sys.stderr.isatty())  # quiet when piped
    if out:
        atomic_write_json(out, plan.to_dict())
    if csv_dir and plan.has_solution:
        from .report import write_csv

        write_csv(plan, csv_dir)
    if as_json:
        click.echo(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False))
    elif not quiet:
        from .report import print_plan

        print_plan(plan)
    elif not plan.has_solution and plan.message:
        click.echo(f"{plan.status.value}: {plan.message}", err=True)
    sys.exit(exit_code_for(plan.status))


@cli.command("validate")
@click.argument("instance", type=str)
@guarded
def validate_cmd(instance):
    """Check INSTANCE against the schema and every rule; exit 2 with the problems."""
    from .models.load import load_instance

    inst, digest = load_instance(_bundled(instance))
    shareable = sum(1 for s in inst.functions if s.shareable)
    click.echo(f"{instance}: valid ({len(inst.forces)} forces, {shareable} shareable and "
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
    """Write the model of INSTANCE with readable names (x(custody,herts,wgc), link(...))."""
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
@guarded
def check_cmd(instance, plan_file, as_json):
    """Verify PLAN_FILE against INSTANCE without any solver; exit 5 on violations."""
    from .models.load import load_instance
    from .solver.checker import check_plan

    inst, _ = load_instance(_bundled(instance))
    plan = _read_plan(plan_file)
    violations = check_plan(inst, plan)
    if as_json:
        click.echo(json.dumps([{"rule": v.rule, "where": v.where, "message": v.message}
                               for v in violations], indent=2))
    elif violations:
        click.echo(f"{plan_file}: {len(violations)} violation(s)")
        for v in violations:
            click.echo(f"  [{v.rule}] {v.where}: {v.message}")
    else:
        click.echo(f"{plan_file}: plan checks out against {instance} "
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
@guarded
def compare_cmd(instance, backends, time_limit, gap, threads, seed, as_json):
    """Solve INSTANCE on several backends; exit 5 when proven optima disagree."""
    from .analysis import diff_plans, optima_disagree, provenance
    from .models.load import load_instance
    from .solver.backends import REGISTRY
    from .solver.backends.base import BackendError
    from .solver.run import solve_instance

    names = [b.strip() for b in backends.split(",") if b.strip()]
    unknown = [b for b in names if b not in REGISTRY]
    if unknown or not names:
        raise click.BadParameter(f"unknown backend(s) {unknown}; choose from "
                                 f"{', '.join(REGISTRY)}", param_hint="--backends")
    inst, digest = load_instance(_bundled(instance))
    options = make_options(time_limit, gap, threads, seed, False)
    plans = []
    for name in names:
        try:
            plans.append(solve_instance(inst, name, options, digest=digest).to_dict())
        except BackendError as exc:
            plans.append({"backend": name, "status": "error", "message": str(exc),
                          "objective": None, "bound": None, "gap": None, "times": {},
                          "solver": {}, "units": [], "forces": []})
    disagreements = optima_disagree(plans, gap)
    solved = [p for p in plans if p["status"] in ("optimal", "feasible")]
    base = solved[0] if solved else plans[0]
    diffs = {p["backend"]: diff_plans(base, p).changes for p in solved if p is not base}
    if as_json:
        click.echo(json.dumps({"instance": inst.name, "instance_sha256": digest,
                               "runs": [{**provenance(p), "bound": p.get("bound"),
                                         "gap": p.get("gap"), "message": p.get("message", "")}
                                        for p in plans],
                               "plan_differences": {"reference": base["backend"], **diffs},
                               "disagreements": [{"a": a, "b": b, "difference": d}
                                                 for a, b, d in disagreements]}, indent=2))
    else:
        from .report import print_comparison

        print_comparison(inst.name, plans, base["backend"], diffs, disagreements)
    sys.exit(EXIT_CHECK if disagreements else EXIT_OK)


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

    try:
        data = orlib_to_instance(file, capacity=capacity, single_source=single_source)
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

    try:
        data = holmberg_to_instance(file)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    _write_instance(data, out)
    click.echo(f"wrote {out} ({len(data['forces'])} customers, {len(data['sites'])} sites)")


@cli.command("generate")
@click.option("--forces", type=click.IntRange(min=1, max=5000), default=10, show_default=True)
@click.option("--functions", type=click.IntRange(min=1, max=100), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-distance", type=click.FloatRange(min=0, min_open=True), default=150.0,
              show_default=True, help="km within which forces may share a unit.")
@click.option("--no-targets", is_flag=True, help="No per-force savings targets.")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@guarded
def generate_cmd(forces, functions, seed, max_distance, no_targets, out):
    """A seeded synthetic instance of any size (same seed, same file)."""
    from .generate import generate_instance

    data = generate_instance(forces=forces, functions=functions, seed=seed,
                             max_distance_km=max_distance, targets=not no_targets)
    _write_instance(data, out)
    click.echo(f"wrote {out} ({forces} forces, {functions} shareable functions, seed {seed})")


def _read_plan(path: str, strict: bool = False) -> dict:
    """A plan file's JSON with the contract keys; ``strict`` checks every field's type too
    (``check`` does not: it reports a malformed plan as violations of its own)."""
    from .models.load import InstanceError, Problem, parse_json_text

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError([Problem("", f"cannot read: {exc}")], path, "plan") from None
    try:
        plan = parse_json_text(text, path)
    except InstanceError as exc:
        raise InstanceError(exc.problems, path, "plan") from None
    missing = [k for k in ("status", "units", "forces") if not isinstance(plan, dict)
               or k not in plan]
    if missing:
        raise InstanceError([Problem(k, "missing; is this a plan file written by "
                                        "'solve --out'?") for k in missing], path, "plan")
    if strict:
        from pydantic import ValidationError

        from .analysis import PlanShape
        from .models.load import pydantic_path

        try:
            PlanShape.model_validate(plan)
        except ValidationError as exc:
            raise InstanceError([Problem(pydantic_path(e["loc"]), e["msg"])
                                 for e in exc.errors(include_url=False)][:10], path,
                                "plan") from None
    return plan


cli.add_command(sweep_cmd)


def main() -> None:
    from .solver.deadline import exit_past_abandoned_solvers

    with exit_past_abandoned_solvers():  # a solver stopped past its limit never hangs exit
        cli(prog_name="solve")


if __name__ == "__main__":
    main()
