"""`hub serve --workers N`: workers that take long to import still come up, and the wait
is logged. Real processes: a script that serves through `hub.serving.run`, whose import
is slowed the way importing the hub is on a loaded machine (a spawned worker imports its
main module before uvicorn's health-check thread runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx

from conftest import _free_port

SCRIPT = textwrap.dedent(
    """
    import os
    import time

    if __name__ != "__main__":  # a spawned worker, importing the hub on a loaded machine
        time.sleep(float(os.environ["SLOW_IMPORT_SECONDS"]))

    from hub import serving
    from hub.limits import Limits


    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})


    if __name__ == "__main__":
        limits = Limits()
        config = serving.server_config(
            "__main__:app", limits, host="127.0.0.1", port=int(os.environ["PORT"]), workers=2
        )
        serving.run(config, worker_start_seconds=float(os.environ["START_SECONDS"]))
    """
)


class _Serving:
    """The script serving, its output read as it comes (a thread), so a test waits for
    the lines it expects rather than for seconds."""

    def __init__(self, tmp_path: Path, slow: float, start_seconds: float) -> None:
        script = tmp_path / "serve.py"
        script.write_text(SCRIPT)
        self.port = _free_port()
        env = {
            **os.environ,
            "SLOW_IMPORT_SECONDS": str(slow),
            "START_SECONDS": str(start_seconds),
            "PORT": str(self.port),
        }
        self.process = subprocess.Popen(
            [sys.executable, str(script)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.append(line)

    def wait_for(self, text: str, times: int = 1, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while sum(text in line for line in list(self.lines)) < times:
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} ×{times}:\n{''.join(self.lines)}"
            time.sleep(0.1)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._reader.join(timeout=10)
        return "".join(self.lines)


def test_workers_slower_than_five_seconds_to_import_start_and_serve(tmp_path: Path) -> None:
    serving = _Serving(tmp_path, slow=7.0, start_seconds=60.0)
    pids: set[str] = set()
    try:
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            try:
                # A new connection each time: the kernel hands them to either worker.
                with httpx.Client(timeout=5) as client:
                    pids.add(client.get(f"http://127.0.0.1:{serving.port}/").text)
            except httpx.TransportError:
                time.sleep(0.2)
        # A worker can answer before the supervisor's next round (every 0.5 s, later on a
        # busy machine) reads its ping's answer and says it started.
        serving.wait_for("started after", times=2)
    finally:
        output = serving.stop()
    assert len(pids) == 2, output
    assert "still starting after" in output
    assert "started after" in output
    assert "died" not in output  # uvicorn's 5 s check killed them: "Child process died"


def test_a_worker_that_does_not_start_in_time_is_restarted_with_a_reason(tmp_path: Path) -> None:
    serving = _Serving(tmp_path, slow=6.0, start_seconds=1.0)
    try:
        serving.wait_for("did not start within 1 s")
    finally:
        output = serving.stop()
    assert "did not start within 1 s (HUB_LIMITS_WORKER_START_SECONDS)" in output
