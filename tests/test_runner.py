"""The experiment runner: configuration, cells and keys, determinism, resume, run folders.

Runs use the built-in ``demo-quadratic`` experiment, shrunk by overrides so each takes ~1 s.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import pickle
import shutil
import sys
import textwrap
import tomllib
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import scipy.stats

from sgldsim.experiments.fsgld_theory import demo_quadratic
from sgldsim.figures import add_reference_slope, color_for, fit_power_law, new_figure, save_figure
from sgldsim.runner import (
    ChunkTask,
    ConfigError,
    ExperimentConfig,
    RunFolderConflict,
    SerialExecutor,
    Summary,
    apply_overrides,
    cell_id,
    expand_grid,
    find_experiment,
    load_experiment,
    load_run,
    resolve_experiment,
    run_experiment,
)
from sgldsim.runner.toml_io import dumps

DEMO_FIGURES = demo_quadratic.figures
FAST = ("params.n_particles=400", "params.n_steps=20", "chunk_size=2")


def run_demo(out_dir, *overrides, **kwargs):
    return run_experiment("demo-quadratic", overrides=[*FAST, *overrides], out_dir=out_dir,
                          progress=False, **kwargs)


@pytest.fixture(autouse=True, scope="module")
def no_demo_figures():
    """Figures are drawn only where a test looks at them (drawing costs more than simulating)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_quadratic, "figures", lambda results, config, out_dir: [])
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted demo run that other runs are compared with (do not write into it)."""
    return run_demo(tmp_path_factory.mktemp("reference"))


class CountingExecutor(SerialExecutor):
    """A serial executor that records which cells it was asked to compute."""

    def __init__(self):
        self.cell_ids = []

    def map(self, fn, chunks):
        for chunk in chunks:
            self.cell_ids += [c.id for c in chunk]
            yield fn(chunk)


class SimulatedKill(Exception):
    pass


class KilledAfter(CountingExecutor):
    """Computes ``n_chunks`` chunks, then dies as a killed process would (mid-run)."""

    def __init__(self, n_chunks):
        super().__init__()
        self.n_chunks = n_chunks

    def map(self, fn, chunks):
        for index, result in enumerate(super().map(fn, chunks)):
            yield result
            if index + 1 == self.n_chunks:
                raise SimulatedKill


# --- determinism and resume -------------------------------------------------------------------


def test_same_seed_gives_identical_results_files(tmp_path, reference):
    again = run_demo(tmp_path)
    pd.testing.assert_frame_equal(again.results, reference.results, check_exact=True)
    assert (tmp_path / "results.parquet").read_bytes() == (
        reference.run_dir / "results.parquet").read_bytes()


def test_other_seed_gives_other_draws_but_same_exact_values(tmp_path, reference):
    other = run_demo(tmp_path, seed=1)
    by_measure = lambda r, m: r.results.query("measure == @m").value.to_numpy()
    assert not np.array_equal(by_measure(reference, "variance_mc"),
                              by_measure(other, "variance_mc"))
    np.testing.assert_array_equal(by_measure(reference, "variance_chain"),
                                  by_measure(other, "variance_chain"))
    assert other.config.seed == 1 and other.metadata["seed"] == 1


def test_resume_after_kill_skips_finished_cells_and_equals_uninterrupted_run(tmp_path, reference):
    killed = KilledAfter(n_chunks=2)
    with pytest.raises(SimulatedKill):
        run_demo(tmp_path, executor=killed)
    finished = set(killed.cell_ids)
    assert len(finished) == 4
    assert {p.stem for p in (tmp_path / "cells").glob("*.parquet")} == finished
    assert not (tmp_path / "results.parquet").exists()
    assert not (tmp_path / "metadata.json").exists()  # marks finished runs only

    counting = CountingExecutor()
    resumed = run_demo(tmp_path, executor=counting)
    all_ids = {c.id for c in expand_grid(resumed.config)}
    assert set(counting.cell_ids) == all_ids - finished
    assert len(counting.cell_ids) == len(all_ids) - len(finished)
    pd.testing.assert_frame_equal(resumed.results, reference.results, check_exact=True)
    assert resumed.metadata["n_cells_reused"] == 4 and resumed.metadata["n_cells_computed"] == 4


def test_metadata_records_when_and_by_what_the_cells_were_computed(tmp_path, reference):
    """Each checkpoint carries its provenance, so a rerun that reuses every cell reports the
    computation that made them (not its own few milliseconds); old checkpoints are counted."""
    import jax

    import sgldsim
    from sgldsim.runner.run import cell_provenance

    first = reference.metadata["cells_computed"]
    assert first["n_cells_without_record"] == 0
    assert first["sgldsims"] == [sgldsim.__version__] and first["jaxs"] == [jax.__version__]
    assert (reference.metadata["started"] <= first["first"] <= first["last"]
            <= reference.metadata["finished"])
    records = [cell_provenance(p) for p in (reference.run_dir / "cells").glob("*.parquet")]
    assert len(records) == 8 and all(r["chunk_cells"] == 2 for r in records)  # chunk_size=2
    assert first["compute_s"] == pytest.approx(sum(r["compute_s"] for r in records), abs=1e-3)
    assert 0 < first["compute_s"] <= reference.metadata["wall_time_s"]

    shutil.copytree(reference.run_dir, tmp_path, dirs_exist_ok=True)
    again = run_demo(tmp_path)
    assert again.metadata["n_cells_computed"] == 0 and again.metadata["cells_computed"] == first
    old = next((tmp_path / "cells").glob("*.parquet"))
    pd.read_parquet(old).to_parquet(old)  # as written before checkpoints carried a record
    third = run_demo(tmp_path)
    assert third.metadata["n_cells_computed"] == 0
    assert third.metadata["cells_computed"]["n_cells_without_record"] == 1
    pd.testing.assert_frame_equal(third.results, reference.results, check_exact=True)


def test_cells_provenance_aggregates_the_checkpoints_records(tmp_path):
    """first/last are the earliest/latest ``computed_at``, compute_s their sum, the versions,
    backends and hosts each seen once and sorted, and each checkpoint without a record counted."""
    from sgldsim.runner.run import (
        PROVENANCE_KEY,
        _cell_path,
        _write_cell,
        cell_provenance,
        cells_provenance,
    )

    config, _ = resolve_experiment("demo-quadratic", FAST)
    cells = expand_grid(config)[:6]
    (tmp_path / "cells").mkdir()
    record = lambda at, s, version, backend, host: {
        "computed_at": f"2024-01-0{at}T00:00:00+00:00", "compute_s": s, "chunk_cells": 2,
        "sgldsim": version, "jax": f"0.4.3{at}", "jax_backend": backend, "host": host}
    records = [record(2, 0.5, "0.2.0", "gpu", "node-c"), record(1, 0.25, "0.1.0", "cpu", "node-b"),
               record(3, 1.125, "0.2.0", "gpu", "node-a"), record(2, 0.0, "0.1.0", "tpu", "node-c")]
    for cell, computed in zip(cells, [*records, None, None], strict=True):
        frame = pd.DataFrame({"cell_id": [cell.id], "measure": ["m"], "value": [1.0]})
        path = _cell_path(tmp_path, cell)
        if computed is None:
            frame.to_parquet(path)  # as written before checkpoints carried a record
        else:
            _write_cell(path, frame, computed)
            assert cell_provenance(path) == computed
            assert pq.read_schema(path).metadata[PROVENANCE_KEY] == json.dumps(computed).encode()
    assert [cell_provenance(_cell_path(tmp_path, c)) for c in cells[4:]] == [None, None]

    assert cells_provenance(tmp_path, cells) == {
        "n_cells_without_record": 2,
        "first": "2024-01-01T00:00:00+00:00", "last": "2024-01-03T00:00:00+00:00",
        "compute_s": 1.875, "sgldsims": ["0.1.0", "0.2.0"], "jaxs": ["0.4.31", "0.4.32", "0.4.33"],
        "jax_backends": ["cpu", "gpu", "tpu"], "hosts": ["node-a", "node-b", "node-c"]}
    assert cells_provenance(tmp_path, cells[4:]) == {"n_cells_without_record": 2}


def test_timed_task_shares_its_chunks_time_among_the_cells_and_stamps_when_it_finished(
        monkeypatch):
    import platform

    import jax

    import sgldsim
    from sgldsim.runner import run as _runner

    clock = [100.0]
    monkeypatch.setattr(_runner, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    monkeypatch.setattr(_runner, "_now", lambda: f"at {clock[0]}")

    def task(cells):
        clock[0] += 3.0
        return [[{"measure": "m", "value": 1.0}] * 3 for _ in cells]

    rows_per_cell, computed = _runner._TimedChunkTask(task)(["a", "b", "c", "d"])
    assert len(rows_per_cell) == 4
    assert computed == {"computed_at": "at 103.0", "compute_s": 0.75, "chunk_cells": 4,
                        "sgldsim": sgldsim.__version__, "jax": jax.__version__,
                        "jax_backend": jax.default_backend(), "host": platform.node()}


def test_rerunning_a_finished_run_computes_nothing(tmp_path, reference):
    shutil.copytree(reference.run_dir, tmp_path, dirs_exist_ok=True)
    counting = CountingExecutor()
    again = run_demo(tmp_path, executor=counting)
    assert counting.cell_ids == []
    pd.testing.assert_frame_equal(again.results, reference.results, check_exact=True)


def test_cell_results_depend_on_neither_grid_composition_nor_chunking(tmp_path, reference):
    alone = run_demo(tmp_path, "grid.beta=[10.0]", "grid.step_size=[0.4, 0.2]",
                     "chunk_size=1").results
    pick = lambda r: r.query("beta == 10.0 and step_size in (0.2, 0.4)").sort_values(
        ["step_size", "measure"]).reset_index(drop=True)
    # XLA may vectorise a batch of 1 and of 2 differently: equal to rounding, not bit for bit.
    pd.testing.assert_frame_equal(pick(reference.results), pick(alone), rtol=1e-12)


def test_different_configuration_in_the_same_folder_is_refused(tmp_path, reference):
    shutil.copytree(reference.run_dir, tmp_path, dirs_exist_ok=True)
    with pytest.raises(RunFolderConflict, match=r"params\.n_particles: 400 -> 800"):
        run_demo(tmp_path, "params.n_particles=800")
    with pytest.raises(RunFolderConflict, match="seed: 0 -> 5"):
        run_demo(tmp_path, seed=5)
    assert run_demo(tmp_path, "chunk_size=3").metadata["n_cells_computed"] == 0  # resumes


def test_non_empty_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a run folder"):
        run_demo(tmp_path)


def test_run_folder_holds_resolved_config_metadata_summary_and_figures(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_quadratic, "figures", DEMO_FIGURES)
    result = run_demo(tmp_path, "grid.beta=[2, 20]")
    saved = tomllib.loads((tmp_path / "config.toml").read_text())
    assert saved == result.config.to_dict()
    assert saved["grid"]["beta"] == [2.0, 20.0] and saved["chunk_size"] == 2
    assert saved["params"]["n_particles"] == 400
    meta = load_run(tmp_path).metadata
    assert meta["n_cells"] == 8 and meta["seed"] == 0
    assert {"sgldsim", "jax", "numpy", "python"} <= set(meta["versions"])
    assert meta["wall_time_s"] > 0 and meta["started"] <= meta["finished"]
    assert (tmp_path / "summary.txt").read_text() == result.summary.to_text()
    assert sorted(p.name for p in result.figures) == ["demo_quadratic_variance.pdf",
                                                      "demo_quadratic_variance.png"]
    assert all(p.stat().st_size > 1000 for p in result.figures)
    results = pd.read_parquet(tmp_path / "results.parquet")
    assert list(results.columns) == ["cell_id", "step_size", "beta", "measure", "value"]
    assert len(results) == 8 * 4 and results.groupby("cell_id").size().eq(4).all()


def test_demo_verdicts_hold_against_the_closed_form(reference):
    verdict = reference.summary.verdicts[0]
    assert verdict.verdict == "consistent", verdict.reason


# --- executors ---------------------------------------------------------------------------------


def test_any_object_with_an_ordered_map_is_an_executor(tmp_path, reference):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        threaded = run_demo(tmp_path, executor=pool).results
    pd.testing.assert_frame_equal(threaded, reference.results, check_exact=True)


def test_chunk_task_and_cells_pickle_for_remote_executors():
    """What an executor receives (the runner's timed task and a chunk of cells) survives
    pickling, and the unpickled task computes the chunk with its provenance."""
    from sgldsim.runner.run import _TimedChunkTask

    config, _ = resolve_experiment("demo-quadratic", FAST)
    task, cells = pickle.loads(pickle.dumps((_TimedChunkTask(ChunkTask(config)),
                                             expand_grid(config)[:2])))
    assert task.task.config == config and [c.id for c in cells] == [c.id for c in
                                                                    expand_grid(config)[:2]]
    rows_per_cell, computed = task(cells)
    assert len(rows_per_cell) == 2 and computed["chunk_cells"] == 2 and computed["compute_s"] > 0


# --- a module using run_cell, and bad module output --------------------------------------------


PER_CELL_MODULE = '''
from dataclasses import dataclass

import jax
from sgldsim.runner import ExperimentParams, Summary

calls = []

@dataclass(frozen=True)
class Params(ExperimentParams):
    x: float
    broken: bool = False

PARAMS = Params

def run_cell(config, cell, key):
    calls.append(cell.id)
    p = Params.from_cell(cell)
    if p.broken:
        return [{"value": 1.0}]
    u = jax.random.uniform(key)
    return [{"measure": "u", "value": u, "replica": 0},
            {"measure": "x_squared", "value": p.x ** 2, "replica": 0}]

def summarize(results, config):
    return Summary(table=results.to_string(), verdicts=[("x^2 >= 0", "consistent", "closed form")])
'''


@pytest.fixture
def per_cell_experiment(tmp_path, monkeypatch):
    (tmp_path / "per_cell_module.py").write_text(PER_CELL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "per_cell_module", raising=False)
    toml = tmp_path / "per-cell.toml"
    toml.write_text(textwrap.dedent("""
        name = "per-cell"
        description = "run_cell API"
        module = "per_cell_module"
        seed = 7
        [params]
        broken = false
        [grid]
        x = [1, 2, 3]
    """))
    return toml


def test_run_cell_modules_get_one_call_per_cell_with_its_own_key(tmp_path, per_cell_experiment):
    result = run_experiment(per_cell_experiment, out_dir=tmp_path / "run", progress=False)
    import per_cell_module

    assert len(per_cell_module.calls) == 3
    assert list(result.results.columns) == ["cell_id", "x", "replica", "measure", "value"]
    assert result.results.query("measure == 'x_squared'").value.tolist() == [1.0, 4.0, 9.0]
    assert result.results.query("measure == 'u'").value.nunique() == 3
    assert result.figures == [] and (tmp_path / "run/summary.txt").exists()


def test_rows_without_a_measure_are_a_module_bug(tmp_path, per_cell_experiment):
    with pytest.raises(TypeError, match="'measure' string"):
        run_experiment(per_cell_experiment, ["params.broken=true"], out_dir=tmp_path / "run",
                       progress=False)


# --- configuration -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_config():
    return load_experiment(find_experiment("demo-quadratic"))


@pytest.mark.parametrize(("override", "message"), [
    ("params.nope=1", r"unknown key 'params\.nope'; allowed: seed, chunk_size, .*n_particles"),
    ("nope=1", "unknown key 'nope'"),
    ("name=other", "unknown key 'name'"),
    ("params.curvature=\"steep\"", r'params\.curvature="steep" is not allowed: .* a number'),
    ("params.curvature=steep", r'params\.curvature="steep" is not allowed: .* a number'),
    ("params.n_particles=1.5", r"params\.n_particles=1\.5 is not allowed: .* an integer"),
    ("grid.beta=[1, true]", r"grid\.beta=\[1, true\] is not allowed: .* list of numbers"),
    ("grid.beta=[]", r"grid\.beta=\[\] is not allowed"),
    ("grid.beta=[10, 10.0]", "10.0 appears twice"),
    ("seed=-1", r"seed=-1 is not allowed: seed must be an integer"),
    ("chunk_size=0", "chunk_size must be a positive integer"),
    ("params.n_particles", "must look like key=value"),
])
def test_bad_overrides_name_the_key_and_what_is_allowed(demo_config, override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(demo_config, [override])


def test_validator_rejections_are_config_errors():
    with pytest.raises(ConfigError, match=r"grid\.step_size=2\.5 is not allowed: .* < 2"):
        resolve_experiment("demo-quadratic", ["grid.step_size=[0.5, 2.5]"])
    with pytest.raises(ConfigError, match=r"grid\.n_particles is not allowed"):
        resolve_experiment("demo-quadratic", ["grid.n_particles=[10, 20]"])


def test_overrides_coerce_sweep_and_fix(demo_config):
    config = apply_overrides(demo_config, ["grid.beta=[10, 100]", "params.curvature=2",
                                           "grid.sigma=0.5", "params.step_size=0.3", "seed=4"])
    assert config.grid == {"beta": [10.0, 100.0], "sigma": [0.5]}  # int accepted for float
    assert config.params["curvature"] == 2.0 and isinstance(config.params["curvature"], float)
    assert config.params["step_size"] == 0.3 and config.seed == 4
    assert config.key_path("sigma") == "grid.sigma" and config.values("step_size") == [0.3]


@pytest.mark.parametrize(("text", "message"), [
    ("surprise = 1", "unknown key 'surprise'"),
    ("[grid]\nbeta = 1.0", r"grid\.beta=1\.0 is not allowed: .* non-empty list"),
    ("[params]\nmix = [1, \"a\"]", r"params\.mix mixes integer and string"),
    ("[params]\nvalue = 1", "reserved"),
    ("[params]\nbeta = 1.0\n[grid]\nbeta = [1.0]", "in both"),
    ("[params\n", "not valid TOML"),
])
def test_bad_experiment_files_are_config_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\ndescription = "d"\nmodule = "m"\nseed = 0\n' + text)
    with pytest.raises(ConfigError, match=message):
        load_experiment(path)


def test_file_name_must_match_experiment_name(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text('name = "bad"\ndescription = "d"\nmodule = "m"\nseed = 0\n')
    with pytest.raises(ConfigError, match="must equal the file name 'other'"):
        load_experiment(path)


def test_missing_module_is_a_config_error(tmp_path):
    path = tmp_path / "ghost.toml"
    path.write_text('name = "ghost"\ndescription = "d"\nmodule = "no_such_module_x"\nseed = 0\n')
    with pytest.raises(ConfigError, match="module 'no_such_module_x' does not exist"):
        resolve_experiment(path)


def test_resolved_config_round_trips_through_toml():
    config = ExperimentConfig(
        name="x", description='quotes " and \\ and ünïcode', module="m", seed=2**40,
        params={"a": 1e-5, "b": float("inf"), "c": True, "d": "fsgld", "e": [[1, 2], [3]]},
        grid={"f": [0.1, 1e20, -2.5], "g": ["sgld", "fsgld"]}, chunk_size=3)
    loaded = tomllib.loads(dumps(config.to_dict()))
    assert loaded == config.to_dict()
    nan = tomllib.loads(dumps({"x": float("nan")}))["x"]
    assert math.isnan(nan)


# --- cells and keys ----------------------------------------------------------------------------


def test_cell_ids_and_keys_depend_only_on_parameters_and_seed(demo_config):
    cells = expand_grid(demo_config)
    reordered = apply_overrides(demo_config, ["grid.beta=[10.0, 1.0]"])
    by_id = {c.id: c for c in expand_grid(reordered)}
    assert set(by_id) == {c.id for c in cells}
    for cell in cells:
        np.testing.assert_array_equal(by_id[cell.id].key, cell.key)
        assert cell.id == cell_id(cell.params)
    assert len({c.key.tobytes() for c in cells}) == len(cells)
    reseeded = expand_grid(apply_overrides(demo_config, ["seed=1"]))
    assert all(a.id == b.id and not np.array_equal(a.key, b.key)
               for a, b in zip(cells, reseeded, strict=True))
    assert [c.grid_values["step_size"] for c in cells[:3]] == [0.1, 0.1, 0.2]  # first key slowest


def test_summary_rejects_unknown_verdicts():
    with pytest.raises(ValueError, match="'maybe' .* allowed: consistent, inconsistent"):
        Summary(table="", verdicts=[("claim", "maybe", "why")])


# --- figure helpers ----------------------------------------------------------------------------


def test_fit_power_law_recovers_exact_laws_and_matches_linregress():
    x = np.geomspace(0.01, 1.0, 7)
    exponent, prefactor, stderr = fit_power_law(x, 3.0 * x**0.5)
    assert exponent == pytest.approx(0.5, abs=1e-12)
    assert prefactor == pytest.approx(3.0, rel=1e-12) and stderr == pytest.approx(0, abs=1e-12)
    noisy = 2.0 * x**-1.5 * np.exp(np.random.default_rng(0).normal(0, 0.1, x.size))
    reference = scipy.stats.linregress(np.log(x), np.log(noisy))
    fit = fit_power_law(x, noisy)
    assert fit.exponent == pytest.approx(reference.slope, rel=1e-12)
    assert fit.stderr == pytest.approx(reference.stderr, rel=1e-10)
    assert fit.prefactor == pytest.approx(np.exp(reference.intercept), rel=1e-12)
    assert math.isnan(fit_power_law([1.0, 2.0], [1.0, 4.0]).stderr)
    with pytest.raises(ValueError, match="y=.* every y must be positive"):
        fit_power_law([1.0, 2.0], [1.0, -4.0])


def test_save_figure_writes_reproducible_png_and_pdf(tmp_path):
    def draw(folder):
        fig, ax = new_figure()
        ax.loglog([0.1, 1.0], [0.2, 2.0], color=color_for("fsgld"))
        line = add_reference_slope(ax, [0.1, 1.0], 0.5, (1.0, 2.0), r"$\lambda^{1/2}$")
        np.testing.assert_allclose(line.get_ydata(), [2.0 * 0.1**0.5, 2.0])
        return save_figure(fig, folder, "rates")

    first, second = draw(tmp_path / "a"), draw(tmp_path / "b")
    assert [p.name for p in first] == ["rates.png", "rates.pdf"]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))
    with pytest.raises(ValueError, match="no colour for 'adam'"):
        color_for("adam")


# --- run folders of the 0.1 layout (experiment modules before they were grouped by paper) -----


def test_a_run_folder_naming_an_old_module_path_loads_shows_and_resumes(tmp_path, reference):
    """A run folder whose config.toml names ``sgldsim.experiments.demo_quadratic`` (the module's
    path before the experiments were grouped by paper) loads under the new path and resumes with
    every cell reused and the same results."""
    old = tmp_path / "old"
    shutil.copytree(reference.run_dir, old)
    config_file = old / "config.toml"
    text = config_file.read_text()
    new_path = "sgldsim.experiments.fsgld_theory.demo_quadratic"
    assert f'module = "{new_path}"' in text
    config_file.write_text(text.replace(new_path, "sgldsim.experiments.demo_quadratic"))
    record = load_run(old)
    assert record.finished and record.config.module == new_path
    again = run_demo(old)
    assert again.metadata["n_cells_computed"] == 0
    assert again.metadata["n_cells_reused"] == len(expand_grid(again.config))
    pd.testing.assert_frame_equal(again.results, reference.results)


def test_a_cached_rerun_keeps_the_time_the_cells_took_to_compute(tmp_path, reference):
    """``cells_wall_time_s`` is the computing invocation's wall time, carried through reruns that
    only re-summarise (``sgldsim figures``); from metadata written before the field, the previous
    wall time counts only if that invocation computed cells."""
    from sgldsim.runner.run import METADATA_FILE, cells_wall_time

    first = reference.metadata
    assert first["n_cells_computed"] > 0 and first["cells_wall_time_s"] == first["wall_time_s"]
    run_dir = tmp_path / "again"
    shutil.copytree(reference.run_dir, run_dir)
    again = run_demo(run_dir)
    assert again.metadata["n_cells_computed"] == 0
    assert again.metadata["cells_wall_time_s"] == first["wall_time_s"]
    assert json.loads((run_dir / METADATA_FILE).read_text())["cells_wall_time_s"] == \
        first["wall_time_s"]
    reused = {"wall_time_s": 2.0, "n_cells_computed": 0, "n_cells_reused": 8}
    assert cells_wall_time(reused, {"wall_time_s": 40.0, "n_cells_computed": 8}) == 40.0
    assert cells_wall_time(reused, {"wall_time_s": 3.0, "n_cells_computed": 0}) is None
    assert cells_wall_time(reused, None) is None
    partly = {"wall_time_s": 5.0, "n_cells_computed": 2, "n_cells_reused": 6}
    assert cells_wall_time(partly, {"cells_wall_time_s": 30.0, "wall_time_s": 1.0}) == 35.0
