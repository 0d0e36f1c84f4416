"""One worker's side of a run: it owns envs (one per kind, reused across episodes) and
the policy, and plays one Job at a time into its episode directory.

The sequential runner has one EpisodeRunner; each Ray worker has its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kimicua.agent.backends import make_policy
from kimicua.agent.backends.scripted import ScriptedPolicy
from kimicua.agent.episode import Approve, run_episode
from kimicua.agent.events import Event
from kimicua.agent.policy import Policy
from kimicua.agent.trajectory import EpisodeMeta, TrajectoryWriter
from kimicua.env.core import Env, EnvError, make_env
from kimicua.env.osworld_vm.claim import VmClaim, claim_vm
from kimicua.env.sandbox import check_available
from kimicua.tasks.osworld import support
from kimicua.tasks.run import TaskRun
from kimicua.tools.runner.options import Job, Record, RunOptions, episode_dir, model_dir_name


class RunSetupError(ValueError):
    """The run cannot start (results busy, no sandbox, model unreachable): one line."""


class EpisodeRunner:
    """Plays Jobs one after another, keeping envs and the model loaded between them."""

    def __init__(self, opts: RunOptions, on_event: Callable[[Event], None] | None = None,
                 approve: Approve | None = None):
        self.opts, self.on_event, self.approve = opts, on_event, approve
        self.envs: dict[str, Env] = {}
        self.broken: dict[str, str] = {}  # env kind -> why it cannot start
        self.policy: Policy | None = None
        self._vm_claim: VmClaim | None = None
        if opts.sandbox and opts.env != "osworld-vm":  # a VM is its own sandbox
            try:
                check_available()
            except EnvError as err:  # says so in one line, naming --no-sandbox
                raise RunSetupError(str(err)) from None
        if opts.provider == "docker":
            from kimicua.env.osworld_vm.docker import check_requirements

            try:
                check_requirements()
            except EnvError as err:  # one line: docker or KVM is missing
                raise RunSetupError(str(err)) from None
        if opts.model != "scripted":
            self.policy = make_policy(opts.model, **opts.policy_options)
            try:
                self.policy.check()
            except BaseException:
                self.close()
                raise

    @property
    def model_name(self) -> str:
        return model_dir_name(self.opts.model, self.opts.model_name)

    @property
    def notice(self) -> str | None:
        return self.policy.notice if self.policy else None

    def env(self, kind: str) -> Env:
        """The env of ``kind``, started on first use; an env that failed to start once is
        not tried again (its message stands for every task of that kind)."""
        if kind in self.broken:
            raise EnvError(self.broken[kind])
        if kind not in self.envs:
            o = self.opts
            try:
                vm = self._vm() if kind == "osworld-vm" else None
                self.envs[kind] = make_env(kind, size=o.screen, scale=o.scale, display=o.display,
                                           sandbox=o.sandbox, network=o.network, guard=o.guard(),
                                           vm=vm)
            except (EnvError, OSError, ValueError) as err:
                text = str(err).strip()
                self.broken[kind] = f"the {kind} env cannot start: {text.splitlines()[0] if text else type(err).__name__}"
                raise EnvError(self.broken[kind]) from None
        return self.envs[kind]

    def _vm(self):
        """This worker's VM: a fresh one from the provider, or a --vm URL no other
        worker holds (claimed for the worker's life)."""
        o = self.opts
        if o.provider == "docker":
            from kimicua.env.osworld_vm.docker import DockerVm

            return DockerVm(o.vm_image)
        if not o.vms:
            raise EnvError("the osworld-vm env needs --vm URL or --provider docker --vm-image PATH")
        if self._vm_claim is None:
            self._vm_claim = claim_vm(o.vms)
        return self._vm_claim.url

    def play(self, job: Job) -> Record:
        """Play one episode (or say why not) and return its record."""
        task, o = job.task, self.opts
        base = Record(job.domain, task.id, "", None, rollout=job.rollout)
        kind = o.env or task.env_kind
        # The verdict `kimicua tasks check` gives for where this run plays the task.
        sup = support(task, "vm" if kind == "osworld-vm" else "local", policy=o.guard().urls)
        if not sup.ok:
            return replace(base, status="unsupported", error=sup.describe())
        directory = episode_dir(o, job.domain, task.id, job.rollout)
        if o.resume and (directory / "result.txt").exists():
            score = float((directory / "result.txt").read_text())
            return replace(base, status="already done", score=score, directory=directory)
        try:
            env = self.env(kind)
        except EnvError as err:
            return replace(base, status="error", error=str(err))
        with TaskRun(task, env) as run:
            policy = self.policy or ScriptedPolicy(run.solution(env))
            meta = EpisodeMeta(task_id=task.id, instruction=run.instruction, domain=job.domain,
                               model=self.model_name, dialect=o.dialect, seed=job.seed, rollout=job.rollout,
                               group=f"{job.domain}/{task.id}", env=kind,
                               screen=(env.screen.width, env.screen.height))
            with TrajectoryWriter(directory, meta, replace=not o.resume) as writer:
                result = run_episode(env, run, policy, writer, o.max_steps, self.on_event, self.approve,
                                     dialect=o.dialect, max_images=o.max_images,
                                     verdict=lambda: run.last_evaluation and run.last_evaluation.describe())
            if policy is not self.policy:
                policy.close()
        if result.status == "error":
            # The world may be broken (a crashed browser): the next task gets a new one.
            self.envs.pop(kind).close()
        return replace(base, status=result.status, score=result.score, steps=result.steps, turns=result.turns,
                     seconds=result.duration_s, error=result.error, directory=directory)

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()
        if self.policy is not None:
            self.policy.close()
            self.policy = None
        if self._vm_claim is not None:
            self._vm_claim.release()
            self._vm_claim = None


