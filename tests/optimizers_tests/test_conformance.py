"""Optimizer conformance: every file in conf/optimizer/ passes the kit (tests/kits/optimizer_kit.py).

Parametrized over the conf files found at collection time, so a new optimizer conf is
checked without touching this file; the last test shows that with a throwaway conf.
"""

from __future__ import annotations

import shutil

import pytest

from tests.kits import optimizer_kit as kit


@pytest.fixture(autouse=True)
def _ray_for_ray_cases(request):
    if request.node.get_closest_marker("ray") is not None:
        request.getfixturevalue("local_ray")


@pytest.mark.parametrize("name", kit.cases())
def test_single_fidelity_cell(name):
    kit.check_single_fidelity_cell(name)


@pytest.mark.parametrize("name", kit.cases())
def test_fidelity_cell_with_three_workers(name):
    kit.check_fidelity_cell(name)


@pytest.mark.parametrize("name", kit.cases())
def test_conditional_space_uneven_costs_out_of_order(name):
    kit.check_conditional_space_uneven_costs(name)


#: SMAC's GP facade refits its GP (10 restarts) on every proposal past its initial design:
#: its 20-trial failing-trials case runs with -m slow (its other cases stay within the
#: initial design); test_smac_adapter.py runs the GP by default.
SLOW_TO_FAIL = {"smac_bb"}


@pytest.mark.parametrize("name", [
    pytest.param(*p.values, marks=[*p.marks, *([pytest.mark.slow] if p.id in SLOW_TO_FAIL else [])],
                 id=p.id) for p in kit.cases()])
def test_failing_trials_are_survived(name):
    kit.check_failing_trials(name)


def test_a_new_conf_is_discovered_and_checked(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(kit.CONF_DIR, conf)
    (conf / "optimizer" / "throwaway.yaml").write_text(
        "_target_: optimizers.random_search.RandomSearchOptimizer\nn_trials: null\n")
    assert "throwaway" in [p.values[0] for p in kit.cases(conf)]
    for check in (kit.check_single_fidelity_cell, kit.check_fidelity_cell,
                  kit.check_conditional_space_uneven_costs, kit.check_failing_trials):
        check("throwaway", conf)
    # and a conf that breaks the contract fails the kit: a grid naming parameters without
    # declaring the one problem it is for (`for_problem`) proposes incomplete configurations
    (conf / "optimizer" / "throwaway.yaml").write_text(
        "_target_: optimizers.grid.GridOptimizer\nresolution: 3\nvalues: {x1: [0.0, 5.0]}\n")
    with pytest.raises(ValueError, match=r"misses the active parameter `x2`"):
        kit.check_single_fidelity_cell("throwaway", conf)
