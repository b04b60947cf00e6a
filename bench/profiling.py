"""py-spy around a bench phase, and the top entries of what it recorded.

    .venv/bin/python -m bench.profiling FILE [--top 15]   # top self / inclusive frames

``Profiler.start(pid, out)`` records the server with ``--gil --nonblocking`` at 100 Hz
(only the thread holding the GIL is sampled: where the server's one core of Python goes;
a blocking py-spy would stall the server). ``.svg`` writes a flame graph, ``.json``
speedscope, anything else collapsed stacks (what ``top`` reads). py-spy is looked up next
to this interpreter, then on ``PATH``.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    if beside.exists():
        return str(beside)
    found = shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy not found (pip install py-spy)")
    return found


@dataclass
class Profiler:
    proc: subprocess.Popen[bytes]
    out: Path

    @classmethod
    def start(cls, pid: int, out: str | Path) -> Profiler:
        out = Path(out)
        fmt = {".svg": "flamegraph", ".json": "speedscope"}.get(out.suffix, "raw")
        cmd = [py_spy(), "record", "-p", str(pid), "-o", str(out), "-f", fmt]
        cmd += ["--threads", "--gil", "--nonblocking", "--rate", "100"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        return cls(proc, out)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if self.proc.returncode not in (0, -signal.SIGINT):
            print(f"py-spy: {err.decode(errors='replace')[-2000:]}", flush=True)


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({module})" if module else name


def top(paths: Path | Sequence[Path], count: int, *, inclusive: bool = True) -> str:
    """The frames where most samples were (self), and (``inclusive``) those most often on
    the stack, over the recordings in ``paths`` together."""
    own: Counter[str] = Counter()
    on_stack: Counter[str] = Counter()
    total = 0
    files = [paths] if isinstance(paths, Path) else list(paths)
    recorded = [line for path in files for line in path.read_text(errors="replace").splitlines()]
    for line in recorded:
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        n = int(samples)
        frames = [_frame_name(f) for f in stack.split(";")[1:]]  # [0] is the thread
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            on_stack[frame] += n
    lines = [f"{total} samples (GIL held)", "self %   function"]
    lines += [f"{n / total * 100:6.1f}   {name}" for name, n in own.most_common(count)]
    if not inclusive:
        return "\n".join(lines)
    # Frames on (almost) every stack (the entry point, the event loop) say nothing.
    below = [(name, n) for name, n in on_stack.most_common() if n < 0.85 * total]
    lines += ["total %  function (frames on < 85 % of the stacks)"]
    lines += [f"{n / total * 100:6.1f}   {name}" for name, n in below[:count]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="collapsed stacks written by py-spy (raw)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(top(args.file, args.top))


if __name__ == "__main__":
    main()
