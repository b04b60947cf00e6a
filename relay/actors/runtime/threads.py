"""Threads for actor loops, kept a few seconds after their actor stops for the next one.

An activation used to start a thread of its own: a clone and a wait until the new thread
runs (``Thread.start``), so the registry started it off the trio thread, through a trio
worker thread: two hand-offs and a thread start per activation. Actors come and go with
the active set, so on a busy relay that was a tenth of the CPU of a message (the kinds with
the most activations, agents, inboxes and conversations, now run on ``pool`` instead). A
stopped actor's thread now waits ``KEEP_SECONDS`` for the next activation, which hands it
its loop without waiting; after that the thread exits (and beyond ``MAX_KEPT`` idle ones
it exits at once), so idle relays still hold no thread per actor ever seen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("relay.actors")

KEEP_SECONDS = 2.0
# At most this many idle threads are kept: a sweep that stops a thousand idle actors at
# once must not leave a thousand threads behind (a busy relay reuses a few, at once).
MAX_KEPT = 64
IDLE_NAME = "relay-actor-idle"


class Worker:
    """One kept thread: it runs the loops it is given, one after another."""

    def __init__(self, threads: ActorThreads, loop: Callable[[], None], name: str) -> None:
        self._threads = threads
        self._job: tuple[Callable[[], None], str] | None = (loop, name)
        self._given = threading.Lock()
        self._given.acquire()  # released when a job is handed over

    def give(self, loop: Callable[[], None], name: str) -> None:
        self._job = (loop, name)
        self._given.release()

    def give_none(self) -> None:
        self._job = None
        self._given.release()

    def main(self) -> None:
        thread = threading.current_thread()
        while True:
            job, self._job = self._job, None
            if job is None:
                return  # told to exit
            loop, thread.name = job
            job = None
            try:
                loop()
            except Exception:  # pykka's loop handles its own: never lose the thread quietly
                log.exception("actor_loop_failed thread=%s", thread.name)
            # Let go of the actor before waiting: a stopped actor must be freed at once.
            loop = None  # type: ignore[assignment]
            thread.name = IDLE_NAME
            if not self._threads.park(self):
                return
            if not self._given.acquire(timeout=KEEP_SECONDS):
                if self._threads.retire(self):
                    return
                self._given.acquire()  # taken meanwhile: its job is on its way
            # Handed a job, or None: told to exit (the top of the loop returns).


class ActorThreads:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[Worker] = []  # the most recently parked last: it is taken first
        self._closed = False

    def take(self) -> Worker | None:
        """An idle thread, reserved for one ``run`` (or ``release``), else None."""
        with self._lock:
            return self._idle.pop() if self._idle else None

    def release(self, worker: Worker) -> None:
        """A reserved thread that got no loop to run: it exits."""
        worker.give_none()

    def run(
        self,
        loop: Callable[[], None],
        name: str,
        *,
        daemon: bool = True,
        worker: Worker | None = None,
    ) -> None:
        """Run ``loop`` on ``worker`` (taken before), else an idle thread, else a new one: only
        a new one waits (``Thread.start``) until it runs."""
        if worker is None:
            worker = self.take()
        if worker is not None:
            worker.give(loop, name)
            return
        worker = Worker(self, loop, name)
        threading.Thread(target=worker.main, name=name, daemon=daemon).start()

    def park(self, worker: Worker) -> bool:
        with self._lock:
            if self._closed or len(self._idle) >= MAX_KEPT:
                return False
            self._idle.append(worker)
            return True

    def retire(self, worker: Worker) -> bool:
        """Whether an idle worker whose wait ran out may exit (False: it was just taken)."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False

    def close(self) -> None:
        """The relay is stopping: idle threads exit now, and each actor's as it stops."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.give_none()

    def reopen(self) -> None:
        """A registry starts (tests run several in one process): threads are kept again."""
        with self._lock:
            self._closed = False


ACTOR_THREADS = ActorThreads()
