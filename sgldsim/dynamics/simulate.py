"""Simulate N particles of the perturbed-Langevin family (docs/theory.md §1) for many parameter
cells.

One step of every method in the family is

    theta_{k+1} = theta_k - lam_k * G(theta_k + sigma * xi'_k) + sqrt(2 lam_k / beta) * xi_k,

with G = grad u, or the potential's ``stochastic_grad`` (one data draw per step and particle),
and xi', xi ~ N(0, I) independent. A grid of (lam, beta, sigma) cells is one array program:
particles have shape (*cell, N, d) and the parameters broadcast over the particle axes.

Building blocks, BlackJAX style (key first, NamedTuple state, ``(state, info)`` from each step):
:func:`init`, :func:`draw_noise`, :func:`update`, :func:`step` and :func:`positions`;
:func:`simulate` runs them under ``lax.scan`` and records snapshots.

Performance notes (measured on the 2-core AMD EPYC CPU of this project, JAX 0.10.2, N = 1e5,
GaussianWells with 4 wells, float32; wall time per step on a busy shared machine, where one
number can vary 2x between runs, so alternatives were compared in interleaved runs):

- Layout. The state keeps particles on the LAST axis, shape (*cell, d, N). jax.random.normal
  of shape (10, 1e5) took 4.4 ms, of shape (1e5, 10) 20 ms: XLA:CPU vectorises the minor axis,
  and a minor axis of length d = 10 vectorises badly. For d = 1 the two are equal. The
  potential still sees (..., N, d): XLA materialises that transpose (2-3 particle-sized
  copies per step), which is cheaper than generating noise on the short axis.
- RNG. jax.random on CPU lowers Threefry with its 5 round groups rolled into a while loop and
  builds 64-bit counters; ``jax.random.bits`` of 1e6 words took 13.4 ms, the same 20-round
  Threefry-2x32 written unrolled with jnp ops 1.6 ms (one hash gives two words: xi' and xi;
  XLA still evaluates it once per output array), and ``erf_inv`` 1.4 ms per 1e6 (Box-Muller's
  sin + cos: 5.8 ms). So noise is drawn with :func:`threefry2x32` (bit-exact Threefry-2x32-20,
  tested against Random123's known-answer vectors) keyed by the step key. 'rbg'/'unsafe_rbg'
  keys were SLOWER here than threefry (RngBitGenerator: normal of (10, 1e5) 17 ms vs 4.4 ms),
  so they are not used. With jax.random, one (2, ...) draw vs two draws differed by less than
  the run-to-run noise.
- Fusion. Inside the step XLA fused the (cheap-looking, integer) hash into every consumer:
  3 fusions, one of them evaluating it once per well (55 ms/step at d = 10); XLA:CPU strips
  ``optimization_barrier``. :func:`simulate` therefore draws step k+1's noise at the end of
  step k and carries it through the loop, which forces it into a buffer: 18 ms/step at d = 10.
  The price: on a potential whose gradient is one elementwise fusion (Quadratic) carrying
  costs a buffer round trip (d = 1: 0.66 -> 1.28 ms/step; d = 10: 7.8 -> 11.3), against
  69.6 -> 15.7 ms/step on the wells at d = 10. Carrying bounds the worst case, so it is used.
- XLA:CPU's YNNPACK "reduce" fusions made the wells' small-axis reductions 10-40x slower
  (grad of 1e5 particles in d = 1: 10 ms vs 0.25 ms; d = 10: 9 ms vs 2.5 ms; d = 100 within
  noise). XLA's default copy insertion copied every loop-carried array each step (10 big
  copies in the program, 6 with region analysis; 19.8 -> 12.9 ms/step at d = 10).
  :func:`simulate` compiles with both options on CPU; they are per-jit options, so nothing
  outside this module changes. Vmapping the gradient over the particle axis instead of
  transposing was within noise (d = 10: 3.0 vs 3.2 ms per gradient step).
- The per-step finiteness check (divergence detection) is one extra pass over the particles,
  about 1 ms/step at d = 10.
- Per-cell keys (one key per cell, so a cell's draws do not depend on the batch) make the hash
  key an array broadcast over each cell's (d, N) block instead of a scalar. 4 cells of N = 2e4,
  wells, d = 10, one key vs per-cell keys: 44 vs 30 ms/step, d = 1: 4.5 vs 1.3 ms/step (load
  average 8-12, so within the run-to-run noise; no slowdown seen).
- Devices: the particle axis is sharded with ``jax.sharding`` (a sharding constraint on the
  position and the noise in the loop). Each particle's counter is its global index (XLA's SPMD
  partitioner offsets the iota), so the draws do not depend on the number of devices.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._divergence import divergence_message
from .._memory import check_memory
from .._precision import float64
from .._random import standard_normal as _standard_normal
from .._random import threefry2x32
from .._validation import check_choice, check_last_axis, check_positive_int
from .._warnings import warn_caller
from .samplers import Sampler

Array = jax.Array
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
# XLA:CPU options (see the performance notes above): no YNNPACK library fusions, and copy
# insertion with region analysis (without it every loop-carried array was copied each step).
_CPU_COMPILER_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "",
    "xla_cpu_copy_insertion_use_region_analysis": True,
}


# --- state and parameters ----------------------------------------------------------------------
class SamplerParams(NamedTuple):
    """Numbers of one step, each broadcastable against the state's (*cell, d, N) positions.

    A field that is a concrete (non-traced) 0 for ``sigma`` or inf for ``beta`` switches the
    corresponding noise off at trace time, so GD/SGD/SGLD/RWP draw only the noise they use.
    """

    step_size: Any
    beta: Any
    sigma: Any


class ParticleState(NamedTuple):
    """The particle state of :func:`simulate` between steps.

    Attributes:
      position: (*cell, d, N) particles on the last axis (use :func:`positions` for (*cell, N, d)).
      step: () int32, number of steps taken.
      diverged_at: (*cell,) int32, first step after which some particle of the cell was non-finite;
        -1 while all are finite.
    """

    position: Array
    step: Array
    diverged_at: Array


class StepInfo(NamedTuple):
    """finite: (*cell,) bool, every particle of the cell is finite after the step."""

    finite: Array


class Noise(NamedTuple):
    """Standard normal draws shaped like the position; ``None`` where the update does not use it.

    perturbation: xi', moves the point where the gradient is taken (scaled by sigma).
    langevin: xi, the Langevin noise (scaled by sqrt(2 lam / beta)).
    """

    perturbation: Array | None
    langevin: Array | None


class SimulationResult(NamedTuple):
    """Output of :func:`simulate`.

    Attributes:
      particles: (*cell, n_records, N, d) snapshots, a NumPy array in the run's dtype (NumPy,
        so that a float64 run stays float64 outside the float64 context it ran in).
      steps: (n_records,) step index of each snapshot.
      diverged_at: (*cell,) first step at which some particle became NaN/inf, -1 if none.
      sampler: the sampler that ran.
      wall_time: seconds for the whole call, compilation included.
      n_devices: number of devices the particles were computed on (sharded over N).
    """

    particles: Array
    steps: np.ndarray
    diverged_at: np.ndarray
    sampler: Sampler
    wall_time: float
    n_devices: int = 1


# --- random numbers ----------------------------------------------------------------------------
def draw_noise(key, shape: Sequence[int], dtype, perturbation: bool = True,
               langevin: bool = True) -> Noise:
    """Draw xi' and xi of ``shape`` (*cell, d, N) with :func:`threefry2x32`.

    ``key`` is one key for all cells, or one key per cell (typed keys of shape ``shape[:-2]``,
    or raw ``uint32[*shape[:-2], 2]``). Counter of an element: (index within the last two axes,
    2 * cell index + stream) with one key; (index, stream) with per-cell keys, so each cell's
    draws equal those of a one-cell call with its own key, whatever the other cells. In float32
    one hash gives both draws (its two words); float64 uses stream 0 for xi' and 1 for xi.
    """
    check_choice("dtype", np.dtype(dtype).name, tuple(DTYPES))
    shape = tuple(shape)
    batch = _key_batch_shape(key)
    if batch not in ((), shape[:-2]):
        raise ValueError(f"key has batch shape {batch}; allowed: () (one key) or the cell shape "
                         f"{shape[:-2]} (one key per cell)")
    words = _per_key(lambda k: jax.random.bits(k, (2,), jnp.uint32), key, len(batch))
    key_words = (words[..., 0, None, None], words[..., 1, None, None])
    n = shape[-1]
    index = (lax.broadcasted_iota(jnp.uint32, shape, len(shape) - 2) * np.uint32(n)
             + lax.broadcasted_iota(jnp.uint32, shape, len(shape) - 1))
    if batch:
        cell = jnp.zeros((), jnp.uint32)  # the key tells cells apart
    else:
        n_cells = int(np.prod(shape[:-2], dtype=np.int64))
        cell = jnp.arange(n_cells, dtype=jnp.uint32).reshape(shape[:-2] + (1, 1))

    def hashed(stream):
        return threefry2x32(key_words, index, jnp.broadcast_to(2 * cell + np.uint32(stream), shape))

    if dtype == jnp.float32:
        words = hashed(0)  # unused words are removed by XLA
        xi_prime = _standard_normal(words[:1], dtype) if perturbation else None
        xi = _standard_normal(words[1:], dtype) if langevin else None
    else:
        xi_prime = _standard_normal(hashed(0), dtype) if perturbation else None
        xi = _standard_normal(hashed(1), dtype) if langevin else None
    return Noise(xi_prime, xi)


def _key_batch_shape(key) -> tuple[int, ...]:
    """Shape of a (possibly batched) key: ``key.shape`` typed, ``key.shape[:-1]`` raw."""
    dtype = key.dtype if hasattr(key, "dtype") else np.asarray(key).dtype
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return tuple(key.shape)
    if np.shape(key)[-1:] != (2,):
        raise ValueError(f"key has shape {np.shape(key)}; allowed: a typed key array or raw "
                         "uint32 keys of shape (..., 2)")
    return tuple(np.shape(key)[:-1])


def _per_key(fn, key, batch_ndim: int):
    """``fn`` applied to every key of a batch of ``batch_ndim`` axes (vmapped)."""
    for _ in range(batch_ndim):
        fn = jax.vmap(fn)
    return fn(key)


# --- building blocks ---------------------------------------------------------------------------
def init(x0: Array) -> ParticleState:
    """State at step 0 from positions ``x0`` of shape (*cell, N, d)."""
    x0 = jnp.asarray(x0)
    position = jnp.swapaxes(x0, -1, -2)
    finite = jnp.all(jnp.isfinite(position), axis=(-2, -1))
    return ParticleState(position, jnp.zeros((), jnp.int32),
                         jnp.where(finite, -1, 0).astype(jnp.int32))


def positions(state: ParticleState) -> Array:
    """Particles of ``state`` as (*cell, N, d)."""
    return jnp.swapaxes(state.position, -1, -2)


def uses_perturbation(params: SamplerParams) -> bool:
    """False only when sigma is a concrete 0 everywhere (decided at trace time)."""
    return not _is_concrete_everywhere(params.sigma, lambda v: v == 0)


def uses_langevin(params: SamplerParams) -> bool:
    """False only when beta is a concrete inf everywhere (decided at trace time)."""
    return not _is_concrete_everywhere(params.beta, np.isinf)


def _is_concrete_everywhere(value, predicate) -> bool:
    if isinstance(value, jax.core.Tracer):
        return False
    return bool(np.all(predicate(np.asarray(value))))


def _gradient(potential, y: Array, key) -> Array:
    """G(y) on (*cell, d, N) positions: ``stochastic_grad`` when the potential has one (with
    per-cell keys, vmapped over the cells)."""
    y = jnp.swapaxes(y, -1, -2)
    if hasattr(potential, "stochastic_grad"):
        batch_ndim = len(_key_batch_shape(key))
        g_cell = potential.stochastic_grad
        for _ in range(batch_ndim):
            g_cell = jax.vmap(g_cell)
        g = g_cell(key, y)
    else:
        g = potential.grad(y)
    return jnp.swapaxes(g, -1, -2)


def update(state: ParticleState, noise: Noise, potential, params: SamplerParams,
           grad_key=None) -> tuple[ParticleState, StepInfo]:
    """One step with given noise (docs/theory.md §1):
    theta - lam G(theta + sigma xi') + sqrt(2 lam / beta) xi.

    Args:
      state: current state.
      noise: xi' and xi from :func:`draw_noise` (``None`` entries are skipped terms).
      potential: a potential with ``grad`` (and optionally ``stochastic_grad(key, x)``).
      params: step size, beta and sigma, broadcastable against ``state.position``.
      grad_key: key for ``stochastic_grad``; unused for deterministic potentials.

    Returns:
      The new state and the step's :class:`StepInfo`.
    """
    x = state.position
    lam = params.step_size
    y = x if noise.perturbation is None else x + params.sigma * noise.perturbation
    x_new = x - lam * _gradient(potential, y, grad_key)
    if noise.langevin is not None:
        x_new = x_new + jnp.sqrt(2 * lam / params.beta) * noise.langevin
    x_new = x_new.astype(x.dtype)
    finite = jnp.all(jnp.isfinite(x_new), axis=(-2, -1))
    newly_bad = (state.diverged_at < 0) & ~finite
    diverged_at = jnp.where(newly_bad, state.step + 1, state.diverged_at).astype(jnp.int32)
    return ParticleState(x_new, state.step + 1, diverged_at), StepInfo(finite)


def _step_keys(key):
    """The split shared by :func:`step` and :func:`simulate`: (noise key, gradient key), each
    per cell when ``key`` holds one key per cell."""
    keys = _per_key(jax.random.split, key, len(_key_batch_shape(key)))
    batch_ndim = len(_key_batch_shape(key))
    return keys[(slice(None),) * batch_ndim + (0,)], keys[(slice(None),) * batch_ndim + (1,)]


def _fold_in(key, k):
    """``jax.random.fold_in(key, k)`` for one key or per-cell keys."""
    return _per_key(lambda c: jax.random.fold_in(c, k), key, len(_key_batch_shape(key)))


def step(key, state: ParticleState, potential, params: SamplerParams
         ) -> tuple[ParticleState, StepInfo]:
    """One step of the family (docs/theory.md §1): draws xi', xi from ``key``, then
    :func:`update`."""
    noise_key, grad_key = _step_keys(key)
    noise = draw_noise(noise_key, state.position.shape, state.position.dtype,
                       uses_perturbation(params), uses_langevin(params))
    return update(state, noise, potential, params, grad_key)


# --- the simulation loop -----------------------------------------------------------------------
def _cast_floats(tree, dtype):
    """Cast every floating leaf of a pytree (a potential) to ``dtype``; other leaves unchanged."""
    def cast(leaf):
        leaf = jnp.asarray(leaf)
        return leaf.astype(dtype) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf

    return jax.tree_util.tree_map(cast, tree)


def _run(run_key, x0, potential, step_size, beta, sigma, record_steps, *,
         schedule, perturbation, langevin, sharding):
    """Advance ``init(x0)`` through ``record_steps``; returns (snapshots, diverged_at).

    Step k uses key fold_in(run_key, k), exactly as ``step(fold_in(run_key, k), ...)`` would;
    its noise is drawn at the end of step k - 1 and carried (see the performance notes).
    ``sharding`` (or None) places the (*cell, d, N) position and noise arrays on devices.
    """
    def place(x):
        return x if sharding is None or x is None else lax.with_sharding_constraint(x, sharding)

    state = init(x0)
    state = state._replace(position=place(state.position))
    shape, dtype = state.position.shape, state.position.dtype
    potential = _cast_floats(potential, dtype)
    sigma = sigma if perturbation else 0.0
    beta = beta if langevin else np.inf

    def params_at(k):
        if schedule is None:
            return SamplerParams(step_size, beta, sigma)
        lam = jnp.broadcast_to(jnp.asarray(schedule(k), dtype), shape[:-2])
        return SamplerParams(lam[..., None, None], beta, sigma)

    def noise_for(k):
        noise_key, _ = _step_keys(_fold_in(run_key, k))
        return Noise(*map(place, draw_noise(noise_key, shape, dtype, perturbation, langevin)))

    def one_step(k, carry):
        state, noise = carry
        _, grad_key = _step_keys(_fold_in(run_key, k))
        state, _ = update(state, noise, potential, params_at(k), grad_key)
        return state._replace(position=place(state.position)), noise_for(k + 1)

    def advance(carry, target):
        carry = lax.fori_loop(carry[0].step, target, one_step, carry)
        return carry, carry[0].position

    (state, _), snapshots = lax.scan(advance, (state, noise_for(0)), record_steps)
    particles = jnp.swapaxes(jnp.moveaxis(snapshots, 0, -3), -1, -2)
    return particles, state.diverged_at


_RUN_STATIC = ("schedule", "perturbation", "langevin", "sharding")
_run_plain = jax.jit(_run, static_argnames=_RUN_STATIC)
_run_cpu = jax.jit(_run, static_argnames=_RUN_STATIC, compiler_options=_CPU_COMPILER_OPTIONS)


def _compiled_run(*args, **kwargs):
    global _run_cpu
    if _run_cpu is not None and jax.default_backend() == "cpu":
        try:
            return _run_cpu(*args, **kwargs)
        except jax.errors.JaxRuntimeError as err:  # an XLA without these options: run without
            if not any(option in str(err) for option in _CPU_COMPILER_OPTIONS):
                raise
            _run_cpu = None
    return _run_plain(*args, **kwargs)


@float64
def simulate(key, potential, sampler: Sampler, x0, n_steps: int,
             record_every: int | None = None, record_at: Sequence[int] | None = None,
             dtype: str = "float32", devices: Sequence[jax.Device] | None = None
             ) -> SimulationResult:
    """Run ``sampler`` on N particles (for every parameter cell) and record snapshots.

    theta_{k+1} = theta_k - lam_k G(theta_k + sigma xi'_k) + sqrt(2 lam_k / beta) xi_k
    (docs/theory.md §1).
    All cells run in one jitted program; time runs in a nested ``lax.scan`` (records outside,
    steps between records inside), so memory is O(records), not O(steps).

    Args:
      key: a JAX PRNG key (typed or raw uint32[2]), or one key per cell (typed keys of the
        cell shape, or raw uint32[*cell, 2]). The same key gives identical particles; the draws
        of step k depend only on (key, k, dtype), not on the recording. With per-cell keys each
        cell's particles equal those of a one-cell call with its own key (whatever the other
        cells), so a sweep's results do not depend on how its cells are batched.
      potential: potential with ``dim``, ``grad`` and optionally ``stochastic_grad(key, x)``.
      sampler: :class:`Sampler`; array-valued parameters form the cell shape, and ``step_size``
        may be a schedule ``k -> lam_k`` (k = steps taken so far, optax style).
      x0: initial particles, (N, d) or (*cell, N, d) broadcastable with the sampler's cells.
      n_steps: positive number of steps.
      record_every: record steps 0, r, 2r, ... and always the final step ``n_steps``.
      record_at: increasing step indices in [0, n_steps] to record exactly; the chain runs to
        the last of them. Default (neither given): steps 0 and ``n_steps``.
      dtype: "float32" (default) or "float64"; x0, parameters and the potential's floating
        leaves are cast so that the whole run is in this dtype.
      devices: devices over which the particle axis is sharded (``jax.sharding``; N must be a
        multiple of their number). Default (automatic): every device of JAX's default backend
        (``jax.devices()``) when there are several and they divide N, else one device. The
        particles are the same on any number of devices (each particle's noise is keyed by its
        index, and particles interact only through the per-cell divergence check).

    Returns:
      :class:`SimulationResult` with particles (*cell, n_records, N, d). A run with NaN/inf
      particles is not stopped: ``diverged_at`` gives the first bad step per cell, snapshots
      before it are intact, and a ``RuntimeWarning`` names the step and cell.
    """
    start = time.perf_counter()
    if not isinstance(sampler, Sampler):
        raise ValueError(f"sampler={sampler!r} is not allowed: pass a Sampler (e.g. "
                         "sgldsim.sgld_sampler)")
    check_positive_int("n_steps", n_steps)
    record_steps = _record_steps(n_steps, record_every, record_at)
    run_dtype = _run_dtype(dtype)
    x0 = np.asarray(x0) if not isinstance(x0, jax.Array) else x0
    cell_shape = _cell_shape(x0, potential.dim, sampler)
    schedule = sampler.step_size if callable(sampler.step_size) else None
    if schedule is not None:
        _check_schedule(schedule, cell_shape)
    if not np.all(np.isfinite(np.asarray(x0))):
        raise ValueError("x0 contains NaN or inf; allowed: finite initial particles")

    n, d = x0.shape[-2:]
    _check_counter_capacity(cell_shape, n, d)
    _check_memory(cell_shape, n, d, record_steps.size, run_dtype)
    _check_key_shape(key, cell_shape)
    x0 = jnp.broadcast_to(jnp.asarray(x0, run_dtype), cell_shape + (n, d))
    sharding = _particle_sharding(devices, n, len(cell_shape))
    if sharding is not None:  # x0 is (*cell, N, d): shard axis -2 like the state's last axis
        x0 = jax.device_put(x0, _swap_last_two(sharding))

    def cell_param(value):
        return jnp.broadcast_to(jnp.asarray(value, run_dtype), cell_shape)[..., None, None]

    particles, diverged_at = _compiled_run(
        key, x0, potential,
        None if schedule is not None else cell_param(sampler.step_size),
        cell_param(sampler.beta), cell_param(sampler.sigma),
        jnp.asarray(record_steps, jnp.int32),
        schedule=schedule,
        perturbation=bool(np.any(np.asarray(sampler.sigma) != 0)),
        langevin=not bool(np.all(np.isinf(np.asarray(sampler.beta, dtype=float)))),
        sharding=sharding,
    )
    n_devices = len(particles.sharding.device_set)
    particles = np.asarray(particles)
    diverged_at = np.asarray(diverged_at)
    _warn_divergence(diverged_at)
    return SimulationResult(particles, record_steps, diverged_at, sampler,
                            time.perf_counter() - start, n_devices)


# --- devices -----------------------------------------------------------------------------------
PARTICLE_AXIS = "particles"


def _particle_sharding(devices, n: int, n_cell_axes: int):
    """NamedSharding of (*cell, d, N) arrays splitting N over ``devices``; None for one device."""
    if devices is None:
        devices = jax.devices()
        if len(devices) < 2 or n % len(devices):
            return None
    else:
        devices = list(devices)
        if not devices or not all(isinstance(v, jax.Device) for v in devices):
            raise ValueError(f"devices={devices!r} is not allowed: pass a non-empty sequence of "
                             "jax.Device (e.g. jax.devices())")
        if n % len(devices):
            raise ValueError(f"devices: {len(devices)} devices do not divide N = {n} particles; "
                             "allowed: N a multiple of the number of devices")
        if len(devices) == 1:
            return None
    mesh = jax.sharding.Mesh(np.array(devices), (PARTICLE_AXIS,))
    spec = jax.sharding.PartitionSpec(*([None] * (n_cell_axes + 1)), PARTICLE_AXIS)
    return jax.sharding.NamedSharding(mesh, spec)


def _swap_last_two(sharding):
    spec = tuple(sharding.spec)
    return jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec(
        *spec[:-2], spec[-1], spec[-2]))


# --- argument checks ---------------------------------------------------------------------------
def _check_key_shape(key, cell_shape: tuple[int, ...]) -> None:
    batch = _key_batch_shape(key)
    if batch not in ((), cell_shape):
        raise ValueError(f"key has batch shape {batch}; allowed: () (one key for all cells) or "
                         f"the cell shape {cell_shape} (one key per cell)")

def _record_steps(n_steps: int, record_every, record_at) -> np.ndarray:
    if record_every is not None and record_at is not None:
        raise ValueError("record_every and record_at were both given; allowed: at most one")
    if record_at is not None:
        steps = np.asarray(record_at)
        if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
            raise ValueError(f"record_at={record_at!r} is not allowed: record_at must be a "
                             f"non-empty 1-D sequence of integer steps")
        if np.any(steps < 0) or np.any(steps > n_steps):
            raise ValueError(f"record_at={record_at!r} is not allowed: steps must lie in "
                             f"[0, n_steps={n_steps}]")
        if np.any(np.diff(steps) <= 0):
            raise ValueError(f"record_at={record_at!r} is not allowed: steps must be strictly "
                             f"increasing")
        return steps.astype(np.int64)
    if record_every is None:
        return np.array([0, n_steps])
    check_positive_int("record_every", record_every)
    steps = np.arange(0, n_steps + 1, record_every)
    return steps if steps[-1] == n_steps else np.append(steps, n_steps)


def _run_dtype(dtype):
    name = dtype if isinstance(dtype, str) else getattr(np.dtype(dtype), "name", dtype)
    check_choice("dtype", name, tuple(DTYPES))
    return DTYPES[name]


def _cell_shape(x0, dim: int, sampler: Sampler) -> tuple[int, ...]:
    if np.ndim(x0) < 2:
        raise ValueError(f"x0 has shape {tuple(np.shape(x0))}; allowed: (N, {dim}) or "
                         f"(*cell, N, {dim})")
    check_last_axis("x0", x0, dim)
    try:
        return tuple(np.broadcast_shapes(sampler.cell_shape, np.shape(x0)[:-2]))
    except ValueError as err:
        raise ValueError(
            f"x0 has shape {tuple(np.shape(x0))}, whose leading axes {np.shape(x0)[:-2]} do not "
            f"broadcast with the sampler's cell shape {sampler.cell_shape}; allowed: x0 of "
            f"shape (N, {dim}) or (*cell, N, {dim}) with a broadcast-compatible cell shape"
        ) from err


def _check_schedule(schedule: Callable, cell_shape: tuple[int, ...]) -> None:
    out = jax.eval_shape(schedule, jax.ShapeDtypeStruct((), jnp.int32))
    try:
        np.broadcast_shapes(out.shape, cell_shape)
    except ValueError as err:
        raise ValueError(f"the step-size schedule returns shape {out.shape}; allowed: a scalar "
                         f"or an array broadcastable to the cell shape {cell_shape}") from err
    if len(out.shape) > len(cell_shape):
        raise ValueError(f"the step-size schedule returns shape {out.shape}; allowed: at most "
                         f"the cell shape {cell_shape}")


def _check_counter_capacity(cell_shape, n: int, d: int) -> None:
    # Noise counters are (index in d*N, 2 * cell + stream), each a uint32.
    n_cells = int(np.prod(cell_shape, dtype=np.int64))
    if n * d >= 2**32 or 2 * n_cells >= 2**32:
        raise ValueError(f"N * d = {n * d} and cells = {n_cells} are not allowed: need "
                         f"N * d < 2^32 and cells < 2^31")


def _check_memory(cell_shape, n: int, d: int, n_records: int, dtype) -> None:
    n_cells = int(np.prod(cell_shape, dtype=np.int64))
    check_memory(f"simulate of {n_cells} cells x {n_records} records x N = {n} particles x "
                 f"d = {d}", memory_needed(n_cells, n_records, n, d, dtype),
                 "lower the number of particles, cells or records", device=True)


WORKING_COPIES = 6


def memory_needed(n_cells: int, n_records: int, n_particles: int, dim: int,
                  dtype="float32") -> float:
    """Bytes a :func:`simulate` call holds at its peak: the snapshots (*cell, n_records, N, d) and
    about ``WORKING_COPIES`` arrays of the particles' size while stepping (state, two noise draws
    one step ahead, the gradient and its input)."""
    particles = float(n_cells) * n_particles * dim * np.dtype(dtype).itemsize
    return particles * (n_records + WORKING_COPIES)


def _warn_divergence(diverged_at: np.ndarray) -> None:
    message = divergence_message(diverged_at, "particles became NaN or inf",
                                 "snapshots before that step are kept")
    if message is not None:
        warn_caller(message, RuntimeWarning)
