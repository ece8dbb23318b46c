"""Running a piece of a test in a forked child process (what gunicorn ``--preload`` does)."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Callable


def in_child(work: Callable[[], str]) -> str:
    """Run ``work`` in a forked child; return what it reported, fail on a non-zero exit."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads (pool workers, the portal):
        # exactly what gunicorn --preload does, and what the callers test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            os.close(read_end)
            message = work()
            code = 0
        except BaseException:
            message = traceback.format_exc()
        try:
            os.write(write_end, message.encode())
            os.close(write_end)
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    output = b"".join(chunks).decode()
    assert os.WIFEXITED(status), f"child did not exit normally ({status}): {output}"
    assert os.WEXITSTATUS(status) == 0, f"child failed:\n{output}"
    return output
