"""Dawid–Skene: each annotator's confusion over labels, and the labels' priors, from
answers without any truth (Dawid & Skene 1979), by expectation–maximisation in numpy.

Initialised with majority-vote label distributions per item; the M-step counts, per
annotator, the expected true labels behind each label they gave (entries floored at
1e-10, then normalised over the labels given); the E-step combines the priors with the
annotators' confusions in log space; it stops when the evidence lower bound per answer
gains less than ``tol``. The same algorithm and stopping rule as Crowd-Kit's
``DawidSkene`` (a parity test checks it), without its dependency tree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["dawid_skene"]

EPS = 1e-10


def _m_step(probas, t_idx, w_idx, o_idx, n_workers, n_labels):
    counts = np.zeros((n_workers, n_labels, n_labels))  # [worker, observed, true]
    np.add.at(counts, (w_idx, o_idx), probas[t_idx])
    given = np.zeros((n_workers, n_labels), bool)
    given[w_idx, o_idx] = True
    counts = np.where(given[:, :, None], np.maximum(counts, EPS), 0.0)
    return counts / counts.sum(axis=1, keepdims=True)


def _e_step(priors, errors, t_idx, w_idx, o_idx, n_tasks):
    log_lik = np.zeros((n_tasks, len(priors)))
    np.add.at(log_lik, t_idx, np.log2(errors[w_idx, o_idx]))
    log_lik += np.log2(np.maximum(priors, EPS))
    scaled = np.exp2(log_lik - log_lik.max(axis=1, keepdims=True))
    return scaled / scaled.sum(axis=1, keepdims=True)


def _elbo(probas, priors, errors, t_idx, w_idx, o_idx) -> float:
    joint = np.log(errors[w_idx, o_idx]) + np.log(np.maximum(priors, EPS))
    expectation = float((probas[t_idx] * joint).sum())
    p = np.maximum(probas, EPS)
    return expectation - float((np.log(p) * p).sum())


def dawid_skene(
    tasks: Sequence[object],
    workers: Sequence[str],
    labels: Sequence[int],
    n_labels: int,
    n_iter: int = 100,
    tol: float = 1e-5,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Priors ``(n_labels,)`` and per-worker confusion ``[true, observed]`` from answers
    ``(task, worker, label)``; labels nobody gave keep prior 0 and zero rows."""
    if not len(labels):
        return np.zeros(n_labels), {}
    task_names, t_idx = np.unique(np.asarray(tasks, dtype=object).astype(str), return_inverse=True)
    worker_names, w_idx = np.unique(np.asarray(workers, dtype=object).astype(str),
                                    return_inverse=True)  # fmt: skip
    present, o_idx = np.unique(np.asarray(labels, np.int64), return_inverse=True)
    n_t, n_w, n_l = len(task_names), len(worker_names), len(present)
    probas = np.zeros((n_t, n_l))
    np.add.at(probas, (t_idx, o_idx), 1.0)
    probas /= probas.sum(axis=1, keepdims=True)
    priors = probas.mean(axis=0)
    errors = _m_step(probas, t_idx, w_idx, o_idx, n_w, n_l)
    loss = -np.inf
    for _ in range(n_iter):
        probas = _e_step(priors, errors, t_idx, w_idx, o_idx, n_t)
        priors = probas.mean(axis=0)
        errors = _m_step(probas, t_idx, w_idx, o_idx, n_w, n_l)
        new_loss = _elbo(probas, priors, errors, t_idx, w_idx, o_idx) / len(t_idx)
        if new_loss - loss < tol:
            break
        loss = new_loss
    full_priors = np.zeros(n_labels)
    full_priors[present] = priors
    confusion = {}
    for w, name in enumerate(worker_names):
        m = np.zeros((n_labels, n_labels))
        m[np.ix_(present, present)] = errors[w].T  # [true, observed]
        confusion[str(name)] = m
    return full_priors, confusion
