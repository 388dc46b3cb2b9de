"""Hydra's CLI spellings on the compose-based CLI: they work, or get one sentence (exit 2)."""

from __future__ import annotations

import pytest

from benchmarks.run import main


@pytest.mark.parametrize("argv", [["--cfg", "job"], ["--cfg=job"], ["-c", "job"], ["--cfg"],
                                  ["--cfg", "all"], ["--cfg", "job", "problem=hartmann6"],
                                  ["problem=hartmann6", "--cfg", "job"]])
def test_cfg_spellings_print_the_composed_config(argv, capsys, tmp_path):
    argv = [*argv, f"results_dir={tmp_path}"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "study: default" in out
    assert ("Hartmann6Problem" in out) == ("problem=hartmann6" in argv)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("flag", ["-m", "--multirun"])
def test_multirun_spellings_sweep(flag, capsys, tmp_path):
    assert main([flag, "--cfg", "job", "problem=branin,hartmann6",
                 f"results_dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert out.count("study: default") == 2


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(flag, capsys):
    assert main([flag]) == 0
    out = capsys.readouterr().out
    assert "--cfg, -c [job|all]" in out
    assert "n_jobs=N or executor=ray" in out


@pytest.mark.parametrize(("argv", "match"), [
    (["--cfg", "hydra"], "`--cfg hydra` has nothing to print: this CLI composes with Hydra's "
                         "compose API"),
    (["--cfg", "foo"], "`--cfg foo` is not a --cfg spelling; use --cfg job"),
    (["hydra/launcher=joblib"], "`hydra/launcher=joblib` configures Hydra's launcher, sweeper "
                                "or output, which this compose-based CLI does not use (no "
                                "launcher or sweeper plugins); for parallel cells use "
                                "n_jobs=N or executor=ray"),
    (["-m", "hydra/sweeper=optuna"], "`hydra/sweeper=optuna` configures Hydra's launcher"),
    (["hydra.launcher.n_jobs=4"], "`hydra.launcher.n_jobs=4` configures Hydra's launcher"),
    (["hydra.run.dir=out"], "`hydra.run.dir=out` configures Hydra's launcher"),
    (["--info"], "`--info` (Hydra's config search path information) is a Hydra application "
                 "flag this compose-based CLI does not offer"),
    (["--config-name=other"], "`--config-name` (another primary config file) is a Hydra"),
    (["--hydra-help"], "`--hydra-help` (Hydra's own help) is a Hydra application flag"),
    (["--bogus"], "unknown option `--bogus`; the options are -m, --cfg and --help"),
])
def test_hydra_features_not_offered_are_one_sentence(argv, match, capsys, tmp_path):
    assert main([*argv, f"results_dir={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")
    assert match in err, err
    assert not (tmp_path / "r").exists()
