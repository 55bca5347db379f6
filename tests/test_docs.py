"""The docs and help texts say what the code does.

- Every "docs/PAGE.md section N" the code, tests, benchmarks, tools and docs cite is a
  heading of that page (docs/model.md holds the model and its algebra).
- Every id, path and model name the command-line help shows exists in the bundled
  instance (the help once named a site 'wgc' that no instance has).
- Every ``solve sweep`` example in the docs resolves against its instance, and every
  refusal the docs quote is the message the tool prints.
- The explanation of tiny-infeasible quoted in docs/instances.md is the one printed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from helpers import run_cli

from shareplan.cli import cli
from shareplan.cli_common import _bundled
from shareplan.models.load import load_instance, read_instance_data
from shareplan.models.network import build_network
from shareplan.solver.formulation import build_formulation
from shareplan.sweep.spec import prepare, resolve_path

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"\d+(?:\.\d+)*"
CITATION = re.compile(rf"(?:docs/)?([a-z][\w-]*)\.md\)?,? sections? ({NUMBER}(?:(?:, | and | to )"
                      rf"{NUMBER})*)")
SOURCES = [*sorted((ROOT / "shareplan").rglob("*.py")), *sorted((ROOT / "tests").glob("*.py")),
           *sorted((ROOT / "bench").glob("*.py")), *sorted((ROOT / "tools").glob("*.py")),
           *sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _citations() -> list[tuple[str, str, str]]:
    """(citing file, page, section number) for every citation."""
    out = []
    for path in SOURCES:
        for m in CITATION.finditer(re.sub(r"\s+", " ", _text(path))):
            for number in re.findall(NUMBER, m.group(2)):
                out.append((str(path.relative_to(ROOT)), m.group(1), number))
    return out


def test_every_cited_section_exists():
    cites = _citations()
    assert len(cites) >= 20, cites  # the code does cite the model page: the test bites
    missing = []
    for where, page, number in cites:
        doc = ROOT / "docs" / f"{page}.md"
        if not doc.is_file():
            missing.append(f"{where}: docs/{page}.md does not exist")
        elif not re.search(rf"^#{{2,4}} {re.escape(number)}[.\s]", _text(doc), re.M):
            missing.append(f"{where}: docs/{page}.md has no section {number}")
    assert missing == []


def test_no_citation_of_a_document_the_repository_lacks():
    old = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in SOURCES
           for m in re.finditer(r"\bSPEC(?: sections?)? ?\d", _text(p))]
    assert old == []


def test_links_between_docs_resolve():
    broken = []
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _text(page)):
            if not target.startswith(("http://", "https://", "mailto:")) and \
                    not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


# ------------------------------------------------------------------ help texts

def _help_strings(cmd: click.Command) -> list[str]:
    texts = [cmd.help or ""]
    for p in cmd.params:
        texts += [getattr(p, "help", None) or "", getattr(p, "metavar", None) or ""]
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            texts += _help_strings(sub)
    return texts


HELP = " ".join(re.sub(r"\\\s*\n\s*", " ", t) for t in _help_strings(cli))
BCH = ROOT / "instances" / "bch-2013.json"


def test_help_texts_name_bundled_instances_that_exist():
    names = set(re.findall(r"\b(bch-\d+|england-wales-\d+|tiny-[a-z-]+)\b", HELP))
    assert "bch-2013" in names
    for name in names:
        assert Path(_bundled(name)).is_file(), name


def test_help_text_paths_resolve_in_the_bundled_instance():
    data, _ = read_instance_data(BCH)
    paths = set(re.findall(r"\b((?:forces|functions|costs)\.[A-Za-z_]\w*\.[\w.]*[A-Za-z_])",
                           HELP))
    assert {"forces.herts.savings_target_gbp", "functions.custody.hosts.welwyn_garden_city."
            "capacity"} <= paths
    for path in paths:
        resolve_path(data, path)  # raises SweepError naming what does not exist
    examples = re.findall(r"--vary (\S+=\S+)", HELP)
    assert len(examples) >= 3
    prepare(data, examples, source=str(BCH))  # every example value makes a valid instance


def test_help_text_model_names_are_in_the_bundled_model():
    lp = build_formulation(build_network(load_instance(BCH)[0])).lp
    names = set(lp.col_names()) | set(lp.row_names())
    shown = re.findall(r"\b[a-z_]+\([a-z_]+(?:,[a-z_&]+)+\)", HELP)
    assert shown, "the export help shows a name"
    assert [n for n in shown if n not in names] == []


def test_lp_docstring_names_are_in_the_bundled_model():
    from shareplan.solver import lp as lp_module

    lp = build_formulation(build_network(load_instance(BCH)[0])).lp
    names = set(lp.col_names()) | set(lp.row_names())
    shown = re.findall(r"``([a-z_]+\([a-z_]+(?:,[a-z_&]+)+\))``", lp_module.__doc__)
    assert shown and [n for n in shown if n not in names] == []


# ------------------------------------------------------------------ docs examples

def _sweep_examples() -> list[tuple[str, list[str], str | None]]:
    """(where, argv after 'solve', the error line quoted after it or None)."""
    out = []
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for block in re.findall(r"```[a-z]*\n(.*?)```", _text(page), re.S):
            lines = re.sub(r"\\\n\s*", " ", block).splitlines()
            for k, line in enumerate(lines):
                cmd = line.split(" # ")[0].strip().removeprefix("$ ")
                cmd = cmd.removeprefix(".venv/bin/")
                if not cmd.startswith("solve sweep ") or "..." in cmd:
                    continue
                after = lines[k + 1] if k + 1 < len(lines) else ""
                out.append((f"{page.name}: {cmd}", shlex.split(cmd)[1:],
                            after[len("error: "):] if after.startswith("error: ") else None))
    return out


EXAMPLES = _sweep_examples()


def test_docs_have_sweep_examples():
    assert len(EXAMPLES) >= 6 and sum(e[2] is not None for e in EXAMPLES) >= 3


@pytest.mark.parametrize("where,argv,error", EXAMPLES, ids=[e[0][:60] for e in EXAMPLES])
def test_docs_sweep_example(tmp_path, where, argv, error):
    instance = argv[1]
    varies = [argv[k + 1] for k, a in enumerate(argv) if a == "--vary"]
    path = ROOT / instance if (ROOT / instance).is_file() else Path(_bundled(instance))
    assert path.is_file(), where
    if error is None:
        data, _ = read_instance_data(path)
        prepare(data, varies, source=str(path))
        return
    args = [a for k, a in enumerate(argv) if a != "--out" and argv[k - 1] != "--out"]
    result = run_cli(*args, "--out", tmp_path / "x.csv")
    assert result.exit_code == 2, result.output
    assert error in " ".join(result.output.split()), (where, result.output)


def test_instances_doc_quotes_the_printed_explanation():
    quoted = re.search(r'explained as "(North force can save at most [^"]+)"',
                       " ".join(_text(ROOT / "docs" / "instances.md").split())).group(1)
    result = run_cli("tiny-infeasible", "--shadow-budget", "0")
    assert result.exit_code == 3
    assert quoted in " ".join(result.output.split())


def test_readme_lists_the_options_and_backends_solve_has():
    from shareplan.solver.backends import REGISTRY

    text = " ".join(_text(ROOT / "README.md").split())
    para = text[text.index("Options of `solve INSTANCE`:"):]
    para = para[:para.index(". ")]
    listed = set(re.findall(r"`(--[a-z-]+)", para))
    run = cli.commands["run"]
    options = {o for p in run.params if isinstance(p, click.Option) for o in p.opts
               if o.startswith("--")} - {"--help"}
    assert listed == options
    backends = re.search(r"`--backend ([\w|-]+)`", para).group(1).split("|")
    assert backends == list(REGISTRY)


def test_model_page_lists_every_checker_rule():
    """docs/model.md section 10 names each rule the checker reports, and no other."""
    page = _text(ROOT / "docs" / "model.md")
    section = page[page.index("## 10."):page.index("## 11.")]
    documented = {name for row in re.findall(r"^\| (.+?) \|", section, re.M)
                  for name in re.findall(r"`([a-z_]+)`", row)}
    source = "\n".join(_text(p) for p in sorted((ROOT / "shareplan").rglob("*.py")))
    emitted = set(re.findall(r'out\.add\("([a-z_]+)"', _text(ROOT / "shareplan" / "solver"
                                                              / "checker.py")))
    assert emitted, "the checker's rules are found"
    assert emitted <= documented, emitted - documented
    assert [n for n in documented if f'"{n}"' not in source] == []


def test_model_page_worked_example_is_what_the_tool_finds():
    import json

    from helpers import approx, force, solve

    page = _text(ROOT / "docs" / "model.md")
    section = page[page.index("## 13."):]
    table = dict(re.findall(r"^\| ([a-z -]+?) \| ([\d,.]+) \|$", section, re.M))
    value = {k: float(v.replace(",", "")) for k, v in table.items()}
    plan = solve(json.loads(_text(ROOT / "instances" / "tiny-two-forces.json")))
    north, south = force(plan, "north"), force(plan, "south")
    assert plan.objective == approx(value.pop("objective"))
    assert north.baseline_gbp == approx(value.pop("baseline north"))
    assert north.savings_gbp == approx(value.pop("savings north"))
    assert south.savings_gbp == approx(value.pop("savings south"))
    assert north.one_off_gbp == approx(value.pop("one-offs north"))
    assert north.frontline_fte == approx(value.pop("frontline north"))
    assert value == {}  # every figure of the table was compared
    assert [(u.function, u.site) for u in plan.units] == [("finance", "north_hq")]
