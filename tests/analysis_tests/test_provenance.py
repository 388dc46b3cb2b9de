"""Structured provenance: the space as JSON, optimizer tags for families, old files too."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analysis.load import load_results, read_metadata
from analysis.provenance import optimizer_tags, search_space
from analysis.tables import samplers
from analysis.tables.families import LEGACY_FAMILIES, family
from benchmarks.building import build_optimizer
from benchmarks.run import main as run_main
from problems import load
from problems.base import space_json
from problems.space import SearchSpace
from tests.analysis_tests.cells import write_test_cell

ROOT = Path(__file__).resolve().parents[2]
SPACE = SearchSpace.from_dict({
    "lr": {"type": "float", "low": 1e-4, "high": 0.5, "log": True},
    "depth": {"type": "int", "low": 2, "high": 12},
    "kind": {"type": "categorical", "choices": ["a", "b(c)", 3, None, True]},
    "gamma": {"type": "float", "low": 0.0, "high": 1.0,
              "condition": {"parent": "kind", "values": ["a", 3]}},
})


def test_new_json_space_and_old_repr_strings_read_the_same():
    new = search_space({"problem_info": {"space": space_json(SPACE)}})
    old = search_space({"problem_info": {"space": [repr(p) for p in SPACE]}})
    assert new == old
    assert new["lr"] == {"type": "float", "low": 1e-4, "high": 0.5, "log": True,
                         "condition": None}
    assert new["kind"]["choices"] == ["a", "b(c)", 3, None, True]
    assert new["gamma"]["condition"] == {"parent": "kind", "values": ["a", 3]}
    # the JSON builds the space back
    rebuilt = SearchSpace.from_dict({e["name"]: {k: v for k, v in e.items()
                                                 if k != "name" and v is not None}
                                     for e in space_json(SPACE)})
    assert rebuilt == SPACE


def test_foreign_space_entries_are_ignored():
    assert search_space({"problem_info": {"space": ["not a param", "Other(name='x')",
                                                    "Float(name='x', low=0.0, high="]}}) == {}


def test_run_records_json_space_and_tags_outside_the_identity(tmp_path):
    args = ["problem=branin", "optimizer=tpe", "seeds=[0]", "budget.trials=3", "study=p",
            f"results_dir={tmp_path}"]
    assert run_main(args) == 0
    path = tmp_path / "p" / "branin" / "tpe" / "seed=0.parquet"
    meta = read_metadata(path)
    space = meta["problem_info"]["space"]
    assert space == space_json(load("branin").space)
    assert all(isinstance(e, dict) for e in space)
    assert optimizer_tags(meta) == {"sampler", "pruning_baseline", "library:optuna"}
    assert "tags" not in meta["cell_config"]["optimizer"]
    before = path.read_bytes()
    # other tags: the same cell (skipped, file untouched), not "produced with other settings"
    assert run_main([*args, "optimizer.tags=[sampler]"]) == 0
    assert path.read_bytes() == before


def test_tags_are_never_passed_to_the_constructor():
    conf = yaml.safe_load((ROOT / "conf/optimizer/random.yaml").read_text())
    assert "tags" in conf
    optimizer = build_optimizer(conf, load("branin"), seed=0)
    assert not hasattr(optimizer, "tags")


def _confs() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text())
            for p in sorted((ROOT / "conf/optimizer").glob("*.yaml"))}


@pytest.mark.parametrize("tag", sorted(LEGACY_FAMILIES))
def test_conf_tags_reproduce_the_legacy_families(tag):
    tagged = {name for name, conf in _confs().items() if tag in (conf.get("tags") or [])}
    assert tagged == set(LEGACY_FAMILIES[tag]) & set(_confs())


def test_every_conf_names_its_library():
    for name, conf in _confs().items():
        if name.startswith("smac"):  # tagged by the integrator after the SMAC merge
            continue
        libraries = [t for t in conf.get("tags") or [] if t.startswith("library:")]
        assert len(libraries) == 1, name


def test_families_come_from_tags_and_fall_back_to_names(tmp_path):
    reports = [{"trial": 0, "value": 2.0}, {"trial": 1, "value": 1.0}]
    # a new name tagged as a sampler joins the samplers table by its tags alone
    write_test_cell(tmp_path, "toy", "my_sampler", 0, reports,
                    optimizer_conf={"_target_": "x", "tags": ["sampler"]})
    # an old file (no tags) of a known sampler name joins by its name
    write_test_cell(tmp_path, "toy", "cmaes", 0, reports)
    # tags win over the name: a `tpe` conf tagged only as grid is no sampler
    write_test_cell(tmp_path, "toy", "tpe", 0, reports,
                    optimizer_conf={"_target_": "x", "tags": ["grid"]})
    results = load_results(tmp_path / "s")
    assert family(results, "sampler") == ("cmaes", "my_sampler")
    assert family(results, "grid") == ("tpe",)
    table = samplers(results)
    assert set(table.frame.optimizer) == {"cmaes", "my_sampler"}
