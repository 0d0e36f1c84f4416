"""`kimicua serve`: the on-device model as an OpenAI-compatible HTTP service with continuous batching.

protocol (the wire format), media (images from image_url items), detok (incremental text and
stop strings), scheduler (the engine's thread), app (the FastAPI routes), run (socket, loading,
uvicorn). Several episodes, Ray workers and ScreenSpot runs then share one model in memory.
"""
