"""Kernels forked from the build's fork server (course_book.forkkernel) behave as fresh ones:
the page's folder, environment and import path, interrupts, and nothing left running."""

from __future__ import annotations

import os
import time

import pytest

from course_book.parallel import ENV_FORK, _fork_server

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork servers need fork()")


def run(client, code: str) -> dict:
    """Execute ``code`` in the kernel: {"status": ..., "text": its printed output}."""
    msg_id = client.execute(code)
    text = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = shell_reply(client, msg_id)
    return {"status": reply["content"]["status"], "text": "".join(text),
            "ename": reply["content"].get("ename")}  # fmt: skip


def shell_reply(client, msg_id: str) -> dict:
    """The shell channel's reply to ``msg_id`` (skipping, e.g., extra kernel_info replies
    that ``wait_for_ready`` asked for)."""
    while True:
        reply = client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(condition, seconds: float = 30) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_forked_kernel_is_a_fresh_kernel_with_the_libraries_imported(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_FORK, raising=False)
    page_folder = tmp_path / "section"
    page_folder.mkdir()
    (page_folder / "helper_module.py").write_text("VALUE = 42\n")
    with _fork_server() as manager_class:
        assert manager_class is not None, "the fork server did not start"
        km = manager_class(kernel_name="python3")
        km.start_kernel(cwd=str(page_folder), env={**os.environ, "COURSE_MARK": "page"})
        client = km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            result = run(client, (
                "import os, sys\n"
                "preloaded = 'torch' in sys.modules and 'course_utils.learner' in sys.modules\n"
                "import helper_module\n"  # found in the page's folder, as in a fresh kernel
                "print(preloaded, os.getcwd(), os.environ['COURSE_MARK'], helper_module.VALUE,"
                " os.getpid())\n"
            ))  # fmt: skip
            assert result["status"] == "ok", result
            preloaded, cwd, mark, value, pid = result["text"].split()
            assert (preloaded, cwd, mark, value) == ("True", str(page_folder), "page", "42")
            # a long cell can be interrupted, as the kernel manager does on a timeout
            msg_id = client.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
            while True:  # interrupt once the cell runs, not while the kernel reads the request
                msg = client.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                    break
            km.interrupt_kernel()
            assert shell_reply(client, msg_id)["content"]["ename"] == "KeyboardInterrupt"
        finally:
            client.stop_channels()
            km.shutdown_kernel(now=False)
        # the kernel and the launcher that stood in for it are gone
        assert wait_until(lambda: not alive(int(pid)))
        assert not km.is_alive()
        # a kernel still running when the server stops is stopped with it
        km = manager_class(kernel_name="python3")
        km.start_kernel(cwd=str(tmp_path))
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        leftover = int(run(client, "import os\nprint(os.getpid())")["text"])
        client.stop_channels()
    assert wait_until(lambda: not alive(leftover))
    km.cleanup_resources()


def test_fork_kernels_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(ENV_FORK, "0")
    with _fork_server() as manager_class:
        assert manager_class is None


def test_the_benchmark_runs():
    from helpers import load_benchmark

    bench = load_benchmark("bench_fork_kernels")
    result = bench.main(["--quick"])
    assert set(result["medians"]) == {"fresh kernel", "forked kernel"}


@pytest.mark.parametrize(("script", "why"), [
    ("import sys\nsys.exit(3)\n", "dies before it is ready"),
    ("import time\ntime.sleep(60)\n", "is not ready in time"),
])  # fmt: skip
def test_a_server_that_does_not_start_leaves_ordinary_kernels(tmp_path, monkeypatch, script, why):
    from course_book import parallel

    broken = tmp_path / "server.py"
    broken.write_text(script)
    monkeypatch.delenv(ENV_FORK, raising=False)
    monkeypatch.setattr(parallel, "FORK_SCRIPT", broken)
    monkeypatch.setattr(parallel, "SERVER_START_SECONDS", 1)
    start = time.time()
    with _fork_server() as manager_class:
        assert manager_class is None, why
    assert time.time() - start < 30, why  # the hanging server was killed, not waited for
