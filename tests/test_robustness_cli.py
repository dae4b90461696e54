"""Reliability round 3 (issue 24) of the command line: ``--scheduler`` addresses (checked before
connecting, a live non-Dask service fails in one line within 30 s), Dask's shutdown warnings,
``show`` on a file or a damaged run folder, ``--debug`` after the command, help without
reStructuredText markup, and progress lines off a terminal at most every 5 s."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sgldsim.cli import build_parser, main
from sgldsim.runner import ConfigError, run_experiment
from sgldsim.runner import checkpoints as checkpoints
from sgldsim.runner import dask_cluster as dask_cluster

ROOT = Path(__file__).resolve().parents[1]
TINY = ["params.n_particles=200", "params.n_steps=10", "grid.step_size=[0.1]",
        "grid.beta=[1.0]"]  # demo-quadratic: one cell


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *fragments):
    assert status == 2
    assert err.startswith("sgldsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# ---- --scheduler: a live TCP service that is not a Dask scheduler ---------------------------
@contextlib.contextmanager
def plain_tcp_server(mode: str):
    """A TCP server on 127.0.0.1 (free port) that accepts and holds every connection silently
    ("hold") or echoes what it receives ("echo"); yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop, held = threading.Event(), []

    def echo(conn):
        with contextlib.suppress(OSError):
            while data := conn.recv(4096):
                conn.sendall(data)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)
            if mode == "echo":
                threading.Thread(target=echo, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_live_non_dask_service_is_one_line_exit_2_within_30_s(tmp_path):
    pytest.importorskip("distributed")
    with plain_tcp_server("hold") as port:
        address = f"tcp://127.0.0.1:{port}"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sgldsim", "run", "demo-quadratic", "--scheduler", address,
             "--out", str(tmp_path / "run")],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        elapsed = time.perf_counter() - started
    assert elapsed < 30, elapsed
    assert done.returncode == 2, done.stderr
    assert_one_line_error(done.returncode, done.stderr, f"scheduler={address!r}",
                          "cannot connect to a Dask scheduler", "within 5 s")


def test_echo_service_is_one_line_error_in_process(tmp_path, capsys):
    pytest.importorskip("distributed")
    with plain_tcp_server("echo") as port:
        started = time.perf_counter()
        status, _, err = cli(capsys, "run", "demo-quadratic", "--scheduler",
                             f"127.0.0.1:{port}", "--out", tmp_path / "run")
    assert time.perf_counter() - started < 30
    assert_one_line_error(status, err, f"scheduler='127.0.0.1:{port}'",
                          "cannot connect to a Dask scheduler", "within 5 s")


# ---- --scheduler: malformed addresses, checked before connecting ----------------------------
BAD_ADDRESSES = {
    "tcp://localhost": "no port",
    "tcp://127.0.0.1": "no port",
    "tcp://127.0.0.1:": "no port",
    "tcp://127.0.0.1:0": "the port '0' is not an integer in 1-65535",
    "tcp://127.0.0.1:99999": "the port '99999' is not an integer in 1-65535",
    "tcp://127.0.0.1:abc": "the port 'abc' is not an integer in 1-65535",
    "tcp://127.0.0.1:-5": "the port '-5' is not an integer in 1-65535",
    "tcp://:8786": "no host",
    "tls://127.0.0.1:8786": "the scheme 'tls://' is not supported",
    "inproc://x": "the scheme 'inproc://' is not supported",
    "udp://127.0.0.1:8786": "the scheme 'udp://' is not supported",
    "tcp://127.0.0.1:8786/path": "no path",
    "tcp://::1:8786": "in brackets",
}


@pytest.mark.parametrize("address", sorted(BAD_ADDRESSES))
def test_bad_scheduler_address_is_one_line_naming_it_and_the_allowed_form(address, capsys,
                                                                          tmp_path):
    started = time.perf_counter()
    status, _, err = cli(capsys, "run", "demo-quadratic", "--scheduler", address, "--out",
                         tmp_path / "run")
    assert time.perf_counter() - started < 5  # refused before any connection attempt
    assert_one_line_error(status, err, f"scheduler={address!r}", BAD_ADDRESSES[address],
                          "allowed: tcp://HOST:PORT with PORT an integer in 1-65535")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("address, expected", [
    ("tcp://127.0.0.1:8786", ("127.0.0.1", 8786)),
    ("TCP://scheduler.example:1", ("scheduler.example", 1)),
    ("10.0.0.5:65535", ("10.0.0.5", 65535)),
    ("tcp://[::1]:8786", ("::1", 8786)),
])
def test_good_scheduler_addresses_parse(address, expected):
    assert dask_cluster.parse_scheduler_address(address) == expected


def test_addresses_are_checked_without_distributed(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ConfigError, match="the port '0' is not an integer"):
        dask_cluster.connect("tcp://127.0.0.1:0")
    with pytest.raises(ConfigError, match="cannot connect to a Dask scheduler"):
        dask_cluster.connect("tcp://127.0.0.1:1")  # refused: reported before distributed
    with pytest.raises(ConfigError, match="needs dask.distributed"):
        dask_cluster.local_cluster(1)


