"""PNG frames encoded off the step's critical path.

The step loop hands over the captured array and goes on; worker threads encode
and write it. PIL releases the GIL while zlib compresses, so the encoding overlaps
with the loop. A bounded queue applies back-pressure instead of growing memory
without limit (a 1080p frame is 6 MB). Each frame is written to a temporary name,
fsync'd and renamed, so a crash leaves either a whole PNG or none; the future that
``submit`` returns is done once the rename is.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from PIL import Image

_STOP = object()


class FrameWriter:
    """Background PNG writer: ``submit`` returns at once, ``flush`` waits for all."""

    def __init__(self, *, workers: int = 2, max_pending: int = 8, compress_level: int = 1):
        self.compress_level = compress_level
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._errors: list[str] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"frame-writer-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, image: np.ndarray, path: Path) -> Future:
        """Queue ``image`` (RGB uint8 [H, W, 3]) for ``path``; the returned future
        is done when the file is in place (its exception says why it is not).

        No copy is made: the array is marked read-only, so a caller that would
        change it before it is encoded gets an error instead of a wrong frame."""
        image.flags.writeable = False
        done: Future = Future()
        self._queue.put((image, Path(path), done))
        return done

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                image, path, done = item
                try:
                    tmp = path.with_name(path.name + ".tmp")
                    with open(tmp, "wb") as f:
                        Image.fromarray(image).save(f, format="PNG", compress_level=self.compress_level)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, path)
                except Exception as err:  # a bad frame is reported, never kills the writer
                    self._errors.append(f"{path.name}: {err}")
                    done.set_exception(err)
                else:
                    done.set_result(path)
            finally:
                self._queue.task_done()

    def flush(self) -> list[str]:
        """Wait until every queued frame is on disk; return the errors so far."""
        self._queue.join()
        return list(self._errors)

    def close(self) -> list[str]:
        errors = self.flush()
        for _ in self._threads:
            self._queue.put(_STOP)
        for t in self._threads:
            t.join()
        return errors
