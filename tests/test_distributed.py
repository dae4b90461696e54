"""Sweeps beyond one process: the Dask executor on a real LocalCluster (2 worker processes, TCP on
127.0.0.1), its CLI options, the SLURM example of docs/running.md, and ``simulate`` sharded over 2
forced host devices. Every comparison is exact: each cell's randomness comes from its own key."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from sgldsim.cli import main  # noqa: E402
from sgldsim.runner import (  # noqa: E402
    DaskExecutor,
    load_run,
    local_cluster,
    run_experiment,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["params.n_particles=400", "params.n_steps=20"]  # demo-quadratic: 8 cells


@pytest.fixture(scope="module")
def client():
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return run_experiment("demo-quadratic", [*SMALL, "chunk_size=4"], out_dir=out,
                          progress=False).results


def _dask_run(client, out, chunk_size, executor=None):
    return run_experiment("demo-quadratic", [*SMALL, f"chunk_size={chunk_size}"], out_dir=out,
                          executor=executor or DaskExecutor(client), progress=False)


def test_two_workers_equal_the_serial_run_for_chunk_sizes_1_and_4(client, serial, tmp_path):
    for size in (1, 4):
        run = _dask_run(client, tmp_path / str(size), size)
        assert run.metadata["executor"] == "DaskExecutor"
        assert run.results.equals(serial)
    workers = client.run(lambda: (os.getpid(), os.environ.get("XLA_FLAGS", "")))
    assert len({pid for pid, _ in workers.values()} | {os.getpid()}) == 3  # other processes
    assert all("intra_op_parallelism_threads=1" in flags for _, flags in workers.values())


def _kill_first_busy_worker(client, pids, killed):
    """SIGKILLs the first worker seen computing a chunk (polls the scheduler)."""
    while not killed:
        busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(pids[busy[0]])
        time.sleep(0.005)


def test_a_killed_worker_does_not_lose_or_change_cells(client, serial, tmp_path):
    pids, killed = client.run(os.getpid), []
    killer = threading.Thread(target=_kill_first_busy_worker, args=(client, pids, killed))
    killer.start()
    try:
        run = _dask_run(client, tmp_path, 1)
    finally:
        killed.append(None)  # stops the thread if it never fired
        killer.join()
    assert killed[0] in pids.values()  # a worker was killed while it held a chunk
    assert killed[0] not in client.run(os.getpid).values()  # and it did die
    assert run.results.equals(serial)


class _InterruptAfter(DaskExecutor):
    def map_unordered(self, fn, chunks):
        for n, item in enumerate(super().map_unordered(fn, chunks)):
            if n == 2:
                raise KeyboardInterrupt
            yield item


def test_interrupted_dask_run_resumes_to_the_uninterrupted_result(client, serial, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _dask_run(client, tmp_path, 1, _InterruptAfter(client))
    assert load_run(tmp_path).n_finished_cells == 2  # checkpointed as they completed
    run = _dask_run(client, tmp_path, 1)
    assert run.metadata["n_cells_reused"] == 2
    assert run.results.equals(serial)


def test_unreachable_scheduler_is_one_line_exit_2_within_30_s(tmp_path):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sgldsim", "run", "demo-quadratic",
                           "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert time.perf_counter() - started < 30
    assert done.returncode == 2
    assert re.fullmatch(r"sgldsim: error: scheduler='tcp://127\.0\.0\.1:1': cannot connect "
                        r"[^\n]*\n", done.stderr), done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_must_be_a_positive_integer(value, capsys):
    assert main(["run", "demo-quadratic", "--workers", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--workers {value} is not allowed" in err


def test_readme_slurm_example_renders_a_job_script():
    pytest.importorskip("dask_jobqueue")
    readme = (ROOT / "docs" / "running.md").read_text()
    section = readme.split("## Running on a cluster", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    setup = code.split("# submit", 1)[0]  # builds the cluster; the rest runs the sweep
    namespace = {}
    exec(compile(setup, "README.md", "exec"), namespace)
    cluster = namespace["cluster"]
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert script.startswith("#!/usr/bin/env bash")
    assert "#SBATCH --cpus-per-task=1" in script
    assert "export XLA_FLAGS=" in script and "intra_op_parallelism_threads=1" in script
    assert "--nthreads 1" in script


SHARDED = textwrap.dedent("""
    import jax, numpy as np
    from sgldsim.dynamics import fsgld_sampler, simulate
    from sgldsim.potentials import AdditiveGradientNoise, sharp_flat_double_well
    assert len(jax.devices()) == 2
    u = AdditiveGradientNoise(sharp_flat_double_well(), 0.5)
    keys = np.array([[1, 2], [3, 4]], np.uint32)
    run = lambda **kw: simulate(keys, u, fsgld_sampler(np.array([0.01, 0.005]), 3.0, 0.2),
                                np.full((2, 1000, 1), 2.0), 60, record_every=20, **kw)
    sharded, single = run(), run(devices=jax.devices()[:1])
    assert (sharded.n_devices, single.n_devices) == (2, 1)
    assert np.array_equal(np.asarray(sharded.particles), np.asarray(single.particles))
    print("equal")
""")


def test_sharded_simulate_on_two_host_devices_is_bit_identical():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "equal", done.stderr[-2000:]
