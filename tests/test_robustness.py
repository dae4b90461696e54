"""A newcomer's mistakes: each becomes a one-line error (CLI: stderr, status 2), a warning, or
correct behaviour. One class of fault per test: unstable chains, silent divergence, run-folder
and file-system errors, memory, non-finite numbers, damaged checkpoints, unknown or missing
parameters, bad TOML files, concurrent runs, installs, progress without a terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import jax
import numpy as np
import pandas as pd
import pytest
from test_cli import assert_one_line_error, cli, fast_demo_toml

import sgldsim as sg
from sgldsim import _memory
from sgldsim.measures import chain as chain_module
from sgldsim.runner import registry as _registry
from sgldsim.runner import run_experiment
from sgldsim.runner.lock import run_folder_lock

DEMO_MODULE = "sgldsim.experiments.fsgld_theory.demo_quadratic"
COUPLING_MODULE = "sgldsim.experiments.fsgld_theory.coupling"
PERTURBATION_MODULE = "sgldsim.experiments.fsgld_theory.perturbation_noise"

README_WELLS = dict(centers=[[-2.0], [2.0]], depths=[1.0, 1.0], widths=[0.25, 1.0],
                    confinement=0.05)
# Every demo run below has the same shapes (400 particles, 20 steps, one cell per chunk), so the
# demo's kernel compiles once for the whole file.
TINY = ["--set", "params.n_particles=400", "--set", "params.n_steps=20", "--set", "chunk_size=1",
        "--set", "grid.step_size=[0.1, 0.2]", "--set", "grid.beta=1.0"]  # 2 cells
ONE_BETA = ["grid.beta=[1.0]", "chunk_size=1"]  # fast_demo_toml: 4 cells


def tiny_memory(monkeypatch, available=10_000):
    """Pretend that host and device have ``available`` bytes free."""
    monkeypatch.setattr(_memory, "host_available_bytes", lambda: available)
    monkeypatch.setattr(_memory, "device_available_bytes", lambda: available)


# --- 1. chain_invariant: unstable step sizes and operators that do not fit -----------------------


def test_chain_invariant_refuses_a_step_unstable_for_the_confinement():
    u = sg.GaussianWells(**README_WELLS)  # lam * confinement = 50 * 0.05 = 2.5 > 2
    with pytest.raises(ValueError, match=r"step_size=50 is not allowed: the explicit step is "
                                         r"unstable.*lam u''\(x\) = 2\.5"):
        sg.chain_invariant(u, sg.sgld_sampler(50.0, 5.0))


@pytest.mark.parametrize("step_size", [1.9, 2.1])
def test_stability_boundary_of_the_quadratic_is_lam_a_equal_2(step_size):
    # x' = (1 - lam a) x + sqrt(2 lam / beta) xi has variance 2 / (beta a (2 - lam a)) if
    # lam a < 2 and no invariant law otherwise: refuse exactly the second case.
    a, beta = 1.0, 1.0
    sampler = sg.sgld_sampler(step_size, beta)
    if step_size * a > 2:
        with pytest.raises(ValueError, match="unstable"):
            sg.chain_invariant(sg.Quadratic(a), sampler)
        return
    law = sg.chain_invariant(sg.Quadratic(a), sampler)
    h = law.edges[1] - law.edges[0]  # Measure1D's cells add h^2 / 6 to the variance
    assert law.var == pytest.approx(2.0 / (beta * a * (2.0 - step_size * a)) + h**2 / 6,
                                      rel=1e-6)


def test_transition_operator_size_is_estimated_before_allocating(monkeypatch):
    u, sampler = sg.Quadratic(1.0), sg.sgld_sampler(0.1, 1.0)
    chain = chain_module._validated_chain(u, sampler)
    lo, hi, scales = chain_module._covering_range(chain, 1e-12)
    nodes = chain_module._solve_grid(lo, hi, scales["spacing"])
    kernel = chain_module._transition_density(chain, nodes, nodes, np.zeros(1), np.ones(1), 1e-12)
    estimate = chain_module.operator_entries(chain, nodes, 1, 1e-12)
    assert kernel.nnz <= estimate <= 1.1 * kernel.nnz  # an upper bound, and a tight one
    tiny_memory(monkeypatch)
    with pytest.raises(ValueError, match=r"transition operator \(\d+ nodes .* needs about "
                                         r"[\d.]+ [kMG]B of memory but 10 kB are available"):
        sg.chain_invariant(u, sampler)


# --- 2. simulate: divergence of a single cell, and memory --------------------------------------


def test_single_cell_divergence_warns_with_its_step():
    u = sg.GaussianWells(**README_WELLS)
    with pytest.warns(RuntimeWarning, match=r"run diverged at step \d+: particles became NaN"
                      ) as record:
        run = sg.simulate(jax.random.key(0), u, sg.sgld_sampler(50.0, 5.0), np.full((1000, 1), 3.0),
                          n_steps=2000, record_every=100)
    assert run.diverged_at.shape == () and run.diverged_at > 0
    assert f"step {int(run.diverged_at)}:" in str(record[0].message)
    assert record[0].filename == __file__  # the warning points at the caller's line
    finite = np.isfinite(np.asarray(run.particles)).all(axis=(1, 2))
    assert finite[run.steps < run.diverged_at].all() and not finite[-1]


def test_stable_single_cell_run_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sg.simulate(jax.random.key(0), sg.Quadratic(1.0), sg.sgld_sampler(0.1, 1.0),
                    np.zeros((10, 1)), n_steps=5)


def test_simulate_estimates_its_memory_and_refuses_beyond_the_available(monkeypatch):
    from sgldsim.dynamics.simulate import memory_needed

    sampler = sg.sgld_sampler(np.array([0.1, 0.2]), 1.0)
    run = sg.simulate(jax.random.key(0), sg.Quadratic(1.0), sampler, np.zeros((300, 1)),
                      n_steps=40, record_every=1)
    assert run.particles.nbytes < memory_needed(2, 41, 300, 1) < 2 * run.particles.nbytes
    tiny_memory(monkeypatch)
    with pytest.raises(ValueError, match=r"simulate of 2 cells x 5 records x N = 300 particles "
                                         r"x d = 1 needs about [\d.]+ kB of memory but 10 kB"):
        sg.simulate(jax.random.key(0), sg.Quadratic(1.0), sampler, np.zeros((300, 1)),
                    n_steps=4, record_every=1)


# --- 3. the CLI's file-system and configuration mistakes: one line, status 2 --------------------


def test_out_naming_an_existing_file(capsys, tmp_path):
    (tmp_path / "taken").write_text("mine")
    assert_one_line_error(*cli(capsys, "run", "demo-quadratic", *TINY, "--out",
                               tmp_path / "taken"), "is an existing file")
    assert (tmp_path / "taken").read_text() == "mine"


def test_unwritable_parent_folder(capsys, tmp_path, monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    if os.geteuid() != 0:  # root writes anyway: then simulate the refusal below
        parent.chmod(0o500)
        assert_one_line_error(*cli(capsys, "run", "demo-quadratic", *TINY, "--out",
                                   parent / "run"), "cannot write run folder",
                              "Permission denied")
        parent.chmod(0o700)
    real_mkdir = type(parent).mkdir

    def refuse(self, *args, **kwargs):
        if self.is_relative_to(parent):
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(parent), "mkdir", refuse)
    assert_one_line_error(*cli(capsys, "run", "demo-quadratic", *TINY, "--out", parent / "run"),
                          "cannot write run folder", "Permission denied")


def test_rerunning_a_read_only_finished_run(capsys, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    assert cli(capsys, "run", "demo-quadratic", *TINY, "--out", run_dir)[0] == 0
    real_replace = os.replace

    def read_only(src, dst):  # the file system refuses every write into the run folder
        if str(dst).startswith(str(run_dir)):
            raise OSError(30, "Read-only file system", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", read_only)
    assert_one_line_error(*cli(capsys, "run", "demo-quadratic", *TINY, "--out", run_dir),
                          "Read-only file system", f"sgldsim show {run_dir}")


def test_file_system_errors_outside_a_run_folder_are_one_line(capsys, tmp_path):
    (tmp_path / "taken").write_text("mine")  # figures --out must be a folder
    assert_one_line_error(*cli(capsys, "figures", "--only", "demo-quadratic", "--out",
                               tmp_path / "taken"), "File exists", str(tmp_path / "taken"))


def custom_toml(folder, name, module, **params):
    lines = [f'name = "{name}"', 'description = "d"', f'module = "{module}"', "seed = 0",
             "[params]", *(f"{k} = {v}" for k, v in params.items()), "[grid]",
             "step_size = [0.1]", "beta = [1.0]"]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_custom_toml_missing_a_parameter_the_module_needs(capsys, tmp_path):
    # perturbation-noise declares no default for sigma2_beta (demo-quadratic has one for each)
    path = custom_toml(tmp_path, "short", PERTURBATION_MODULE, potential='"gaussian-wells"')
    assert_one_line_error(*cli(capsys, "run", path, "--out", tmp_path / "r"),
                          "missing parameter 'sigma2_beta'", "perturbation_noise",
                          "required: sigma2_beta, step_size")


def test_custom_toml_naming_the_wrong_module(capsys, tmp_path):
    path = custom_toml(tmp_path, "wrong", COUPLING_MODULE, curvature=1.0,
                       sigma=0.0, n_particles=100, n_steps=10)
    assert_one_line_error(*cli(capsys, "run", path, "--out", tmp_path / "r"),
                          f"unknown parameter 'curvature' for module {COUPLING_MODULE}",
                          "allowed: ", "fit_from_beta")


def test_too_many_particles_for_memory_is_refused_before_any_cell_runs(capsys, tmp_path):
    # 8 cells x 81 records x 2e9 particles: petabytes, more than any machine has.
    status, out, err = cli(capsys, "run", "convergence", "--set", "params.n_particles=2000000000",
                           "--out", tmp_path / "r")
    assert_one_line_error(status, out, err, "n_particles = 2000000000 needs about",
                          "TB of memory but", "lower params.n_particles")
    assert not (tmp_path / "r").exists()


def test_cli_error_in_a_subprocess_prints_one_line_and_no_traceback(tmp_path):
    process = subprocess.run(  # the case: it used to compute every cell, then fail
        [sys.executable, "-m", "sgldsim", "run", "coupling", "--set", "grid.beta=[1e400]",
         "--out", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert process.returncode == 2, process.stderr
    assert process.stdout == "" and "Traceback" not in process.stderr
    assert process.stderr == ("sgldsim: error: grid.beta=[inf] is not allowed: numbers must be "
                              "finite (no inf or nan; TOML reads 1e400 as inf)\n")
    assert not (tmp_path / "r").exists()


# --- 4. non-finite numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "[10, inf]", "[1e400]", "nan", "-inf"])
def test_non_finite_numbers_are_refused_up_front(capsys, tmp_path, value):
    assert_one_line_error(*cli(capsys, "run", "coupling", "--set", f"grid.beta={value}",
                               "--out", tmp_path / "r"),
                          "grid.beta=", "numbers must be finite")
    assert not (tmp_path / "r").exists()


def test_non_finite_numbers_in_a_toml_file_are_refused(capsys, tmp_path):
    path = custom_toml(tmp_path, "inf", DEMO_MODULE, curvature="inf",
                       sigma=0.0, n_particles=100, n_steps=10)
    assert_one_line_error(*cli(capsys, "run", path), "params.curvature=inf",
                          "numbers must be finite")


# --- 5. damaged checkpoints ---------------------------------------------------------------------


def test_damaged_checkpoints_are_reported_and_recomputed(tmp_path, capsys):
    path = fast_demo_toml(tmp_path)
    first = run_experiment(path, ONE_BETA, out_dir=tmp_path / "run", progress=False)
    cells = sorted((tmp_path / "run/cells").glob("*.parquet"))
    assert len(cells) == 4
    data = cells[0].read_bytes()
    cells[0].write_bytes(data[: len(data) // 2])  # truncated
    cells[1].write_bytes(b"")  # zero bytes
    cells[2].write_bytes(cells[3].read_bytes())  # another cell's rows
    capsys.readouterr()
    second = run_experiment(path, ONE_BETA, out_dir=tmp_path / "run", progress=False)
    err = capsys.readouterr().err
    for cell, problem in zip(cells[:3], ("unreadable", "unreadable", "it holds rows of cell"),
                             strict=True):
        assert f"checkpoint {cell} is bad ({problem}" in err
    assert err.count("sgldsim: warning: checkpoint") == 3
    assert second.metadata["n_cells_computed"] == 3
    pd.testing.assert_frame_equal(second.results, first.results)


# --- 6. unknown parameters, bad TOML files, listing ---------------------------------------------


def test_unknown_parameter_in_a_custom_toml_names_the_allowed_ones(capsys, tmp_path):
    path = custom_toml(tmp_path, "typo", DEMO_MODULE, curvature=1.0,
                       sigma=0.0, n_particles=100, n_steps=10, n_particle=5)
    assert_one_line_error(*cli(capsys, "run", path), "unknown parameter 'n_particle'",
                          "allowed: beta, curvature, n_particles, n_steps, sigma, step_size")


def test_non_utf8_toml_names_the_file(capsys, tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('name = "latin"\ndescription = "caf\xe9"\n'.encode("latin-1"))
    assert_one_line_error(*cli(capsys, "run", path), f"{path} is not UTF-8 text")


def test_list_survives_one_bad_file_among_many(capsys, tmp_path):
    fast_demo_toml(tmp_path, name="alpha")
    fast_demo_toml(tmp_path, name="omega")
    (tmp_path / "broken.toml").write_text("name = ")
    (tmp_path / "latin.toml").write_bytes(b'name = "caf\xe9"\n')
    status, out, err = cli(capsys, "list", tmp_path)
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == ["alpha", "omega"]
    assert err.count("sgldsim: warning: skipped: ") == 2
    assert "broken.toml is not valid TOML" in err and "latin.toml is not UTF-8" in err


# --- 7. one run per run folder ------------------------------------------------------------------


def test_second_run_into_a_locked_folder_names_the_holder(capsys, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with run_folder_lock(run_dir):
        status, out, err = cli(capsys, "run", "demo-quadratic", *TINY, "--out", run_dir)
    assert_one_line_error(status, out, err, "is in use by another sgldsim run",
                          f"pid {os.getpid()}")
    assert not (run_dir / "cells").exists()  # the second run touched nothing
    assert cli(capsys, "run", "demo-quadratic", *TINY, "--out", run_dir)[0] == 0  # released


def test_lock_is_released_when_its_holder_is_killed(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from pathlib import Path
            from sgldsim.runner.lock import run_folder_lock
            with run_folder_lock(Path({str(tmp_path)!r})):
                print("locked", flush=True)
                time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match=f"pid {holder.pid} on"), run_folder_lock(tmp_path):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with run_folder_lock(tmp_path):  # the kernel dropped the dead holder's lock
        pass


# --- 9. installed experiments -------------------------------------------------------------------


def test_installed_definitions_are_preferred_to_a_source_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(_registry, "PACKAGED_FOLDER", tmp_path)
    assert _registry.experiments_folder() == _registry.REPOSITORY_ROOT / "experiments"
    fast_demo_toml(tmp_path, name="installed")
    assert _registry.experiments_folder() == tmp_path
    assert _registry.find_experiment("installed") == tmp_path / "installed.toml"


# --- 10. progress without a terminal ------------------------------------------------------------


def test_progress_off_a_terminal_is_throttled_to_plain_lines(tmp_path, capsys):
    """Off a terminal the progress is plain lines: the first chunk's, then at most one every
    few seconds, then the last (a fast 4-cell run prints only the first and the last)."""
    path = fast_demo_toml(tmp_path)
    run_experiment(path, ONE_BETA, out_dir=tmp_path / "run")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" cells")[0] for line in lines] == ["fast-demo: 1/4", "fast-demo: 4/4"]
    assert lines[0].startswith("fast-demo: 1/4 cells (25%), ")
    assert lines[-1].startswith("fast-demo: 4/4 cells (100%), ")
    assert lines[-1].endswith(" s elapsed, ETA 0.0 s")


def test_warnings_name_the_callers_line_through_the_float64_wrapper():
    """A warning raised in a helper of a float64 entry point (gibbs_1d -> graded_mesh, behind
    the x64 wrapper) is attributed to the caller's file, not to the package."""
    from sgldsim.measures import gibbs_1d

    with pytest.warns(UserWarning, match="capped at max_cells=50") as record:
        gibbs_1d(sg.Quadratic(1.0), 10.0, min_cells=10, max_cells=50)
    assert record[0].filename == __file__
