"""The episode sandbox: bubblewrap around everything an episode starts.

``bwrap`` builds the command line and checks bubblewrap works here; ``supervisor`` runs
inside and starts the apps; ``client.Sandbox`` is the host's handle on it.
"""

from kimicua.env.sandbox.bwrap import HOME, Layout, SandboxUnavailable, check_available
from kimicua.env.sandbox.client import Sandbox

__all__ = ["HOME", "Layout", "Sandbox", "SandboxUnavailable", "check_available"]