# ---- Dask's own warnings: silenced inside the executor context only -------------------------
def test_distributed_warnings_are_silenced_only_inside_the_executor(monkeypatch):
    class Client:
        def register_plugin(self, plugin, name):
            pass

        def close(self):
            pass

    pytest.importorskip("distributed")
    monkeypatch.setattr(dask_cluster, "connect", lambda scheduler: contextlib.closing(Client()))
    explicit = logging.getLogger("distributed.client")  # distributed's config sets its level
    explicit.setLevel(logging.WARNING)
    before = {name: logging.getLogger(name).level
              for name in ("distributed", "distributed.nanny", "distributed.client")}
    assert logging.getLogger("distributed.nanny").getEffectiveLevel() < logging.ERROR
    with dask_cluster.dask_executor(scheduler="tcp://127.0.0.1:8786") as executor:
        assert executor is not None
        for name in before:
            assert logging.getLogger(name).getEffectiveLevel() >= logging.ERROR, name
    assert {name: logging.getLogger(name).level for name in before} == before
    with pytest.raises(ConfigError):  # restored after an error inside too
        with dask_cluster.dask_executor(scheduler="tcp://127.0.0.1:8786"):
            raise ConfigError("boom")
    assert {name: logging.getLogger(name).level for name in before} == before


def test_importing_the_runner_leaves_logging_alone():
    code = ("import logging; before = {n: l.level for n, l in "
            "logging.root.manager.loggerDict.items() if isinstance(l, logging.Logger)}; "
            "import sgldsim.runner.dask_cluster, sgldsim.cli; after = {n: l.level for n, l in "
            "logging.root.manager.loggerDict.items() if isinstance(l, logging.Logger)}; "
            "assert all(after[n] == v for n, v in before.items()), 'changed'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


# ---- show: a file, a damaged run folder ------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "demo"
    run_experiment("demo-quadratic", TINY, out_dir=out, progress=False)
    return out


def test_show_on_a_file_says_it_is_not_a_run_folder(tmp_path, capsys):
    path = tmp_path / "results.csv"
    path.write_text("a,b\n1,2\n")
    status, _, err = cli(capsys, "show", path)
    assert_one_line_error(status, err, f"{path} is not a run folder", "it is a file")
    assert "does not exist" not in err
    status, _, err = cli(capsys, "show", tmp_path / "absent")
    assert_one_line_error(status, err, "does not exist")


@pytest.mark.parametrize("content", [b'{"seed": 0,', b"\xff\xfe\x00", b""])
def test_damaged_metadata_names_the_file(finished_run, tmp_path, capsys, content):
    run = tmp_path / "demo"
    shutil.copytree(finished_run, run)
    (run / "metadata.json").write_bytes(content)
    status, _, err = cli(capsys, "show", run)
    assert_one_line_error(status, err, str(run / "metadata.json"), "not valid JSON",
                          f"--out {run}")


def test_damaged_summary_json_names_the_file_in_report(finished_run, tmp_path, capsys):
    run = tmp_path / "runs" / "demo"
    shutil.copytree(finished_run, run)
    (run / "summary.json").write_text("[1, 2")
    status, _, err = cli(capsys, "report", tmp_path / "runs", "--out", tmp_path / "pages")
    assert_one_line_error(status, err, str(run / "summary.json"), "not valid JSON")


# ---- --debug before or after the command ----------------------------------------------------
@pytest.mark.parametrize("argv, debug", [
    (["show", "x"], False),
    (["--debug", "show", "x"], True),
    (["show", "x", "--debug"], True),
    (["show", "--debug", "x"], True),
    (["--debug", "run", "demo-quadratic", "--debug"], True),
    (["list", "--debug"], True),
    (["report", "--debug"], True),
    (["figures", "--debug"], True),
])
def test_debug_is_accepted_in_both_positions(argv, debug):
    assert build_parser().parse_args(argv).debug is debug


def test_debug_after_the_command_shows_the_traceback(tmp_path, capsys):
    path = tmp_path / "file.txt"
    path.write_text("x")
    for argv in (["show", str(path), "--debug"], ["--debug", "show", str(path)]):
        with pytest.raises(ConfigError, match="not a run folder"):
            main(argv)
    assert_one_line_error(*cli(capsys, "show", path)[::2], "not a run folder")


# ---- help text: no reStructuredText markup ---------------------------------------------------
@pytest.mark.parametrize("command", [[], ["run"], ["figures"], ["show"], ["report"], ["list"]])
def test_help_has_no_rst_backticks(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: sgldsim" in out
    assert "`" not in out, out
    if not command:
        assert "The sgldsim command" in out


# ---- progress off a terminal -----------------------------------------------------------------
def test_plain_progress_prints_at_most_every_5_s_and_the_final_line(monkeypatch, capsys):
    """The issue's 80k-cell grid: 5,446 updates in 82 s printed 5,446 lines."""
    clock = [1000.0]
    monkeypatch.setattr(checkpoints.time, "perf_counter", lambda: clock[0])
    total, updates, seconds = 80_000, 5_446, 82.0
    with checkpoints.progress_bar("grid", total, 0) as bar:  # capsys: stderr is no terminal
        assert isinstance(bar, checkpoints._PlainProgress)
        per_update = total // updates
        for i in range(updates):
            clock[0] += seconds / updates
            bar.update(per_update if i < updates - 1 else total - per_update * (updates - 1))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) <= seconds / checkpoints.PLAIN_PROGRESS_INTERVAL_S + 2
    assert lines[0].startswith("grid: 14/80000 cells")  # the first update shows at once
    assert lines[-1].startswith("grid: 80000/80000 cells (100%)")  # and the last always
    assert len(lines) >= 10


def test_plain_progress_final_line_even_right_after_another(monkeypatch, capsys):
    clock = [0.0]
    monkeypatch.setattr(checkpoints.time, "perf_counter", lambda: clock[0])
    with checkpoints.progress_bar("demo", 3, 1) as bar:
        bar.update(1)
        clock[0] += 0.1
        bar.update(1)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == ["demo: 2/3 cells (67%)",
                                                       "demo: 3/3 cells (100%)"]
