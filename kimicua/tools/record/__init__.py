"""Human demonstrations and replays: ``kimicua record`` and ``kimicua replay``.

``xrecord`` captures a display's input (X RECORD), ``screen`` its frames, ``events``
folds the input into our actions, ``recorder`` pairs each action with the screen
before it, ``human`` writes the episode in the agent's trajectory format; ``replay``
plays a trajectory again and ``compare`` tells whether its frames match;
``session`` puts them on the runner's results layout.
"""
