"""``solve compare``: one instance on several backends, each run a :class:`Plan`.

A backend that fails (it cannot take the model, its solver is missing) is a Plan of
status ``error`` with the reason as its message, so every run is read the same way.
Proven optima must agree within the tolerance of :func:`shareplan.analysis.optima_disagree`;
plan differences are against the first run with a plan (the reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis import diff_plans, optima_disagree, provenance
from ..solver.plan import Plan
from ..tables import Column, Table


@dataclass
class Comparison:
    instance_name: str
    instance_sha256: str
    plans: list[Plan]
    reference: str  # the backend whose plan the others are diffed against
    diffs: dict[str, list[str]] = field(default_factory=dict)  # backend -> changes
    disagreements: list[tuple[str, str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The ``--json`` document: runs, plan differences, disagreements."""
        return {"instance": self.instance_name, "instance_sha256": self.instance_sha256,
                "runs": [{**provenance(p.to_dict()), "bound": p.bound, "gap": p.gap,
                          "message": p.message} for p in self.plans],
                "plan_differences": {"reference": self.reference, **self.diffs},
                "disagreements": [{"a": a, "b": b, "difference": d}
                                  for a, b, d in self.disagreements]}

    def runs_table(self) -> Table:
        """runs: one row per backend (status, objective, bound, gap, times, message)."""
        money = "GBP over the horizon, as the instance counts it"
        cols = [Column("backend"), Column("solver"), Column("status"),
                Column("objective_gbp", money), Column("bound_gbp", money),
                Column("gap", "relative"), Column("build_s", "seconds"),
                Column("solve_s", "seconds"), Column("message")]
        return Table("runs", cols, [
            [p.backend, f"{p.solver.get('name', '')} {p.solver.get('version', '')}".strip(),
             p.status.value, p.objective, p.bound, p.gap, p.times.get("build_s"),
             p.times.get("solve_s"), p.message] for p in self.plans])

    def differences_table(self) -> Table:
        """differences: one row per change from the reference plan to a backend's plan."""
        return Table("differences", [Column("backend"), Column("reference"), Column("change")],
                     [[backend, self.reference, line] for backend, lines in self.diffs.items()
                      for line in lines])

    def tables(self) -> list[Table]:
        return [self.runs_table(), self.differences_table()]


def compare_backends(inst, names: list[str], options, digest: str) -> Comparison:
    """Solve ``inst`` on each backend in ``names`` (known to the registry), side by side."""
    from ..solver import run
    from ..solver.core import BackendError

    plans = []
    for name in names:
        try:
            plans.append(run.solve_instance(inst, name, options, digest=digest))
        except BackendError as exc:
            plans.append(Plan.failed(name, str(exc), inst.name, digest, options.as_dict(),
                                     inst.horizon_years))
    as_dicts = [p.to_dict() for p in plans]
    solved = [k for k, p in enumerate(plans) if p.has_solution]
    ref = solved[0] if solved else 0
    diffs = {plans[k].backend: diff_plans(as_dicts[ref], as_dicts[k]).changes
             for k in solved if k != ref}
    return Comparison(inst.name, digest, plans, plans[ref].backend, diffs,
                      optima_disagree(as_dicts, options.gap))
