"""Kernels forked from a process that has already imported the libraries every page imports.

A page's kernel spends seconds before its first line of the chapter runs: importing
PyTorch, torchvision, pandas, Plotly and ``course_utils`` costs about 7 s of one core here,
on every page. :mod:`course_book.parallel` therefore starts one *fork server* for the
build: a process that imports those modules once (nothing else: no tensor is made, no
thread started) and then waits. Each page's kernel is a ``fork()`` of it, which starts
with the modules already in memory, exactly as a fresh process has them after its imports.
What the page then runs is the page's own code, as in any kernel.

The kernel manager sees an ordinary process: it starts this file as a script (no package
import, so it costs milliseconds) with ``launch <socket> -f <connection file>``. The
launcher asks the server for a kernel, passes its working folder and environment along,
forwards the signals it gets (interrupt, terminate) to the forked kernel and exits when the
kernel does. The server reaps its children and kills any that are left when it stops.

One thing differs from a fresh process: a module that reads the environment when it is
imported read the server's, which is the build's (the same thread counts, profile and data
folder as the kernels get), not the variables the kernel manager adds for one kernel; the one
that matters, ipykernel's ``JPY_PARENT_PID``, is passed on here.

Used only by the build (``COURSE_FORK_KERNELS=0`` turns it off); the launch notebooks a
student runs start ordinary kernels.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import time

# What the pages import (the heavy part of it); the fork server imports these once.
PRELOAD = (
    "numpy",
    "pandas",
    "torch",
    "torch.nn.functional",
    "torchvision.models",
    "torchvision.transforms.v2",
    "plotly.graph_objects",
    "sklearn.ensemble",
    "sklearn.decomposition",
    "IPython.display",
    "ipykernel.kernelapp",
    "course_utils.learner",
    "course_utils.vision",
    "course_utils.viz",
    "course_utils.tabular",
    "course_utils.datasets",
    "course_utils.report",
    "course_utils.provenance",
)
POLL_SECONDS = 0.05


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _receive(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the fork server closed the connection")
        data += chunk
    return json.loads(data)


# ----- the server ---------------------------------------------------------------------------


def _run_kernel(request: dict) -> None:
    """In the forked child: become the kernel the request asks for."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the page's subprocesses are waited for
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path.insert(0, request["cwd"])  # as `python -m ipykernel_launcher` has it
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit():  # as a fresh process would read it when torch starts its pool
        import torch

        torch.set_num_threads(int(threads))
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    from ipykernel.kernelapp import IPKernelApp

    # a trait whose default was read from the environment when the server imported ipykernel
    parent = int(os.environ.get("JPY_PARENT_PID") or 0)
    app = IPKernelApp.instance(parent_handle=parent)
    app.initialize(sys.argv[1:])
    app.start()


def serve(socket_path: str) -> None:
    """Import :data:`PRELOAD`, then fork a kernel for every request on ``socket_path``."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # a page that needs it will say so itself
            importlib.import_module(name)
    children: list[int] = []

    def stop(signum, frame):  # noqa: ARG001
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os._exit(0)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped as they exit
    signal.signal(signal.SIGTERM, stop)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen()
    print("ready", flush=True)  # the build waits for this line
    os.dup2(2, 1)  # nobody reads the pipe after it: the kernels' stray output goes to stderr
    while True:
        conn, _ = server.accept()
        with conn:
            request = _receive(conn)
            pid = os.fork()
            if pid == 0:  # the child: a kernel
                server.close()
                conn.close()
                try:
                    _run_kernel(request)
                finally:
                    os._exit(0)
            children.append(pid)
            _send(conn, {"pid": pid})


# ----- the launcher --------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def launch(socket_path: str, connection_file: str) -> int:
    """Ask the server for a kernel on ``connection_file``; stand in for it until it exits."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(socket_path)
        request = {"connection_file": connection_file, "cwd": os.getcwd(), "env": dict(os.environ)}
        _send(conn, request)
        pid = _receive(conn)["pid"]

    def forward(signum, frame):  # noqa: ARG001
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    while _alive(pid):
        time.sleep(POLL_SECONDS)
    return 0


def main(argv: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:  # run as a script:
        sys.path.pop(0)  # its folder's modules must not shadow the libraries'
    if len(argv) == 2 and argv[0] == "serve":
        serve(argv[1])
        return 0
    if len(argv) == 4 and argv[0] == "launch" and argv[2] == "-f":
        return launch(argv[1], argv[3])
    print("usage: forkkernel.py serve SOCKET | launch SOCKET -f CONNECTION_FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
