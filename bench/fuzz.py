"""Fuzz the command line with malformed instance files, in-process, many cases.

    python bench/fuzz.py --cases 10000 --backends cbc,ortools,highs
    python bench/fuzz.py --cases 10000 --backends cbc,ortools --no-extended

Each case is ``shareplan/testing/randinst.malformed_case(seed)`` (the generator of
``tests/test_fuzz.py``): a random valid instance, 0-4 structural mutations
(wrong types, NaN/Infinity as bare tokens, negatives, odd strings and unicode,
missing/extra keys, duplicate and dangling ids, empty lists, deep nesting) and
sometimes damage to the text (truncation, invalid UTF-8, duplicate keys, 100k
nesting, bare tokens, 5000-digit numbers). Case k runs ``solve run FILE`` on
backend k mod len(backends) through click's CliRunner with a time limit.

A case passes when it ends in exit 0, 2, 3 or 4, exit 2 carries a message naming
the file, no traceback is printed, nothing escapes and it takes less than
``--hang`` seconds. ``--extended`` (the default) adds the values of reported bugs
(numbers of 1e20 and more, lone surrogates); failures are grouped by signature.

Prints counts per exit code and per backend, every failure group with its first
seeds, and the wall time. Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tempfile
import time

from shareplan.testing.randinst import malformed_case, run_cli_case


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def cause(raw: bytes) -> str:
    """What in the file a failure goes with: numbers >= 1e20 or a lone surrogate."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return ""
    tags = []
    if any(abs(x) >= 1e20 for x in _numbers(data) if x == x):  # NaN != NaN
        tags.append("numbers >= 1e20")
    if re.search(rb"\\ud[89a-f][0-9a-f]{2}", raw, re.IGNORECASE):
        tags.append("lone surrogate")
    return f" [file has {' and '.join(tags)}]" if tags else " [no number >= 1e20]"


def signature(problem: str) -> str:
    """A short class for a failure, so 10,000 cases report a handful of groups."""
    for pat, label in (
        (r"HiGHS status Empty|UNKNOWN_STATUS", "HiGHS 'Empty' model status -> error"),
        (r"UnicodeEncodeError", "UnicodeEncodeError (lone surrogate)"),
        (r"MODEL_INVALID", "OR-Tools MODEL_INVALID (coefficient >= 1e20)"),
        (r"PulpSolverError", "CBC failed (PulpSolverError)"),
        (r"HiGHS status Unknown", "HiGHS status Unknown"),
        (r"without naming the file", "exit 2 without naming the file"),
        (r"took \d+ s", "slow case (hang?)"),
    ):
        if re.search(pat, problem):
            return label
    m = re.search(r"internal error: (\w+)", problem)
    return f"internal error {m.group(1)}" if m else problem.splitlines()[0][:100]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0, help="first case seed")
    ap.add_argument("--backends", default="cbc,ortools,highs")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--hang", type=float, default=60.0, help="seconds that count as a hang")
    ap.add_argument("--extended", action=argparse.BooleanOptionalAction, default=True,
                    help="add values of reported bugs (numbers >= 1e20, lone surrogates)")
    ap.add_argument("--show", type=int, default=5, help="seeds shown per failure group")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    codes: collections.Counter = collections.Counter()
    per_backend: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures: dict[str, list[str]] = collections.defaultdict(list)
    slowest = (0.0, None)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for k in range(args.cases):
            seed = args.seed + k
            backend = backends[k % len(backends)]
            raw, desc = malformed_case(seed, extended=args.extended)
            t1 = time.perf_counter()
            code, out, problem = run_cli_case(raw, work, backend, args.time_limit)
            dt = time.perf_counter() - t1
            if problem is None and code == 2 and "instance.json" not in out:
                problem = f"exit 2 without naming the file: {out.strip()[-200:]}"
            if problem is None and dt > args.hang:
                problem = f"took {dt:.0f} s"
            if dt > slowest[0]:
                slowest = (dt, seed)
            codes[code] += 1
            per_backend[backend][code] += 1
            if problem:
                failures[signature(problem) + cause(raw)].append(f"{desc} on {backend}")
            if (k + 1) % 1000 == 0:
                print(f"  {k + 1:,} cases, {sum(map(len, failures.values()))} failing, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0

    n_fail = sum(map(len, failures.values()))
    print(f"fuzz: {args.cases:,} cases (seeds {args.seed}..{args.seed + args.cases - 1}), "
          f"backends {', '.join(backends)}, extended={args.extended}, "
          f"time limit {args.time_limit:g} s")
    print("exit codes: " + ", ".join(f"{c}: {n:,}" for c, n in sorted(codes.items())))
    for b in backends:
        print(f"  {b}: " + ", ".join(f"{c}: {n:,}" for c, n in sorted(per_backend[b].items())))
    print(f"failures: {n_fail:,}")
    for sig, cases in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(cases):,} x {sig}")
        for c in cases[: args.show]:
            print(f"      {c}")
    print(f"slowest case: {slowest[0]:.2f} s (seed {slowest[1]})")
    print(f"wall time: {wall:.1f} s ({1000 * wall / max(1, args.cases):.1f} ms per case)")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
