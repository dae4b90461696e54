"""Summaries explain themselves: a legend under the table, in the text and the JSON."""

from __future__ import annotations

import json

from summary_checks import undocumented_columns

from sgldsim.experiments.fsgld_theory import demo_quadratic as demo_module
from sgldsim.runner import Summary, run_experiment


def test_legend_is_printed_under_the_table_and_saved_in_json():
    summary = Summary(table="a_col  b\n    1  2", verdicts=[("c", "consistent", "r")],
                      legend={"a_col": "first line\nsecond line", "b": "plain"})
    text = summary.to_text()
    assert text.index("a_col  b") < text.index("legend:") < text.index("verdicts:")
    assert "  a_col  first line\n         second line\n  b      plain\n" in text
    assert json.loads(json.dumps(summary.to_json()))["legend"]["b"] == "plain"
    assert Summary(table="t").to_text() == "t\n"  # no legend: nothing added


def test_undocumented_columns_finds_a_missing_legend_entry():
    table = "step_size  flat_mass_pi_f  w1_floor\n      0.1             0.5     0.01\n"
    full = Summary(table=table, legend={"step_size": ".", "flat_mass_*": ".", "w<p>_floor": "."})
    assert undocumented_columns(full) == set()
    partial = Summary(table=table, legend={"step_size": ".", "flat_mass_*": "."})
    assert undocumented_columns(partial) == {"w1_floor"}


def test_demo_quadratic_legend_covers_its_table(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_module, "figures", lambda results, config, out_dir: [])
    run = run_experiment("demo-quadratic", ("params.n_particles=400", "params.n_steps=20",
                                            "grid.beta=[2.0]"), out_dir=tmp_path, progress=False)
    assert undocumented_columns(run.summary) == set()
    assert "legend:" in (tmp_path / "summary.txt").read_text()
