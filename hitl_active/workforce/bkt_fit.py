"""Fitting BKT parameters from practice logs by expectation–maximisation (Baum–Welch).

Per skill, every trainee's attempts on it form one sequence of a two-state hidden Markov
model (unlearned → learned, never back). The E-step runs the scaled forward–backward pass
over all sequences at once (numpy, padded to the longest); the M-step sets the prior and the
learn rate of each task type in closed form, and slip and guess by a one-dimensional root
search (the difficulty of each attempt scales them, see :mod:`hitl_active.workforce.mastery`).
Slip and guess are kept below ``max_slip_guess`` so that "learned" stays the state that
answers better.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import brentq

from hitl_active.workforce.mastery import DIFFICULTY_SPREAD, Attempt, BKTParams

__all__ = ["fit_bkt", "fit_skill"]

logger = logging.getLogger(__name__)

EPS = 1e-6


def _pad(seqs: Sequence[Sequence[Attempt]], types: list[str]):
    n, length = len(seqs), max(len(s) for s in seqs)
    obs = np.zeros((n, length))
    mult = np.ones((n, length))
    kind = np.zeros((n, length), dtype=np.int64)
    mask = np.zeros((n, length), dtype=bool)
    for i, s in enumerate(seqs):
        k = len(s)
        obs[i, :k] = [a.correct for a in s]
        mult[i, :k] = [1 + DIFFICULTY_SPREAD * (2 * a.difficulty - 1) for a in s]
        kind[i, :k] = [types.index(a.task_type) for a in s]
        mask[i, :k] = True
    return obs, mult, kind, mask


def _solve(w_a: float, w_b: np.ndarray, m: np.ndarray, hi: float) -> float:
    """argmax over x of w_a·log(x) + Σ w_b·log(1 − x·m): the root of its derivative."""
    if w_a <= 0:
        return EPS
    f = lambda x: w_a / x - float(np.sum(w_b * m / (1 - x * m)))  # noqa: E731
    if f(hi) > 0:
        return hi
    if f(EPS) <= 0:
        return EPS
    return float(brentq(f, EPS, hi))


def fit_skill(
    seqs: Sequence[Sequence[Attempt]],
    *,
    start: BKTParams | None = None,
    max_iter: int = 200,
    tol: float = 1e-6,
    max_slip_guess: float = 0.45,
) -> BKTParams:
    """BKT parameters of one skill from the attempt sequences of many trainees."""
    seqs = [s for s in seqs if s]
    if not seqs:
        raise ValueError("no attempts to fit; give at least one trainee's attempts on the skill")
    types = sorted({a.task_type for s in seqs for a in s})
    obs, mult, kind, mask = _pad(seqs, types)
    p0 = start or BKTParams(prior=0.2, learn=0.1, slip=0.1, guess=0.2)
    prior, slip, guess = p0.prior, p0.slip, p0.guess
    learn = np.array([p0.learn_for(t) for t in types])
    n, length = obs.shape
    has_next = np.zeros_like(mask)
    has_next[:, :-1] = mask[:, 1:]
    last_ll = -np.inf
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (logged below)
        s_t, g_t = slip * mult, guess * (2 - mult)
        e_l = np.where(obs == 1, 1 - s_t, s_t)
        e_u = np.where(obs == 1, g_t, 1 - g_t)
        e_l, e_u = np.where(mask, e_l, 1.0), np.where(mask, e_u, 1.0)
        tr = np.where(has_next, learn[kind], 0.0)
        a = np.zeros((n, length, 2))
        c = np.zeros((n, length))
        a[:, 0] = np.stack([(1 - prior) * e_u[:, 0], prior * e_l[:, 0]], axis=1)
        for t in range(length):
            if t:
                u = a[:, t - 1, 0] * (1 - tr[:, t - 1]) * e_u[:, t]
                lrn = (a[:, t - 1, 1] + a[:, t - 1, 0] * tr[:, t - 1]) * e_l[:, t]
                a[:, t] = np.stack([u, lrn], axis=1)
            c[:, t] = a[:, t].sum(axis=1)
            a[:, t] /= c[:, t, None]
        b = np.ones((n, length, 2))
        for t in range(length - 2, -1, -1):
            nxt_u, nxt_l = e_u[:, t + 1] * b[:, t + 1, 0], e_l[:, t + 1] * b[:, t + 1, 1]
            b[:, t, 0] = ((1 - tr[:, t]) * nxt_u + tr[:, t] * nxt_l) / c[:, t + 1]
            b[:, t, 1] = nxt_l / c[:, t + 1]
        gamma = a * b
        gamma /= gamma.sum(axis=2, keepdims=True)
        xi = np.zeros((n, length))
        xi[:, :-1] = a[:, :-1, 0] * tr[:, :-1] * e_l[:, 1:] * b[:, 1:, 1] / c[:, 1:]
        ll = float(np.log(c[mask]).sum())
        prior = float(np.clip(gamma[:, 0, 1].mean(), EPS, 1 - EPS))
        gu = gamma[..., 0] * has_next
        for k in range(len(types)):
            sel = kind == k
            denom = gu[sel].sum()
            learn[k] = np.clip(xi[sel].sum() / denom, EPS, 1 - EPS) if denom > 0 else learn[k]
        w_l, w_u = gamma[..., 1][mask], gamma[..., 0][mask]
        o, m = obs[mask], mult[mask]
        hi_s = min(max_slip_guess, (1 - EPS) / m.max() - EPS)
        slip = _solve(float(np.sum(w_l * (1 - o))), w_l * o, m, hi_s)
        hi_g = min(max_slip_guess, (1 - EPS) / (2 - m).max() - EPS)
        guess = _solve(float(np.sum(w_u * o)), w_u * (1 - o), 2 - m, hi_g)
        if abs(ll - last_ll) < tol * max(abs(ll), 1.0):
            break
        last_ll = ll
    logger.debug("BKT fit: %d sequences, %d iterations, log-likelihood %.2f", n, n_iter, ll)
    pooled = float(
        np.average(learn, weights=[max((kind == k)[has_next].sum(), 1) for k in range(len(types))])
    )
    return BKTParams(
        prior=prior,
        learn=pooled,
        slip=slip,
        guess=guess,
        learn_by_type=dict(zip(types, learn.tolist(), strict=True)),
    )


def fit_bkt(
    logs: Mapping[str, Iterable[Attempt]], skills: Iterable[str] | None = None, **kw
) -> dict[str, BKTParams]:
    """BKT parameters per skill from each trainee's attempt log (oldest first)."""
    by_skill: dict[str, list[list[Attempt]]] = {}
    for attempts in logs.values():
        mine: dict[str, list[Attempt]] = {}
        for a in attempts:
            mine.setdefault(a.skill, []).append(a)
        for skill, seq in mine.items():
            by_skill.setdefault(skill, []).append(seq)
    wanted = sorted(by_skill) if skills is None else list(skills)
    missing = [s for s in wanted if s not in by_skill]
    if missing:
        raise ValueError(f"no attempts logged on skills {missing}; practise them before fitting")
    return {s: fit_skill(by_skill[s], **kw) for s in wanted}
