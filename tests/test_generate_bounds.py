"""Generator bounds match the loader's (issue 14 part 7): `solve generate` refuses sizes
whose file the loader would refuse, and every instance it writes loads."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shareplan.cli import cli
from shareplan.generate import file_bytes_bound, generate_instance, largest_forces
from shareplan.models.load import MAX_INSTANCE_BYTES, instance_from_data, load_instance


def written_bytes(data: dict) -> int:
    """Bytes of the file as the CLI writes it (shareplan.io.atomic_write_json)."""
    return len((json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forces=st.integers(1, 14), functions=st.integers(1, 18), seed=st.integers(0, 10**6),
       max_distance=st.one_of(st.none(), st.floats(1.0, 50_000.0)),
       targets=st.booleans(), local=st.integers(0, 3))
def test_every_generated_instance_loads_and_fits_its_bound(forces, functions, seed,
                                                           max_distance, targets, local):
    data = generate_instance(forces=forces, functions=functions, seed=seed,
                             max_distance_km=max_distance, targets=targets,
                             local_functions=local)
    inst = instance_from_data(data)
    assert len(inst.forces) == forces
    assert written_bytes(data) <= file_bytes_bound(forces, functions, local)


def test_the_bound_holds_and_is_close_at_a_larger_size():
    data = generate_instance(forces=120, functions=14, seed=3)
    actual, bound = written_bytes(data), file_bytes_bound(120, 14)
    assert actual <= bound <= 1.25 * actual  # tight enough not to refuse what would load


def test_the_largest_size_allowed_is_the_last_within_the_loader_limit():
    most = largest_forces(100)
    assert 0 < most < 5000
    assert file_bytes_bound(most, 100) <= MAX_INSTANCE_BYTES < file_bytes_bound(most + 1, 100)


def test_generate_refuses_a_size_the_loader_would_refuse_at_once(tmp_path):
    out = tmp_path / "big.json"
    result = CliRunner().invoke(cli, ["generate", "--forces", "5000", "--functions", "100",
                                      "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "--forces" in result.output and f"at most {largest_forces(100)} forces" in \
        result.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["generate", "--max-distance", "60000", "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()


def test_a_written_instance_loads_through_the_command(tmp_path):
    out = tmp_path / "g.json"
    result = CliRunner().invoke(cli, ["generate", "--forces", "7", "--functions", "3",
                                      "--seed", "4", "--no-targets", "--out", str(out)])
    assert result.exit_code == 0, result.output
    inst, _ = load_instance(out)
    assert all(f.savings_target_gbp is None for f in inst.forces)
