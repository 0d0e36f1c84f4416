"""Pictures of episodes: an MP4 and a GIF with each action's marker and caption,
a report.html per episode and an index.html per run, all readable offline."""

from kimicua.tools.render.episodes import RunPictures, default_out, render_episode, render_run
from kimicua.tools.render.video import VideoError, mp4_available

__all__ = ["RunPictures", "VideoError", "default_out", "mp4_available", "render_episode", "render_run"]
