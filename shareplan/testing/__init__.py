"""Test utilities shipped with the package, so tests and benchmarks import them normally:
:mod:`.randinst` (seeded random instances and malformed variants of them)."""
