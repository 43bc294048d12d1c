"""How the launcher tells whether a process it started still runs (`sagashop status`, `down`,
and the clean-up checks rely on it)."""

from __future__ import annotations

import subprocess
import sys
import time

from launcher.stack import pid_alive


def test_a_running_process_is_alive_and_an_exited_unreaped_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(child.pid)
    finally:
        child.kill()
    deadline = time.monotonic() + 10
    while pid_alive(child.pid) and time.monotonic() < deadline:  # a zombie until we reap it
        time.sleep(0.05)
    assert not pid_alive(child.pid)
    assert child.poll() is not None  # it was a zombie, not gone: we could still reap it


def test_no_pid_is_not_alive():
    assert not pid_alive(None) and not pid_alive(0)
