"""Our numpy Dawid–Skene gives Crowd-Kit's estimates (Crowd-Kit is a development dependency
only, for this check)."""

from __future__ import annotations

import numpy as np
import pytest

from hitl_active.workforce.dawid_skene import dawid_skene


def _crowdkit(rows, n_labels):
    pd = pytest.importorskip("pandas")
    aggregation = pytest.importorskip("crowdkit.aggregation")
    df = pd.DataFrame(rows, columns=["task", "worker", "label"])
    ds = aggregation.DawidSkene(n_iter=100, tol=1e-6).fit(df)
    priors = np.array([float(ds.priors_.get(k, 0.0)) for k in range(n_labels)])
    conf = {}
    for worker, table in ds.errors_.groupby(level=0):
        m = np.zeros((n_labels, n_labels))
        for (_, observed), row in table.iterrows():
            for true, p in row.items():
                m[int(true), int(observed)] = float(p)
        conf[str(worker)] = m
    return priors, conf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimates_match_crowd_kit(seed) -> None:
    rng = np.random.default_rng(seed)
    n_labels, n_tasks = 4, 120
    truth = rng.choice(n_labels - 1, size=n_tasks, p=[0.6, 0.3, 0.1])  # label 3 never true
    accuracy = {"a": 0.9, "b": 0.7, "c": 0.5, "d": 0.95}
    rows = []
    for task, true in enumerate(truth):
        for worker in rng.choice(list(accuracy), size=3, replace=False):
            right = rng.random() < accuracy[worker]
            label = int(true) if right else int(rng.integers(n_labels))
            rows.append((f"t{task}", str(worker), label))
    want_priors, want_conf = _crowdkit(rows, n_labels)
    tasks, workers, labels = zip(*rows, strict=True)
    priors, conf = dawid_skene(tasks, workers, labels, n_labels, n_iter=100, tol=1e-6)
    np.testing.assert_allclose(priors, want_priors, atol=1e-6)
    assert conf.keys() == want_conf.keys()
    for worker, m in conf.items():
        np.testing.assert_allclose(m, want_conf[worker], atol=1e-6)
    # and it recovers who is careful: the best annotator's diagonal beats the worst's
    assert np.trace(conf["d"][:3, :3]) > np.trace(conf["c"][:3, :3])


def test_no_answers_is_no_estimate() -> None:
    priors, conf = dawid_skene([], [], [], 3)
    assert priors.tolist() == [0.0, 0.0, 0.0] and conf == {}
