"""The benchmark room: simulated annotators, the simulated active-learning benchmark
(config, runner, results, curves) and the demo driver.

It drives the functions the product runs (the loop's selection, training, evaluation)
and never a second implementation of them; ``hitl_active.loop`` does not import it.
Each module is imported on its own.
"""
