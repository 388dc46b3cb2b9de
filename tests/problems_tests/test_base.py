"""`config_key`: the canonical JSON that names a configuration in every result file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from problems import base
from problems.base import config_key

CONFIGS = [
    {},
    {"b": 1.5, "a": 3, "c": "x"},
    {"lr": np.float64(1e-05), "n": np.int64(7), "flag": np.bool_(True), "none": None},
    {"é": "ü\"\\", "big": 1e16, "tiny": 5e-324, "nan": math.nan, "inf": -math.inf, "t": True},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_config_key_is_sorted_compact_json(config):
    expected = json.dumps(config, sort_keys=True, separators=(",", ":"),
                          default=base._json_scalar)
    assert config_key(config) == expected


@pytest.mark.parametrize("config", CONFIGS)
def test_pure_python_encoder_agrees(monkeypatch, config):
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert "".join(base._key_encoder()(config, 0)) == config_key(config)


def test_non_scalar_values_are_refused():
    with pytest.raises(TypeError, match="must be scalars"):
        config_key({"a": object()})
