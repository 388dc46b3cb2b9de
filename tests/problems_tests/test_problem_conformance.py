"""Problem conformance: every file in conf/problem/ passes the kit (tests/kits/problem_kit.py).

Parametrized over the conf files found at collection time, so a new problem conf is checked
by adding it; the last tests show that with throwaway confs in a temporary conf folder.
"""

from __future__ import annotations

import pytest

from problems import loading
from tests.kits import problem_kit as kit


@pytest.mark.parametrize("name", kit.cases())
def test_builds_from_its_conf(name):
    kit.check_builds(name)


@pytest.mark.parametrize("name", kit.cases())
def test_same_config_and_seed_give_identical_reports(name):
    kit.check_deterministic(name)


@pytest.mark.parametrize("name", kit.cases())
def test_advancing_in_two_jobs_equals_one(name):
    kit.check_incremental(name)


@pytest.mark.parametrize("name", kit.cases())
def test_clones_continue_and_changed_clones_behave_as_documented(name):
    kit.check_clone(name)


@pytest.mark.parametrize("name", kit.cases())
def test_units_per_report_as_documented(name):
    kit.check_units(name)


@pytest.mark.parametrize("name", kit.cases())
def test_declared_metrics_are_those_recorded(name):
    kit.check_metrics(name)


@pytest.mark.parametrize("name", kit.memory_cases())
def test_paused_trial_memory_within_twice_the_documented(name):
    kit.check_paused_memory(name)


# -- a new conf is enough --------------------------------------------------------------------
CURVE = """# @package _global_
problem:
  _target_: problems.synthetic.LearningCurveProblem
  max_iterations: 9
  noise_std: 0.01
budget:
  units: 90
"""


@pytest.fixture
def conf_dir(tmp_path, monkeypatch):
    """An empty conf folder the kit and `problems.load` read instead of conf/."""
    (tmp_path / "problem").mkdir()
    monkeypatch.setattr(loading, "CONF_DIR", tmp_path)
    return tmp_path / "problem"


def test_a_new_conf_is_discovered_and_checked(conf_dir):
    facts = ("problem_facts:\n  units: steps\n  clone_with_new_config: continues\n"
             "  paused_trial_mib: 0.001\n")
    (conf_dir / "throwaway.yaml").write_text(CURVE + facts)
    assert kit.names() == ["throwaway"]
    assert [p.values[0] for p in kit.cases()] == ["throwaway"]
    kit.check_problem("throwaway")


@pytest.mark.parametrize(
    ("facts", "check", "match"),
    [
        ("", kit.check_builds, r"must document `problem_facts`"),
        ("  units: one\n  clone_with_new_config: continues\n  paused_trial_mib: 0.001\n",
         kit.check_units, r"== \[\(1, 1\)\]"),
        ("  units: steps\n  clone_with_new_config: refused\n  paused_trial_mib: 0.001\n",
         kit.check_clone, r"DID NOT RAISE"),
        ("  units: steps\n  clone_with_new_config: continues\n  paused_trial_mib: 6.5\n",
         kit.check_paused_memory, r"documents paused_trial_mib: 6\.5; a paused trial"),
    ],
    ids=["no-facts", "wrong-units", "wrong-clone", "wrong-memory"],
)
def test_a_conf_that_documents_wrong_facts_fails_the_kit(conf_dir, facts, check, match):
    (conf_dir / "throwaway.yaml").write_text(CURVE + ("problem_facts:\n" + facts if facts
                                                      else ""))
    with pytest.raises((AssertionError, pytest.fail.Exception), match=match):
        check("throwaway")
