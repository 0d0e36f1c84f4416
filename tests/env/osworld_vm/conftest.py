"""The loopback VM (vm_server.LoopbackVm) shared by a test module, and an env on it."""

from __future__ import annotations

import pytest

from kimicua.env.geometry import Size

SIZE = Size(1280, 800)


@pytest.fixture(scope="module")
def loopback_vm():
    from vm_server import LoopbackVm

    vm = LoopbackVm(SIZE)
    yield vm
    vm.close()


@pytest.fixture(scope="module")
def vm_env(loopback_vm):
    from kimicua.env.osworld_vm import OsworldVmEnv

    env = OsworldVmEnv(loopback_vm.url, settle_s=0.1, chrome_port=loopback_vm.chrome_port)
    env.reset()
    yield env
    env.close()
