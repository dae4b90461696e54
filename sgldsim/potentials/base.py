"""The potential interface u: R^d -> R and its two derived potentials (docs/theory.md §2).

Every potential takes inputs of shape ``(..., d)`` and returns ``(...)`` for ``value`` and
``laplacian`` and ``(..., d)`` for ``grad``. Subclasses implement ``_value`` (and, where a closed
form exists, ``_grad``, ``_laplacian``, ``smoothed`` and ``regularized``); the defaults use
automatic differentiation. Potentials are frozen dataclasses registered as JAX pytrees, so they can
be passed through ``jax.jit`` and closed over inside ``lax.scan``. Their parameters are stored as
NumPy float64 arrays, so they keep full precision whatever JAX's precision at construction; a
potential evaluates in the precision of its input (float32 unless JAX's 64-bit mode is on, as it
is inside the package's exact measures and float64 simulations).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_last_axis, check_nonnegative


def potential_dataclass(cls):
    """Frozen dataclass + JAX pytree. Fields with ``metadata={'static': True}`` are static."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    data, meta = [], []
    for f in dataclasses.fields(cls):
        (meta if f.metadata.get("static", False) else data).append(f.name)
    return jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)


def is_concrete(*values) -> bool:
    """True when no value is a JAX tracer or placeholder, i.e. when it is safe to validate and
    convert fields in ``__post_init__`` (pytree unflattening re-runs it on traced leaves)."""
    leaves = jax.tree_util.tree_leaves(values)
    return all(isinstance(v, int | float | complex | np.ndarray | np.generic) or
               (isinstance(v, jax.Array) and not isinstance(v, jax.core.Tracer)) for v in leaves)


def static_field(**kwargs):
    return dataclasses.field(metadata={"static": True}, **kwargs)


class Potential:
    """Base class. Subclasses set ``dim`` (a static int field) and implement ``_value``."""

    dim: int

    # --- subclass hooks: x has shape (..., d), already validated -------------------------------
    def _value(self, x):
        raise NotImplementedError

    def _grad(self, x):
        return _vectorise(jax.grad(lambda y: self._value(y)), x, self.dim, out_vector=True)

    def _laplacian(self, x):
        def lap1(y):
            return jnp.trace(jax.hessian(lambda z: self._value(z))(y))

        return _vectorise(lap1, x, self.dim, out_vector=False)

    # --- public API ----------------------------------------------------------------------------
    def value(self, x):
        """u(x) for x of shape (..., d); returns shape (...)."""
        return self._value(self._as_input(x))

    def grad(self, x):
        """grad u(x) for x of shape (..., d); returns shape (..., d)."""
        return self._grad(self._as_input(x))

    def laplacian(self, x):
        """Lap u(x) = tr Hess u(x) for x of shape (..., d); returns shape (...)."""
        return self._laplacian(self._as_input(x))

    def smoothed(self, sigma) -> Potential:
        """g_sigma(x) = E u(x + sigma Z), Z ~ N(0, I_d) (docs/theory.md §2). Exact where a
        closed form exists; otherwise Gauss–Hermite (d = 1) or Monte Carlo with a reported
        error (d > 1)."""
        check_nonnegative("sigma", sigma)
        from .smoothing import numerically_smoothed

        return numerically_smoothed(self, sigma)

    def regularized(self, sigma) -> Potential:
        """v(x) = u(x) + (sigma^2 / 2) Lap u(x), the Hessian-trace-regularised objective (§2)."""
        check_nonnegative("sigma", sigma)
        return HessianTraceRegularized(base=self, sigma=float(sigma))

    def _as_input(self, x):
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        check_last_axis("x", x, self.dim)
        return x


def _vectorise(fn, x, dim: int, out_vector: bool):
    """Apply ``fn: (d,) -> () or (d,)`` over the leading axes of ``x`` with one flat vmap."""
    lead = x.shape[:-1]
    out = jax.vmap(fn)(x.reshape((-1, dim)))
    return out.reshape(lead + ((dim,) if out_vector else ()))


@potential_dataclass
class HessianTraceRegularized(Potential):
    """v = u + (sigma^2/2) Lap u for any base potential (value and gradient via the base's
    closed-form or autodiff Laplacian)."""

    base: Potential
    sigma: float

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.base.dim

    def _value(self, x):
        return self.base._value(x) + 0.5 * self.sigma**2 * self.base._laplacian(x)

    def _grad(self, x):
        def lap1(y):
            return self.base._laplacian(y[None, :])[0]

        grad_lap = _vectorise(jax.grad(lap1), x, self.dim, out_vector=True)
        return self.base._grad(x) + 0.5 * self.sigma**2 * grad_lap
