"""The ``sgldsim`` command: output of list/run/show/figures, and one-line errors with status 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sgldsim import __version__
from sgldsim.cli import main
from sgldsim.runner import SerialExecutor, run_experiment
from sgldsim.runner import registry as registry

FAST = ["--set", "params.n_particles=400", "--set", "params.n_steps=20", "--set", "chunk_size=2"]


def cli(capsys, *argv):
    """Run ``sgldsim argv`` in-process; return (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, out, err, *fragments):
    assert status == 2
    assert out == ""
    assert err.startswith("sgldsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def fast_demo_toml(folder, name="fast-demo", n_particles=400, figures=True):
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(f"""
        name = "{name}"
        description = "The demo, small."
        module = "sgldsim.experiments.fsgld_theory.demo_quadratic"
        seed = 0
        chunk_size = 2
        figures = {str(figures).lower()}
        [params]
        curvature = 1.0
        sigma = 0.0
        n_particles = {n_particles}
        n_steps = 20
        [grid]
        step_size = [0.1, 0.2, 0.4, 0.8]
        beta = [1.0, 10.0]
    """))
    return path


def test_version(capsys):
    status, out, _ = cli(capsys, "--version")
    assert status == 0 and out.strip() == f"sgldsim {__version__}"


def test_list_shows_each_experiment_with_its_one_line_description(capsys, tmp_path):
    status, out, _ = cli(capsys, "list")
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("demo-quadratic "))
    assert "SGLD on a 1-D quadratic" in line
    status, out, _ = cli(capsys, "list", fast_demo_toml(tmp_path))
    assert status == 0 and out == "fast-demo  The demo, small.\n"


