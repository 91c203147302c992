"""Start `firebreak ...` commands as separate processes that share one warm-up.

Importing Firebreak costs about 2 s of CPU per process; a topology of nine roles on a
shared 2-core machine spent most of its start-up importing. This launcher imports once,
then forks one child per request: each child is its own process (own PID, event loop,
database pool and NATS connection) running the real command line, `firebreak.cli.main`.
Nothing is opened before the fork, only modules are imported.

Protocol: one JSON line per process on stdin, {"argv": [...], "env": {...}, "log": path,
"cwd": path}; the launcher answers each with the child's PID on a line of stdout.
Children are reaped by the kernel (SIGCHLD ignored), so a dead child's PID disappears.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import signal
import sys
from importlib.metadata import entry_points

WARM_PACKAGES = ("firebreak.api", "firebreak.web", "firebreak.ingest", "firebreak.incidents",
                 "firebreak.playbooks", "firebreak.gateway", "firebreak.scale")
WARM_MODULES = ("firebreak.cli", "firebreak.jetstream", "nats", "nats.js", "redis.asyncio",
                "httpcore", "h11", "anyio", "aiohttp", "opentelemetry.trace", "uvicorn",
                "uvicorn.lifespan.on", "uvicorn.protocols.http.h11_impl",
                "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.websockets.auto",
                "uvicorn.loops.auto")


def warm_up() -> None:
    """Import what the roles import anyway (CLI, API routes, stages, plugins, gateway,
    clients of NATS and Redis), so that a forked role only opens its connections."""
    from firebreak.runtime import STAGES

    names = [*WARM_MODULES, *(path.split(":")[0] for path in STAGES)]
    for package in WARM_PACKAGES:
        names += [m.name for m in pkgutil.walk_packages(
            importlib.import_module(package).__path__, package + ".")]
    for group in ("firebreak.detectors", "firebreak.scanners", "firebreak.actions",
                  "firebreak.notifiers"):
        names += [ep.value.split(":")[0] for ep in entry_points(group=group)]
    for name in names:
        with contextlib.suppress(ImportError):  # optional extras stay optional
            importlib.import_module(name)


def child(spec: dict[str, object]) -> None:
    """Become `firebreak <argv>` with its own log; never returns."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the request pipe is the launcher's
        fd = os.open(str(spec["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(str(spec["cwd"]))
        os.environ.update(spec["env"])  # type: ignore[arg-type]
        sys.argv = ["firebreak", *spec["argv"]]  # type: ignore[misc]
        from firebreak.cli import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run() -> None:
    warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    for line in sys.stdin:
        spec = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(spec)
        print(pid, flush=True)


if __name__ == "__main__":
    run()
