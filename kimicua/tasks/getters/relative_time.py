"""``rule_relativeTime`` (OSWorld's name): a rule whose dates are relative to today.

The rule's ``relativeTime`` names days ("tomorrow", "next Monday", "10th next month",
...) and its ``expected`` texts hold date fields ({Year}, {Month}, {Day0D}, ...) that
are filled from those days, with OSWorld's calendar arithmetic. Today is the env's own
date (what the agent's clock shows), in the rule's ``timezone`` when it names one.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.registry import getter

_DOW = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_NOW = "from datetime import datetime; print(datetime.now().astimezone().isoformat())"


def fill(template: str, day: datetime) -> str:
    """OSWorld's ``apply_rules_to_timeFormat``: each field replaced once."""
    for field, value in (("{DoW}", _DOW[day.weekday()]), ("{Month}", _MONTHS[day.month - 1][:3]),
                         ("{DayD}", str(day.day)), ("{Year}", str(day.year)),
                         ("{Month0D}", f"{day.month:02d}"), ("{month}", _MONTHS[day.month - 1].lower()),
                         ("{MonthFull}", _MONTHS[day.month - 1]), ("{Day0D}", f"{day.day:02d}"),
                         ("{MonthD}", str(day.month))):
        template = template.replace(field, value, 1)
    return template


def _on(now: datetime, year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=now.tzinfo)


def _day_of_next_month(now: datetime, day: int) -> datetime:
    return _on(now, now.year + (now.month == 12), now.month % 12 + 1, day)


def _first_monday_later(now: datetime, months: int, wrap_from: int) -> datetime:
    first = _on(now, now.year + (now.month >= wrap_from), (now.month + months - 1) % 12 + 1, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _until(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


def day_of(name: str, now: datetime) -> datetime:
    """The day ``name`` means on ``now`` (OSWorld's table of relative days)."""
    wd = now.weekday()
    to_next_monday = 7 - wd
    days = {
        "tomorrow": lambda: _until(now, 1),
        "5th next month": lambda: _day_of_next_month(now, 5),
        "10th next month": lambda: _day_of_next_month(now, 10),
        "11th next month": lambda: _day_of_next_month(now, 11),
        "this month": lambda: now,
        "this Saturday": lambda: _until(now, 5 - wd),
        "this Sunday": lambda: _until(now, 6 - wd),
        "next Monday": lambda: _until(now, to_next_monday),
        "next Monday split": lambda: _until(now, to_next_monday),
        "week after next Monday split": lambda: _until(now, to_next_monday + 7),
        "next Friday": lambda: _until(now, 4 - wd if wd < 4 else (7 if wd == 4 else to_next_monday + 4)),
        "next Saturday": lambda: _until(now, 5 - wd if wd < 5 else (7 if wd == 5 else 6)),
        "next week Friday": lambda: _until(now, to_next_monday + 4),
        "next week Saturday": lambda: _until(now, to_next_monday + 5),
        "next week Sunday": lambda: _until(now, to_next_monday + 6),
        "week after next Friday": lambda: _until(now, to_next_monday + 11),
        "week after next Saturday": lambda: _until(now, to_next_monday + 12),
        "week after next Sunday": lambda: _until(now, to_next_monday + 13),
        "first monday four months later": lambda: _first_monday_later(now, 4, 9),
        "first monday eight months later": lambda: _first_monday_later(now, 8, 5),
    }
    if name not in days:
        raise ValueError(f"rule_relativeTime: unknown relative time {name!r}")
    return days[name]()


def _end_day(name: str, start: str, start_day: datetime, now: datetime) -> datetime:
    """A range's end: OSWorld ties some ends to the week of the start."""
    wd = now.weekday()
    if name in ("next Friday", "next Friday split", "week after next Friday split"):
        if start in ("next Monday", "next Monday split", "week after next Monday split"):
            return start_day + timedelta(days=4)
        return _until(now, 4 - wd if wd < 4 else (6 - wd) + 5)
    if name == "next Sunday":
        if start in ("next Friday", "next Saturday"):
            return start_day + timedelta(days=6 - start_day.weekday())
        return _until(now, 6 - wd if wd < 6 else 7)
    if (name == "next week Sunday" and start in ("next week Friday", "next week Saturday")) or (
            name == "week after next Sunday" and start in ("week after next Friday", "week after next Saturday")):
        return start_day + timedelta(days=6 - start_day.weekday())
    return day_of(name, now)


def _env_now(env) -> datetime:
    """The env's local time (the clock the agent sees); this machine's if it cannot tell."""
    try:
        out = env.run(["python3", "-c", _NOW], timeout=10.0)
        if out.returncode == 0:
            return datetime.fromisoformat(out.stdout.strip())
    except (OSError, RuntimeError, ValueError):
        pass
    return datetime.now().astimezone()


def resolve(rules: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``rules`` with the date fields of ``expected`` filled for ``now``."""
    rules = copy.deepcopy(rules)
    if rules.get("timezone"):
        now = now.astimezone(ZoneInfo(rules["timezone"]))
    relative, expected = rules["relativeTime"], rules["expected"]
    start = relative["from"]
    start_day = day_of(start, now)
    if "to" not in relative:
        value = expected["time"]
        expected["time"] = [fill(v, start_day) for v in value] if isinstance(value, list) else fill(value, start_day)
        return rules
    end = relative["to"]
    end_day = _end_day(end, start, start_day, now)
    if start.endswith("Monday split"):
        for key in ("puDay", "puMonth", "puYear"):
            expected[key] = fill(expected[key], start_day)
    else:
        expected["from"] = fill(expected["from"], start_day)
    if end.endswith("Friday split"):
        for key in ("doDay", "doMonth", "doYear"):
            expected[key] = fill(expected[key], end_day)
    else:
        expected["to"] = fill(expected["to"], end_day)
    return rules


@getter
def rule_relativeTime(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
    """The rule with its relative dates filled in for today (see the module doc)."""
    return resolve(spec["rules"], _env_now(env))
