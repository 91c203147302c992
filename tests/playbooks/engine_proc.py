"""Real engine processes for the crash test, forked from a warm parent.

`python engine_proc.py DB_URL PLAYBOOK DATA_DIR` imports everything once, then reads lines
on stdin: `spawn` forks a fresh engine process and prints `<pid>`, `kill PID` SIGKILLs
and reaps it, `wait PID` prints its exit code. The child resumes
unfinished runs, starts runs for open incidents, and exits 0 once no run is left active.
Forking after the imports makes a restart take milliseconds, so the test can kill and
restart the engine 50 times quickly; the child is an ordinary process that SIGKILL ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from firebreak.actions.catalog import names
from firebreak.actions.http import _shared_client
from firebreak.config import Settings
from firebreak.playbooks.engine import Engine
from firebreak.playbooks.loader import load_file
from firebreak.playbooks.schema import Playbook
from firebreak.store.db import Database
from firebreak.store.playbooks import RUN_ACTIVE, list_runs


async def engine_main(url: str, settings: Settings, playbook: Playbook) -> None:
    db = Database(url)
    engine = Engine(db, settings, [playbook])
    await engine.start()
    while any(r.status in RUN_ACTIVE for r in list_runs(db, limit=10_000)):
        await asyncio.sleep(0.05)
    await engine.stop()
    db.dispose()


def serve(url: str, playbook: str, data_dir: str) -> None:
    # Everything that does not touch the database is done once, before forking.
    names()
    _shared_client()
    settings = Settings(database_url=url, data_dir=Path(data_dir))
    settings.playbooks.engine_id = "crash-test"
    pb = load_file(Path(playbook))
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "kill":  # SIGKILL a child and reap it
            os.kill(int(arg), signal.SIGKILL)
            os.waitpid(int(arg), 0)
            print("killed", flush=True)
        elif command == "wait":  # the child's exit code
            print(os.waitstatus_to_exitcode(os.waitpid(int(arg), 0)[1]), flush=True)
        elif command == "spawn":
            pid = os.fork()
            if pid == 0:
                quiet = os.open(os.devnull, os.O_WRONLY)
                os.dup2(quiet, 1)  # stdout belongs to the parent's protocol
                code = 0
                try:
                    asyncio.run(engine_main(url, settings, pb))
                except BaseException:
                    code = 1
                os._exit(code)
            print(pid, flush=True)


if __name__ == "__main__":
    serve(*sys.argv[1:4])
