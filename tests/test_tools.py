"""The tools that build the bundled data still reproduce it, byte for byte, and refuse
to write what the package would not load.

Every instances/*.json is either built by a script of tools/ (rebuilt here into a
temporary folder and compared with the bundled file) or written by hand with its
arithmetic in its description (the tiny instances: tests/test_tiny.py works them out).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shareplan.models.load import load_instance

#: instance file -> the tool that builds it
BUILT = {"bch-2013.json": "build_bch_instance", "england-wales-43.json":
         "build_national_instance"}
HAND_WRITTEN = {"tiny-two-forces.json", "tiny-infeasible.json"}


def test_every_bundled_instance_has_a_maker(repo_root):
    bundled = {p.name for p in (repo_root / "instances").glob("*.json")}
    assert bundled == set(BUILT) | HAND_WRITTEN
    for name in HAND_WRITTEN:  # the hand-written ones carry their arithmetic
        inst, _ = load_instance(repo_root / "instances" / name)
        assert "OPTIMUM" in inst.description or "infeasible" in inst.description.lower(), name


@pytest.mark.parametrize("name", sorted(BUILT))
def test_tool_rebuilds_the_bundled_instance_byte_for_byte(repo_root, tmp_path, name):
    out = tmp_path / name
    proc = subprocess.run([sys.executable, str(repo_root / "tools" / f"{BUILT[name]}.py"),
                           str(out)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == (repo_root / "instances" / name).read_bytes(), (
        f"instances/{name} is not what tools/{BUILT[name]}.py builds: run it again and "
        "commit both")


def test_a_tool_refuses_to_write_an_instance_that_would_not_load(load_tool, tmp_path,
                                                                 monkeypatch, capsys):
    tool = load_tool("build_national_instance")
    real = tool.build

    def broken() -> dict:
        inst = real()
        inst["forces"][0]["frontline_floor_fte"] = inst["forces"][0][
            "frontline_officers_fte"] + 1  # a floor above today's frontline
        return inst

    monkeypatch.setattr(tool, "build", broken)
    out = tmp_path / "national.json"
    assert tool.main([str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "not written" in err and "forces[0].frontline_floor_fte" in err


def test_bundled_boundaries_pass_the_tool_check(load_tool, repo_root):
    tool = load_tool("simplify_boundaries")
    doc = json.loads(tool.OUT.read_text(encoding="utf-8"))
    assert tool.problems(doc) == []
    doc["areas"] = doc["areas"][1:]
    doc["areas"][0]["geometry"] = {"type": "Point", "coordinates": [0.0, 52.0]}
    found = tool.problems(doc)
    assert any("42 areas" in p for p in found)
    assert any("is not a polygon" in p for p in found)
    assert any("finds no area by name" in p for p in found)
