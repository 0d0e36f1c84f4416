"""Episodes in parallel on Ray: one actor per worker, each with its own envs (its own
sandboxed Xvfb desktop and browser, reused across episodes) and its own policy (a
server shared by all, a checkpoint loaded once per actor, or the scripted solutions).

The driver hands each idle actor the next episode. An actor that dies (killed, out of
memory) is replaced and its episode tried once more on another actor, then recorded as
an error; its partial episode directory stays, as a crash leaves it. Ray is the optional
``scale`` extra: nothing imports it unless ``--workers`` is above 1.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable

from kimicua.tools.runner.episodes import EpisodeRunner, RunSetupError
from kimicua.tools.runner.options import Job, Record, RunOptions

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


class WorkerActor:
    """What runs in each Ray actor: an EpisodeRunner."""

    def __init__(self, opts: RunOptions):
        self.runner = EpisodeRunner(opts)

    def pid(self) -> int:
        return os.getpid()

    def play(self, job: Job) -> Record:
        return self.runner.play(job)

    def close(self) -> None:
        self.runner.close()


class RayPool:
    """``workers`` actors on a local Ray (or the cluster at ``ray_address``)."""

    def __init__(self, opts: RunOptions):
        for key, value in RAY_ENV.items():
            os.environ.setdefault(key, value)
        try:
            import ray
        except ImportError:
            raise RunSetupError("--workers above 1 needs Ray: pip install 'kimicua[scale]'") from None
        self.ray, self.opts = ray, opts
        self._started = not ray.is_initialized()
        try:
            ray.init(address=opts.ray_address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.WARNING, ignore_reinit_error=True)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise RunSetupError(f"cannot start or join Ray ({opts.ray_address or 'local'}): "
                                f"{' '.join(str(err).split())[:300]}") from None
        self._actor = ray.remote(max_restarts=0, max_task_retries=0)(WorkerActor)
        self.actors: list = []
        try:
            self.actors = [self._spawn() for _ in range(opts.workers)]
            self.pids = self._get([a.pid.remote() for a in self.actors])  # surfaces a failed start
        except BaseException:
            self.close()
            raise

    def _spawn(self):
        return self._actor.remote(self.opts)

    def _get(self, refs):
        from ray.exceptions import RayTaskError

        try:
            return self.ray.get(refs)
        except RayTaskError as err:  # an actor's constructor raised: a bad model, no sandbox
            cause = err.cause if isinstance(err.cause, BaseException) else err
            raise RunSetupError(" ".join(str(cause).split())[:500]) from None

    def run(self, todo: list[Job], on_record: Callable[[Record], None],
            stop: Callable[[], bool] = lambda: False) -> None:
        """Play every job; ``on_record`` gets each record as it finishes (in the driver)."""
        from ray.exceptions import RayActorError, RayTaskError

        pending, idle, running = deque(todo), list(self.actors), {}
        tries: dict[tuple, int] = {}
        while pending or running:
            while idle and pending and not stop():
                actor, job = idle.pop(), pending.popleft()
                running[actor.play.remote(job)] = (actor, job)
            if not running:
                break
            ready: list = []
            while not ready:  # short waits: the interpreter gets Ctrl-C between them, whatever Ray does
                ready, _ = self.ray.wait(list(running), num_returns=1, timeout=0.5)
            (ref,) = ready
            actor, job = running.pop(ref)
            try:
                record = self.ray.get(ref)
            except RayActorError as err:  # the worker process died
                self.actors.remove(actor)
                replacement = self._spawn()
                self.actors.append(replacement)
                idle.append(replacement)
                tries[job.key] = tries.get(job.key, 0) + 1
                if tries[job.key] < 2:
                    pending.appendleft(job)  # once more, on another worker
                    continue
                why = " ".join(str(err).split())[:200]
                record = Record(job.domain, job.task.id, "error", None, rollout=job.rollout,
                                error=f"its worker died twice: {why}")
            except RayTaskError as err:  # play() raised: a bug, recorded like an episode error
                idle.append(actor)
                record = Record(job.domain, job.task.id, "error", None, rollout=job.rollout,
                                error=" ".join(str(err.cause if err.cause else err).split())[:300])
            else:
                idle.append(actor)
            on_record(record)

    def close(self, *, graceful: bool = True) -> None:
        """End every actor (their envs die with them) and the Ray we started; ``graceful``
        lets each close its envs first (Ctrl-C does not wait)."""
        if graceful and self.actors:
            try:
                self.ray.get([a.close.remote() for a in self.actors], timeout=60)
            except Exception:
                pass  # a dead or stuck actor: killed below
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:
                pass  # already gone
        self.actors = []
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
