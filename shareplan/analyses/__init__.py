"""Analyses of a plan (each module one question a planner asks of it)."""
