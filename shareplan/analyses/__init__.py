"""Analyses of a plan and of the plans near it (each in its own module)."""
