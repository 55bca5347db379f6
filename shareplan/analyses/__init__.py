"""Analyses of a plan and of the plans near it (each module one question a planner asks of it)."""
