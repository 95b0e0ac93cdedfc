"""Knowing the annotators: skill from gold, consensus of overlapped answers, skill without
gold, flags for review, and contested gold items.

Pure functions over :class:`~hitl_active.workforce.records.Answer` records and gold truth
(:class:`~hitl_active.formats.core.ImageLabels` per image key); storage, Label Studio and
routing sit above. Each module is imported on its own:

- :mod:`.records`   ``Answer``, ``Gold``, grouping helpers
- :mod:`.stats`     ``Estimate`` (value, 90% interval, n, "not enough data")
- :mod:`.gold`      ``score_gold``: recall, precision, labels, IoU, automation bias, box noise
- :mod:`.consensus` ``merge_answers`` (Hungarian clustering, weighted vote), ``pairwise_agreement``
- :mod:`.latent`    ``estimate_without_gold``: Dawid–Skene reliability and box noise from overlap
- :mod:`.flags`     ``flag_skills``, ``flag_spammers`` (sequential test): flags, never exclusion
- :mod:`.contest`   gold items contested by an annotator, and their review
- :mod:`.report`    ``annotator_report``: every figure about one annotator, for them to see

Fair work, measured (pure functions over :class:`~hitl_active.workforce.worklog.WorkEvent`):

- :mod:`.worklog`   ``WorkEvent`` (Label Studio annotation / skip / draft records)
- :mod:`.hours`     ``sessions``, ``total_hours``, ``hours_per_day`` / ``hours_per_week``
- :mod:`.pay`       ``PayModel``, ``WageFloor``, ``pay_for_period``, ``wage_flags``, pilot estimates
- :mod:`.workload`  ``Caps``, ``workload``, ``room_left``, ``cap_flags``
- :mod:`.signals`   skip and disagreement signals per class, never about a person
- :mod:`.roi`       hours per mAP point, cost per accepted box, human-verified share
- :mod:`.transparency` per project: hours, pay, effective wages, training paid

The training track (pure functions over :class:`~hitl_active.workforce.practice.PracticeTask`):

- :mod:`.practice`   ``make_practice_tasks``: micro-tasks from labelled images, truth aside
- :mod:`.grading`    ``grade``: right or wrong per skill, and feedback (missed, loose, wrong class)
- :mod:`.mastery`    ``Mastery``, ``bkt_update``, ``predict_success``: BKT per trainee × skill
- :mod:`.bkt_fit`    ``fit_bkt``: prior, slip, guess and learn per task type from practice logs
- :mod:`.curriculum` ``make_policy`` (adaptive, fixed, random), ``TypeBandit`` with peer tips
"""
