"""The TUI's widgets: they show what messages carry and never touch the runner or the env."""
