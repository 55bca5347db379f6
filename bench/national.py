"""One-block national instances: monolithic beside decomposed, per backend.

Instances: the national builder (tools/build_national_instance.py) with a distance
rule (``--max-km``) and a per-force savings target for sharing (``--target-share``, 2%
of budget by default) on top of its frontline floors, which joins all 43 forces into
one block; and generated one-block instances (``solve generate --one-block``).

Each run is its own process, so its peak resident memory (ru_maxrss) is its own; the
table gives status, proven gap (on the cost decisions change), wall time and peak
memory, with ``--decomposition off`` (the compact model, one MIP) beside ``on``
(shareplan/solver/decompose.py).

    .venv/bin/python bench/national.py [--km 100,150,200] [--generated 200]
        [--backends highs,cbc] [--time-limit 60] [--generated-time-limit 600]
        [--target-share 0.02] [--modes off,on]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(path: str, backend: str, mode: str, time_limit: float) -> dict:
    """One solve in this process (gap 1e-4)."""
    from shareplan.models.load import load_instance
    from shareplan.solver.core import SolveOptions
    from shareplan.solver.run import solve_instance

    inst = load_instance(path)[0]
    t0 = time.perf_counter()
    plan = solve_instance(inst, backend, SolveOptions(time_limit=time_limit, gap=1e-4,
                                                      decomposition=mode), explain=False)
    return {"status": plan.status.value, "gap": plan.gap, "objective": plan.objective,
            "wall_s": round(time.perf_counter() - t0, 1),
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "message": plan.message[:300]}


def build(out_dir: Path, km: list[float], generated: list[int], share: float) -> list:
    """(label, path, time-limit kind) of every instance, written into out_dir."""
    from shareplan.generate import generate_instance

    items = []
    for k in km:
        path = out_dir / f"national-{k:g}km.json"
        subprocess.run([sys.executable, str(ROOT / "tools/build_national_instance.py"),
                        str(path), "--max-km", str(k), "--target-share", str(share)],
                       check=True)
        items.append((f"national {k:g} km", path, "national"))
    for n in generated:
        path = out_dir / f"generated-{n}.json"
        path.write_text(json.dumps(generate_instance(forces=n, functions=11, seed=1,
                                                     one_block=True)), encoding="utf-8")
        items.append((f"generated {n}", path, "generated"))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--km", default="100,150,200")
    parser.add_argument("--generated", default="200")
    parser.add_argument("--backends", default="highs,cbc")
    parser.add_argument("--modes", default="off,on")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--generated-time-limit", type=float, default=600.0)
    parser.add_argument("--target-share", type=float, default=0.02)
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        path, backend, mode, limit = args.one
        print(json.dumps(one(path, backend, mode, float(limit))))
        return
    km = [float(k) for k in args.km.split(",") if k]
    generated = [int(n) for n in args.generated.split(",") if n]
    print(f"gap 1e-4; time limit {args.time_limit:g} s (national), "
          f"{args.generated_time_limit:g} s (generated); national targets "
          f"{args.target_share:.1%} of budget, floors 99.5% of frontline")
    head = (f"{'instance':<18} {'backend':<8} {'model':<10} {'status':<11} {'gap':>8} "
            f"{'wall s':>7} {'peak MiB':>8}")
    print(head)
    print("-" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, kind in build(Path(tmp), km, generated, args.target_share):
            limit = args.time_limit if kind == "national" else args.generated_time_limit
            for backend in args.backends.split(","):
                for mode in args.modes.split(","):
                    out = subprocess.run([sys.executable, __file__, "--one", str(path),
                                          backend, mode, str(limit)],
                                         capture_output=True, text=True)
                    model = {"off": "monolithic", "on": "decomposed"}.get(mode, mode)
                    if out.returncode != 0:
                        tail = out.stderr.strip().splitlines()[-1:]
                        print(f"{label:<18} {backend:<8} {model:<10} failed: {tail}",
                              flush=True)
                        continue
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    gap = "-" if r["gap"] is None else f"{r['gap']:.1e}"
                    print(f"{label:<18} {backend:<8} {model:<10} {r['status']:<11} "
                          f"{gap:>8} {r['wall_s']:>7.1f} {r['peak_mib']:>8}", flush=True)


if __name__ == "__main__":
    main()
