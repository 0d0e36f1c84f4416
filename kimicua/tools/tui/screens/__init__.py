"""The TUI's screens: start (pick), run (watch and steer), runs and episode (browse)."""
