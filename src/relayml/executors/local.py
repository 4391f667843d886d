"""The default executor: each attempt of a step in its own Python process.

A process per attempt costs a fraction of a second and buys what a pool cannot: a timeout
kills exactly the attempt that overran (and anything it started: it leads its own process
group), and the step's stdout and stderr, including from C extensions and subprocesses, go
straight to its log file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

from relayml.executors.base import Attempt, Result, Task, default_workers

POLL = 0.02


class LocalAttempt:
    def __init__(self, task: Task) -> None:
        self.task = task
        task_path = f"{task.result_path}.task.json"
        with open(task_path, "w", encoding="utf-8") as fh:
            json.dump(task.to_json(), fh)
        env = {**os.environ, **task.env}
        with open(task.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "relayml.executors.entry", task_path],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def poll(self) -> Result | None:
        code = self.proc.poll()
        if code is None:
            return None
        try:
            with open(self.task.result_path, encoding="utf-8") as fh:
                return Result.from_json(json.load(fh))
        except FileNotFoundError:
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            return Result.failure(f"the step's process {how} before it finished (see its log)")

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


class LocalExecutor:
    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or default_workers()

    def submit(self, task: Task) -> Attempt:
        return LocalAttempt(task)

    def wait(self, attempts: list[Attempt], timeout: float) -> None:
        deadline = time.monotonic() + max(0.0, timeout)
        procs = [a.proc for a in attempts if isinstance(a, LocalAttempt)]
        while not any(p.poll() is not None for p in procs):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(POLL, left))

    def close(self) -> None:
        pass
