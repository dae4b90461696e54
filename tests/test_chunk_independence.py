"""Results do not depend on how cells are batched: per-cell keys in ``simulate`` and in the
particle experiments (chunk_size 1 and 4 give equal tables)."""

import jax
import numpy as np
import pytest

from sgldsim.dynamics import fsgld_sampler, simulate
from sgldsim.experiments.common.particle_runs import floor_rows, simulate_cells
from sgldsim.experiments.fsgld_theory import convergence
from sgldsim.measures.stationary import target_measures
from sgldsim.potentials import AdditiveGradientNoise, sharp_flat_double_well
from sgldsim.potentials.catalogue import landscape
from sgldsim.runner import ChunkTask, expand_grid, resolve_experiment

LAM = np.array([0.01, 0.02, 0.005])
BETA = np.array([3.0, 5.0, 2.0])
SIGMA = np.array([0.2, 0.0, 0.3])
KEYS = np.array([[1, 2], [3, 4], [5, 6]], np.uint32)


def test_per_cell_keys_give_each_cell_its_one_cell_run():
    # float64 (two hashes per draw) and a stochastic gradient (keyed per cell, vmapped)
    dtype = "float64"
    u = AdditiveGradientNoise(sharp_flat_double_well(), 0.5)
    x0 = np.full((500, 1), 2.0)
    batch = simulate(KEYS, u, fsgld_sampler(LAM, BETA, SIGMA), x0, 60, record_every=20, dtype=dtype)
    for i in range(3):
        alone = simulate(KEYS[i], u, fsgld_sampler(LAM[i], BETA[i], SIGMA[i]), x0, 60,
                         record_every=20, dtype=dtype)
        np.testing.assert_array_equal(np.asarray(batch.particles[i]), np.asarray(alone.particles))
    # typed keys of the cell shape are the same keys
    typed = simulate(jax.random.wrap_key_data(KEYS), u, fsgld_sampler(LAM, BETA, SIGMA), x0, 60,
                     record_every=20, dtype=dtype)
    np.testing.assert_array_equal(np.asarray(typed.particles), np.asarray(batch.particles))


def test_per_cell_keys_differ_from_one_key_and_between_cells():
    u = sharp_flat_double_well()
    x0 = np.zeros((3, 200, 1))
    same_keys = np.repeat(KEYS[:1], 3, axis=0)
    per_cell = simulate(same_keys, u, fsgld_sampler(np.full(3, 0.01), 3.0, 0.2), x0, 5)
    shared = simulate(KEYS[0], u, fsgld_sampler(np.full(3, 0.01), 3.0, 0.2), x0, 5)
    p, s = np.asarray(per_cell.particles), np.asarray(shared.particles)
    np.testing.assert_array_equal(p[0], p[2])  # equal keys and parameters: equal cells
    assert not np.array_equal(s[0], s[2])  # one key: each cell its own counter stream
    np.testing.assert_array_equal(p[0], s[0])  # cell 0 of one key is the one-cell run


def test_key_of_the_wrong_batch_shape_is_a_one_line_error():
    u = sharp_flat_double_well()
    with pytest.raises(ValueError, match=r"key has batch shape \(2,\); allowed: .*\(3,\)"):
        simulate(KEYS[:2], u, fsgld_sampler(LAM, BETA, SIGMA), np.zeros((10, 1)), 5)


def test_particle_chunks_give_each_cell_its_one_cell_rows():
    """simulate_cells and floor_rows (shared by convergence, excess-risk, step-size-rate) give a
    cell the same particles and noise floors in a chunk of 3 as alone, though the chunk's cells
    share one target measure object."""
    config, _ = resolve_experiment("convergence", ["params.n_particles=100",
                                                   "grid.step_size=[0.001, 0.002, 0.004]"])
    cells = [convergence.Params.from_cell(c) for c in expand_grid(config)]
    keys = np.stack([c.key for c in expand_grid(config)])
    u = landscape(cells[0].potential)
    x0 = np.full((100, 1), 2.0)
    target = target_measures(u, 3.0, 0.2)["pi_f"]
    chunk = simulate_cells(u, cells, keys, x0, 50, np.array([0, 25, 50]))
    floors = floor_rows([{"pi_f": target}] * 3, 100, keys)
    for i, cell in enumerate(cells):
        alone = simulate_cells(u, [cell], keys[i:i + 1], x0, 50, np.array([0, 25, 50]))
        np.testing.assert_array_equal(chunk[0][i], alone[0][0])
        assert floors[i] == floor_rows([{"pi_f": target}], 100, keys[i:i + 1])[0]
    assert floors[0] != floors[1]


def test_vmapped_experiment_does_not_depend_on_chunk_size():
    config, _ = resolve_experiment("demo-quadratic", ["params.n_particles=500",
                                                      "params.n_steps=20"])
    cells, task = expand_grid(config), ChunkTask(config)
    assert len(cells) == 8
    assert task(cells[:4]) + task(cells[4:]) == [task([c])[0] for c in cells]
