"""Model build and hand-off, against passing the same matrix straight to the solver.

For each instance: ``build`` = network + formulation from a validated instance
(numpy/scipy arrays); ``hand-off`` = our path into each solver (HiGHS passModel,
OR-Tools model_builder fill_model_from_sparse_data, PuLP's object model for CBC);
``direct`` = the same CSC/CSR arrays passed straight to that solver's array API
with nothing else. Ratio = (build + hand-off) / direct. Medians of --repeat runs.

    .venv/bin/python bench/build.py [--repeat 5] [--pulp]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from shareplan.convert import orlib_to_instance
from shareplan.generate import generate_instance
from shareplan.models.load import instance_from_data, load_instance
from shareplan.models.network import build_network
from shareplan.solver.backends.highs import import_highspy, to_highs
from shareplan.solver.backends.ortools_mb import to_model_builder
from shareplan.solver.formulation import build_formulation

ROOT = Path(__file__).resolve().parents[1]

ORLIB = Path(__file__).resolve().parent / "data" / "orlib"


def instances():
    yield "bch-2013", load_instance(ROOT / "instances/bch-2013.json")[0]
    yield "england-wales-43", load_instance(ROOT / "instances/england-wales-43.json")[0]
    for n in (50, 200):
        yield f"generated-{n}x11", instance_from_data(generate_instance(forces=n, functions=11,
                                                                        seed=1))
    capa = ORLIB / "capa.txt"
    if capa.exists():
        yield "capa-8000 (100x1000)", instance_from_data(orlib_to_instance(capa, capacity=8000))


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def direct_highs(lp):
    """The prebuilt matrix straight into highspy's passModel (CSC arrays)."""
    highspy = import_highspy()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    csc = lp.A.tocsc()
    h.passModel(lp.n_cols, lp.n_rows, csc.nnz, highspy.MatrixFormat.kColwise,
                highspy.ObjSense.kMinimize, 0.0, lp.obj, lp.lb, lp.ub, lp.row_lo, lp.row_hi,
                csc.indptr.astype(np.int32), csc.indices.astype(np.int32), csc.data,
                lp.integer.astype(np.int32))
    return h


def direct_model_builder(lp):
    """The prebuilt matrix straight into model_builder's fill_model_from_sparse_data."""
    from ortools.linear_solver.python import model_builder as mb

    model = mb.Model()
    model.helper.fill_model_from_sparse_data(lp.lb, lp.ub, lp.obj, lp.row_lo, lp.row_hi, lp.A)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pulp", action="store_true", help="also time PuLP (slow on large)")
    args = parser.parse_args()
    header = (f"{'instance':<22} {'cols':>7} {'rows':>7} {'nnz':>8} {'build s':>8} "
              f"{'HiGHS off':>9} {'direct':>7} {'ratio':>6} {'MB off':>7} {'direct':>7} "
              f"{'ratio':>6}" + (f" {'PuLP off':>9}" if args.pulp else ""))
    print(header)
    print("-" * len(header))
    for name, inst in instances():
        build_s, form = timed(lambda inst=inst: build_formulation(build_network(inst)),
                              args.repeat)
        lp = form.lp
        h_off, _ = timed(lambda lp=lp: to_highs(lp), args.repeat)
        h_dir, _ = timed(lambda lp=lp: direct_highs(lp), args.repeat)
        m_off, _ = timed(lambda lp=lp: to_model_builder(lp), args.repeat)
        m_dir, _ = timed(lambda lp=lp: direct_model_builder(lp), args.repeat)
        row = (f"{name:<22} {lp.n_cols:>7} {lp.n_rows:>7} {lp.A.nnz:>8} {build_s:>8.3f} "
               f"{h_off:>9.3f} {h_dir:>7.3f} {(build_s + h_off) / h_dir:>6.1f} "
               f"{m_off:>7.3f} {m_dir:>7.3f} {(build_s + m_off) / m_dir:>6.1f}")
        if args.pulp:
            from shareplan.solver.backends.cbc import to_pulp

            p_off, _ = timed(lambda lp=lp: to_pulp(lp), 1)
            row += f" {p_off:>9.3f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
