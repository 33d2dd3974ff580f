"""One way for a test to start a real server and to stop it, whatever happens in between.

`serve` starts the command on a free 127.0.0.1 port, waits (bounded) for `/healthz`, and stops
it with terminate, then kill if it does not stop. The server's stderr goes to a file, never a
pipe nobody reads (a full pipe blocks the server); its tail goes into the failure messages.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT = 10  # seconds for a terminated server to stop before it is killed
PORT_ATTEMPTS = 5  # starts on a fresh port when another process took the port first

Command = Callable[[int], list[str]]


def uvicorn_command(port: int) -> list[str]:
    """The plain uvicorn command of the app on 127.0.0.1 and this port."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def free_port() -> int:
    """A port no one listened on a moment ago (it may be taken before it is used: see serve)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A started server: its base URL, its process and the file its stderr goes to."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        """The last lines the server wrote to stderr, for a failure message."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "server stderr:\n" + "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the process, and kill it if it has not stopped in STOP_TIMEOUT seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # a request in flight or a hung shutdown
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


def _port_was_taken(log: Path) -> bool:
    return "address already in use" in log.read_text(errors="replace").lower()


def _start(
    command: Command, env: Mapping[str, str], log: Path, deadline: float, health: str | None
) -> Server | None:
    """One start on a fresh port: the server once healthy, None if its port was taken."""
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            command(port), cwd=ROOT, env=dict(env), stdout=subprocess.DEVNULL, stderr=err
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        while True:
            if not server.alive():
                if _port_was_taken(log):
                    return None
                pytest.fail(f"server exited with {proc.returncode}\n{server.tail()}")
            if health is None:
                return server
            try:
                if httpx.get(server.url + health, timeout=1).status_code == 200:
                    # Another server that took the port would answer too; ours must still run.
                    time.sleep(0.2)
                    if server.alive():
                        return server
                    continue
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not answer {health} in time\n{server.tail()}")
            time.sleep(0.1)
    except BaseException:
        stop(proc)
        raise


@contextmanager
def serve(
    env: Mapping[str, str],
    command: Command = uvicorn_command,
    *,
    start_timeout: float = 60,
    health: str | None = "/healthz",
    request: pytest.FixtureRequest | None = None,
) -> Iterator[Server]:
    """Run `command(port)` with `env` until the block ends; the server once `health` answers
    200 (with `health=None`, as soon as it runs). Given the fixture's `request`, a failed
    test prints the server's stderr tail (a fixture does not see the test's exception)."""
    fd, name = tempfile.mkstemp(prefix="server-", suffix=".log")
    os.close(fd)
    log = Path(name)
    failed_before = request.session.testsfailed if request else 0
    deadline = time.monotonic() + start_timeout
    try:
        for _ in range(PORT_ATTEMPTS):
            server = _start(command, env, log, deadline, health)
            if server is not None:
                break
        else:
            pytest.fail(f"no free port in {PORT_ATTEMPTS} starts\n{log.read_text()}")
        try:
            yield server
        except BaseException as exc:  # the block's own failure, with what the server said
            exc.add_note(server.tail())
            raise
        finally:
            stop(server.proc)
            if request is not None and request.session.testsfailed > failed_before:
                # Past pytest's capture: the test's report is written before this teardown.
                print(f"\n{server.url} ({request.node.name}) {server.tail()}", file=sys.__stderr__)
    finally:
        log.unlink(missing_ok=True)
