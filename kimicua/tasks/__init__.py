"""Tasks: the OSWorld-compatible task schema, setup steps, evaluators, built-in suites.

The episode loop takes a ``TaskRun`` (id, instruction, env_kind, setup, evaluate,
solution, close); loaders read OSWorld files and report what this runtime supports.
"""

from kimicua.tasks.evaluate import Evaluation, UnsupportedEvaluator, evaluate
from kimicua.tasks.osworld import Loaded, Support, load_path, load_suite, report, support
from kimicua.tasks.run import TaskRun
from kimicua.tasks.schema import Task, TaskError, load_task, parse_task
from kimicua.tasks.setup import SetupError, UnsupportedStep
from kimicua.tasks.solution import SolutionError, solution_actions
from kimicua.tasks.suites import builtin_suites, load_builtin, resolve

__all__ = [
    "Evaluation", "Loaded", "SetupError", "SolutionError", "Support", "Task", "TaskError", "TaskRun",
    "UnsupportedEvaluator", "UnsupportedStep", "builtin_suites", "evaluate", "load_builtin",
    "load_path", "load_suite", "load_task", "parse_task", "report", "resolve", "solution_actions",
    "support",
]
