"""``kimicua tui``: watch, steer and teach the agent in the terminal (Textual).

The episode loop runs in a Textual worker thread (``session``); its typed events
become Textual messages (``messages``) that the screens render; widgets never touch
the runner, the env or the controllers. The start screen picks what to run, the run
screen shows it live (screenshot with the last action marked, turns, status) and
lets a person pause, step, approve or edit actions and stop; the run browser pages
through finished episodes with the same data as ``kimicua render``.
"""
