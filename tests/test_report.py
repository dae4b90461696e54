"""Results pages (docs/results) are generated from the committed run folders (paper_figures)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sgldsim.runner import ConfigError
from sgldsim.runner.report import (
    INDEX_PAGE,
    results_page,
    results_pages,
    run_folders,
    stale_pages,
    write_results_pages,
)

ROOT = Path(__file__).resolve().parents[1]
RUNS, PAGES = ROOT / "paper_figures", ROOT / "docs" / "results"
RUN_FILES = ("config.toml", "metadata.json", "summary.json", "summary.txt", "results.parquet")


def test_every_committed_page_is_what_its_run_folder_gives():
    pages = results_pages(RUNS, PAGES)
    assert len(pages) == len(run_folders(RUNS)) + 1
    stale = [name for name, text in pages.items()
             if not (PAGES / name).is_file() or (PAGES / name).read_text() != text]
    assert stale == [], f"rerun `sgldsim report paper_figures --out docs/results`: {stale}"
    assert stale_pages(RUNS, PAGES, ROOT / "README.md") == []


def test_the_readme_starts_with_the_two_first_commands_and_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    assert lines[0] == "```bash" and lines[3] == "```"
    assert lines[1].startswith("python3 -m pip install -e . && sgldsim run coupling ")
    assert lines[2].startswith("python3 -m pip install -e '.[test]' && python -m pytest -n 2 ")


@pytest.mark.parametrize("page", ["README.md", *sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))])
def test_local_links_resolve(page):
    path = ROOT / page
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text())
    missing = [t for t in targets if "://" not in t and not (path.parent / t).exists()]
    assert missing == []


@pytest.fixture
def checkout(tmp_path):
    """A copy of the committed pages and of the run folders' text files, same layout."""
    runs, pages = tmp_path / "paper_figures", tmp_path / "docs" / "results"
    for run in run_folders(RUNS):
        (runs / run.name).mkdir(parents=True)
        for name in RUN_FILES:
            shutil.copy(run / name, runs / run.name / name)
    shutil.copytree(PAGES, pages)
    return runs, pages


def test_a_page_edited_by_hand_is_stale(checkout):
    runs, pages = checkout
    assert stale_pages(runs, pages) == []
    page = pages / "coupling.md"
    text = page.read_text()
    assert "| decay\\_exponent\\[eta=0.1\\] | 1.03663 |" in text
    page.write_text(text.replace("| 1.03663 |", "| 1.04 |"))
    assert stale_pages(runs, pages) == ["coupling.md"]


def test_a_stale_readme_table_is_found_and_refreshed(checkout, tmp_path):
    runs, pages = checkout
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text())
    assert stale_pages(runs, pages, readme) == []
    readme.write_text(readme.read_text().replace("| 45 s |", "| 40 s |"))
    assert stale_pages(runs, pages, readme) == ["README.md"]
    write_results_pages(runs, pages, readme)
    assert readme.read_text() == (ROOT / "README.md").read_text()


def test_a_readme_without_markers_is_refused(checkout, tmp_path):
    runs, pages = checkout
    readme = tmp_path / "README.md"
    readme.write_text("# no table\n")
    with pytest.raises(ConfigError, match="the README needs the lines"):
        write_results_pages(runs, pages, readme)


def test_a_rerun_makes_its_page_stale(checkout):
    runs, pages = checkout
    summary_path = runs / "convergence" / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["verdicts"][0]["verdict"] = "inconsistent"
    summary_path.write_text(json.dumps(summary))
    assert stale_pages(runs, pages) == ["convergence.md", INDEX_PAGE]
    write_results_pages(runs, pages)
    assert stale_pages(runs, pages) == []
    assert "| **inconsistent** |" in (pages / "convergence.md").read_text()


def test_pages_of_runs_that_are_gone_are_stale_and_removed(checkout):
    runs, pages = checkout
    shutil.rmtree(runs / "dimension")
    assert stale_pages(runs, pages) == [INDEX_PAGE, "dimension.md"]
    write_results_pages(runs, pages)
    assert not (pages / "dimension.md").exists() and stale_pages(runs, pages) == []


def test_a_page_renders_the_run_folder():
    page = results_page(RUNS / "convergence", PAGES)
    summary = json.loads((RUNS / "convergence" / "summary.json").read_text())
    meta = json.loads((RUNS / "convergence" / "metadata.json").read_text())
    assert page.startswith("# convergence\n")
    assert sum(line.startswith("| ") and "| **consistent** |" in line
               for line in page.splitlines()) == len(summary["verdicts"])
    assert f"seed {meta['seed']}" in page and meta["finished"] in page
    assert "![convergence: convergence](../../paper_figures/convergence/convergence.png)" in page
    assert (RUNS / "convergence" / "config.toml").read_text().strip() in page


def test_markdown_characters_in_plain_text_are_escaped(tmp_path):
    run = tmp_path / "runs" / "demo"
    shutil.copytree(RUNS / "convergence", run, ignore=shutil.ignore_patterns("cells", "*.p*"))
    summary = json.loads((run / "summary.json").read_text())
    summary["verdicts"] = [{"claim": "|z| < 5 for pi*", "verdict": "consistent",
                            "reason": "max |z| = 1.2"}]
    (run / "summary.json").write_text(json.dumps(summary))
    page = results_page(run)
    assert "| \\|z\\| &lt; 5 for pi\\* | **consistent** | max \\|z\\| = 1.2 |" in page


def test_an_unfinished_or_missing_run_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        run_folders(tmp_path / "nowhere")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(RUNS / "convergence" / "config.toml", run)
    with pytest.raises(ConfigError, match="not a finished run"):
        results_page(run)