def test_run_prints_summary_and_run_folder_then_show_reads_it_back(capsys, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = cli(capsys, "run", "demo-quadratic", *FAST, "--seed", 3)
    assert status == 0
    assert "verdicts:" in out and "[consistent] Var x_n" in out
    assert "8 cells (8 computed, 0 reused)" in out
    assert out.rstrip().endswith("run folder: runs/demo-quadratic")
    run_dir = tmp_path / "runs/demo-quadratic"
    summary = (run_dir / "summary.txt").read_text()

    status, shown, _ = cli(capsys, "show", run_dir)
    assert status == 0
    assert shown.startswith("demo-quadratic: SGLD on a 1-D quadratic")
    assert "seed 3, 8 cells" in shown and "overrides: params.n_particles=400" in shown
    assert re.search(r"cells computed \S+ to \S+, [\d.]+ s of compute, sgldsim \S+, jax", shown)
    assert summary in shown
    assert "figures: demo_quadratic_variance.pdf, demo_quadratic_variance.png" in shown

    # Same folder, different configuration: refused in one line, naming what differs.
    assert_one_line_error(*cli(capsys, "run", "demo-quadratic", *FAST),
                          "seed: 3 -> 0", "runs/demo-quadratic")


def test_show_prints_when_and_by_what_the_cells_were_computed(capsys, tmp_path, monkeypatch):
    from sgldsim.experiments.fsgld_theory import demo_quadratic

    monkeypatch.setattr(demo_quadratic, "figures", lambda results, config, out_dir: [])
    run_experiment("demo-quadratic", overrides=[*FAST[1::2], "grid.beta=[1.0]",
                                                "grid.step_size=[0.1]"],
                   out_dir=tmp_path, progress=False)
    metadata_file = tmp_path / "metadata.json"
    meta = json.loads(metadata_file.read_text())

    def shown(**cells_computed):
        metadata_file.write_text(json.dumps({**meta, **cells_computed}))
        status, out, _ = cli(capsys, "show", tmp_path)
        assert status == 0
        return [line for line in out.splitlines() if line.startswith("cells computed")]

    record = {"n_cells_without_record": 2, "first": "2024-01-01T00:00:00+00:00",
              "last": "2024-03-01T12:00:00+00:00", "compute_s": 12.34,
              "sgldsims": ["0.1.0", "0.2.0"], "jaxs": ["0.4.30", "0.4.31"],
              "jax_backends": ["cpu", "gpu"], "hosts": ["node-a", "node-b"]}
    line = ("cells computed 2024-01-01T00:00:00+00:00 to 2024-03-01T12:00:00+00:00, 12.3 s of "
            "compute, sgldsim 0.1.0, 0.2.0, jax 0.4.30, 0.4.31 (cpu, gpu)")
    assert shown(cells_computed=record) == [line + "; 2 cells without a record"]
    assert shown(cells_computed={**record, "n_cells_without_record": 0}) == [line]
    assert shown(cells_computed={"n_cells_without_record": 1}) == []  # no checkpoint has one
    meta.pop("cells_computed")
    assert shown() == []  # a run folder from before the record


@pytest.mark.parametrize(("argv", "fragments"), [
    (["run", "no-such-experiment"], ["unknown experiment 'no-such-experiment'", "demo-quadratic"]),
    (["run", "demo-quadratic", "--set", "params.nope=1"],
     ["unknown key 'params.nope'", "n_particles"]),
    (["run", "demo-quadratic", "--set", "params.n_particles=many"],
     ['params.n_particles="many" is not allowed', "must be an integer"]),
    (["run", "demo-quadratic", "--set", "grid.step_size=[0.5, 3.0]"],
     ["grid.step_size=3.0 is not allowed", "step_size * curvature < 2"]),
    (["run", "{tmp}/missing.toml"], ["experiment file", "missing.toml does not exist"]),
    (["run", "demo-quadratic", "--seed", "x"], ["invalid int value: 'x'"]),
    (["show", "{tmp}/no-run-here"], ["run folder", "no-run-here does not exist"]),
    (["figures", "--only", "nope"], ["unknown experiment 'nope'"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
])
def test_user_errors_are_one_line_with_status_2(capsys, tmp_path, argv, fragments):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert_one_line_error(*cli(capsys, *argv), *fragments)
    assert not (tmp_path / "runs").exists()


def test_show_of_an_interrupted_run_says_how_far_it_got(capsys, tmp_path):
    class KilledAfterOneChunk(SerialExecutor):
        def map(self, fn, chunks):
            yield fn(chunks[0])
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment("demo-quadratic", overrides=FAST[1::2], out_dir=tmp_path,
                       executor=KilledAfterOneChunk(), progress=False)
    assert_one_line_error(*cli(capsys, "show", tmp_path), "not a finished run: 2 of 8 cells")


def test_figures_runs_flagged_experiments_collects_outputs_and_reuses_cache(
        capsys, tmp_path, monkeypatch):
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    toml = fast_demo_toml(experiments)
    fast_demo_toml(experiments, name="not-in-paper", figures=False)
    monkeypatch.setattr(registry, "experiments_folder", lambda: experiments)
    out = tmp_path / "paper"

    status, printed, _ = cli(capsys, "figures", "--out", out)
    assert status == 0
    assert "fast-demo: 8 cells (8 computed, 0 cached)" in printed
    assert "not-in-paper" not in printed and "total wall time" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "fast-demo", "fast-demo_demo_quadratic_variance.pdf",
        "fast-demo_demo_quadratic_variance.png", "fast-demo_results.csv"]
    table = pd.read_csv(out / "fast-demo_results.csv")
    pd.testing.assert_frame_equal(table, pd.read_parquet(out / "fast-demo/results.parquet"),
                                  check_dtype=False)

    status, printed, _ = cli(capsys, "figures", "--out", out)
    assert status == 0 and "(0 computed, 8 cached)" in printed

    fast_demo_toml(experiments, n_particles=800)  # the definition changed: the cache is stale
    assert_one_line_error(*cli(capsys, "figures", "--out", out, "--only", toml),
                          "params.n_particles: 400 -> 800", "--force")
    status, printed, _ = cli(capsys, "figures", "--out", out, "--only", toml, "--force")
    assert status == 0 and "(8 computed, 0 cached)" in printed


def test_python_m_sgldsim_reports_errors_without_traceback(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "sgldsim", "run", "no-such-experiment"],
                               capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "Traceback" not in completed.stderr
    assert "unknown experiment 'no-such-experiment'" in completed.stderr


def test_report_writes_one_page_per_run_and_check_finds_a_stale_page(tmp_path, capsys):
    runs = tmp_path / "runs"
    for name in ("coupling", "convergence"):
        source = Path(__file__).resolve().parents[1] / "paper_figures" / name
        shutil.copytree(source, runs / name, ignore=shutil.ignore_patterns("cells", "*.p*"))
    out = tmp_path / "pages"
    status, printed, err = cli(capsys, "report", runs, "--out", out)
    assert status == 0 and err == ""
    assert sorted(Path(p).name for p in printed.split()) == ["convergence.md", "coupling.md",
                                                             "index.md"]
    assert cli(capsys, "report", runs, "--out", out, "--check") == (0, "", "")
    page = out / "coupling.md"
    page.write_text(page.read_text().replace("consistent", "inconsistent", 1))
    status, printed, err = cli(capsys, "report", runs, "--out", out, "--check")
    assert status == 1 and printed == ""
    assert f"{page} differs from its run folder" in err and "1 stale pages" in err


def test_report_of_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    assert_one_line_error(*cli(capsys, "report", tmp_path / "nowhere", "--out", tmp_path),
                          "does not exist")
