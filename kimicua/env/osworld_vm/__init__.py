"""OSWorld's official VMs as an env: the HTTP server inside each VM (client), actions as
OSWorld's pyautogui commands (commands, controller), the env itself, and the docker
provider that boots a user's qcow2 in OSWorld's published image."""

from kimicua.env.osworld_vm.client import VmClient, VmError, normalise_url
from kimicua.env.osworld_vm.docker import DockerVm, check_requirements
from kimicua.env.osworld_vm.env import OsworldVmEnv

__all__ = ["DockerVm", "OsworldVmEnv", "VmClient", "VmError", "check_requirements", "normalise_url"]
