"""Row writers: parquet in row groups (a large run is never held whole), and jsonl.

Both write into a temporary file beside the target and rename it into place on
``close``, so a failed export leaves no half-written file under the target's name;
``discard`` removes the temporary file instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kimicua.tools.export.columns import LEVELS, arrow_schema

FORMATS = ("parquet", "jsonl")


class _Writer:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.rows = 0

    def _finish(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


class JsonlWriter(_Writer):
    """One JSON object per line, keys in column order."""

    def __init__(self, path: Path, level: str):
        super().__init__(path)
        self.names = [name for name, _ in LEVELS[level]]
        # A lone surrogate (from a \ud800 escape in the source) becomes that same escape
        # again, so the file stays UTF-8 and reads back to the same string.
        self._file = open(self.tmp, "w", encoding="utf-8", errors="backslashreplace")

    def write(self, row: dict) -> None:
        self._file.write(json.dumps({name: row[name] for name in self.names}, ensure_ascii=False) + "\n")
        self.rows += 1

    def close(self) -> None:
        self._file.close()
        self._finish()

    def discard(self) -> None:
        self._file.close()
        super().discard()


class ParquetWriter(_Writer):
    """Buffers ``rows_per_group`` rows, then writes them as one row group."""

    def __init__(self, path: Path, level: str, rows_per_group: int = 128):
        import pyarrow.parquet as pq

        super().__init__(path)
        self.schema = arrow_schema(level)
        self.rows_per_group = rows_per_group
        self._buffer: list[dict] = []
        self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")

    def write(self, row: dict) -> None:
        self._buffer.append(row)
        self.rows += 1
        if len(self._buffer) >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._buffer:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=self.schema))
            self._buffer = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._finish()

    def discard(self) -> None:
        self._buffer = []
        try:
            self._writer.close()
        finally:
            super().discard()


def open_writer(fmt: str, path: Path, level: str, rows_per_group: int = 128) -> JsonlWriter | ParquetWriter:
    if fmt == "jsonl":
        return JsonlWriter(path, level)
    return ParquetWriter(path, level, rows_per_group)
