"""What the commands that print a briefing share: the shadow-cost budget and the builder."""

from __future__ import annotations

import click

DEFAULT_SHADOW_BUDGET_S = 10.0


def shadow_option(fn):
    """--shadow-budget S: seconds for measuring what each target and floor costs."""
    return click.option(
        "--shadow-budget", type=click.FloatRange(min=0), default=DEFAULT_SHADOW_BUDGET_S,
        show_default=True, metavar="S",
        help="Seconds to spend re-solving without each savings target and frontline floor "
             "(what each rule costs); 0 skips it.")(fn)


def briefing_for(inst, plan: dict, backend: str, options, shadow_budget: float):
    """The briefing of a plan dict, with shadow costs measured within the budget."""
    from .briefing import make_briefing, measure_shadow_costs

    shadow = (measure_shadow_costs(inst, plan, backend, options, shadow_budget)
              if shadow_budget > 0 else None)
    return make_briefing(inst, plan, shadow)
