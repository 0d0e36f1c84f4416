"""The world the agent acts in: actions, coordinates, capture, displays, controllers, envs.

Importing this package starts nothing; envs start their display or browser when made.
"""

from kimicua.env.actions import Action
from kimicua.env.core import CommandResult, Env, EnvError, TimeLimit, Window, make_env
from kimicua.env.geometry import Frame, Size
from kimicua.env.observation import ActionResult, Observation

__all__ = [
    "Action", "ActionResult", "CommandResult", "Env", "EnvError", "Frame", "Observation",
    "Size", "TimeLimit", "Window", "make_env",
]
