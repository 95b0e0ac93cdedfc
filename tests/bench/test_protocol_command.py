"""The protocol command a benchmark summary records: machine folders left out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_simulate.py"


@pytest.fixture(scope="module")
def protocol_command():
    spec = importlib.util.spec_from_file_location("bench_simulate_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.protocol_command


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dataset", "/data/sets/kangaroo", "--out", "/tmp/o", "--base", "/m/base.pt",
          "--seeds", "5"],
         "scripts/bench_simulate.py --dataset BENCH/kangaroo --base base.pt --seeds 5"),
        (["--dataset=/data/sets/kangaroo", "--out=/tmp/o", "--base=/m/base.pt", "--rounds", "4"],
         "scripts/bench_simulate.py --dataset=BENCH/kangaroo --base=base.pt --rounds 4"),
        (["--docs", "docs", "--png", "x.png", "--strategies", "random,entropy-sum"],
         "scripts/bench_simulate.py --strategies random,entropy-sum"),
    ],
)  # fmt: skip
def test_the_recorded_command_names_no_folder_of_this_machine(protocol_command, argv, expected):
    assert protocol_command(argv, "/data/sets/kangaroo") == expected
