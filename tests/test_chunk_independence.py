"""Results do not depend on how cells are batched: per-cell keys in ``simulate`` and in the
particle experiments (chunk_size 1 and 4 give equal tables)."""

import jax
import numpy as np
import pytest

from sgldsim.dynamics import fsgld, simulate
from sgldsim.experiments import run_experiment
from sgldsim.potentials import AdditiveGradientNoise, sharp_flat_double_well

LAM = np.array([0.01, 0.02, 0.005])
BETA = np.array([3.0, 5.0, 2.0])
SIGMA = np.array([0.2, 0.0, 0.3])
KEYS = np.array([[1, 2], [3, 4], [5, 6]], np.uint32)


@pytest.mark.parametrize(("dtype", "noisy_gradient"), [("float32", False), ("float64", True)])
def test_per_cell_keys_give_each_cell_its_one_cell_run(dtype, noisy_gradient):
    u = sharp_flat_double_well()
    u = AdditiveGradientNoise(u, 0.5) if noisy_gradient else u
    x0 = np.full((500, 1), 2.0)
    batch = simulate(KEYS, u, fsgld(LAM, BETA, SIGMA), x0, 60, record_every=20, dtype=dtype)
    for i in range(3):
        alone = simulate(KEYS[i], u, fsgld(LAM[i], BETA[i], SIGMA[i]), x0, 60, record_every=20,
                         dtype=dtype)
        np.testing.assert_array_equal(np.asarray(batch.particles[i]), np.asarray(alone.particles))
    if dtype == "float64":
        return
    # typed keys of the cell shape are the same keys
    typed = simulate(jax.random.wrap_key_data(KEYS), u, fsgld(LAM, BETA, SIGMA), x0, 60,
                     record_every=20, dtype=dtype)
    np.testing.assert_array_equal(np.asarray(typed.particles), np.asarray(batch.particles))


def test_per_cell_keys_differ_from_one_key_and_between_cells():
    u = sharp_flat_double_well()
    x0 = np.zeros((3, 200, 1))
    same_keys = np.repeat(KEYS[:1], 3, axis=0)
    per_cell = simulate(same_keys, u, fsgld(np.full(3, 0.01), 3.0, 0.2), x0, 5)
    shared = simulate(KEYS[0], u, fsgld(np.full(3, 0.01), 3.0, 0.2), x0, 5)
    p, s = np.asarray(per_cell.particles), np.asarray(shared.particles)
    np.testing.assert_array_equal(p[0], p[2])  # equal keys and parameters: equal cells
    assert not np.array_equal(s[0], s[2])  # one key: each cell its own counter stream
    np.testing.assert_array_equal(p[0], s[0])  # cell 0 of one key is the one-cell run


def test_key_of_the_wrong_batch_shape_is_a_one_line_error():
    u = sharp_flat_double_well()
    with pytest.raises(ValueError, match=r"key has batch shape \(2,\); allowed: .*\(3,\)"):
        simulate(KEYS[:2], u, fsgld(LAM, BETA, SIGMA), np.zeros((10, 1)), 5)


TINY = {
    "convergence": ["params.n_particles=200", "params.n_steps=300", "params.n_records=8",
                    "grid.step_size=[0.00125, 0.0025, 0.005]", "grid.beta=[3.0, 5.0]"],
    "excess-risk": ["params.n_particles=200", "params.n_steps=300", "params.n_records=8",
                    "grid.step_size=[0.00125, 0.0025, 0.005]", "grid.beta=[3.0, 5.0]"],
    "step-size-rate": ["params.n_particles=200", "params.n_steps=100", "grid.beta=[3.0, 12.0]",
                       "grid.step_size=[0.0005, 0.001, 0.002]"],
    "demo-quadratic": ["params.n_particles=500", "params.n_steps=20"],
}


@pytest.mark.parametrize("name", list(TINY))
def test_particle_experiments_do_not_depend_on_chunk_size(name, tmp_path):
    tables = [run_experiment(name, [*TINY[name], f"chunk_size={size}"],
                             out_dir=tmp_path / str(size), progress=False).results
              for size in (1, 4)]
    assert tables[0].cell_id.nunique() == 6 if name != "demo-quadratic" else 8
    assert tables[0].equals(tables[1])
