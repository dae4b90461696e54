"""The experiments, grouped by the paper whose claims they test (docs/theory.md).

Each experiment is one module implementing the runner's experiment-module API
(:mod:`sgldsim.runner`) and one TOML file ``experiments/<name>.toml`` that names it:

- :mod:`~sgldsim.experiments.fsgld_theory` -- the fSGLD paper's theory on synthetic potentials:
  ``demo-quadratic``, ``coupling`` (Prop. 3.4), ``convergence``, ``step-size-rate`` (Thm 3.5),
  ``excess-risk`` (Thm 3.8), ``dimension``, ``flatness``, ``perturbation-noise``.
- :mod:`~sgldsim.experiments.fsgld_networks` -- fSGLD and its baselines on neural networks:
  ``nn-noisy-labels``, ``nn-coupling``, ``nn-cost``.
- :mod:`~sgldsim.experiments.dgsam` -- DGSAM: ``dgsam-toy`` (fake flat minima) and
  ``dgsam-domains`` (domain generalisation).
- :mod:`~sgldsim.experiments.dcgd` -- DCGD on physics-informed networks: ``pinn-dcgd``.
- :mod:`~sgldsim.experiments.common` -- what several experiments share (particle runs, fits,
  network set-up, parameter checks).

Run one with ``sgldsim run <name>`` or :func:`sgldsim.runner.run_experiment`.
"""
