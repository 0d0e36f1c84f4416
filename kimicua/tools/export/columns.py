"""The columns of each export level, in order, with their types.

One list per level is the contract: the row builders fill exactly these keys, the
parquet writer builds its schema from them, and the README's tables name them (a test
keeps the three in step). pyarrow is imported only to build a schema, so jsonl exports
need nothing beyond the core.
"""

from __future__ import annotations

# Kinds: scalars, lists, the two structs (chat messages, stage timings) and "experts": a
# routing record, per token a list per MoE layer of its top-k expert ids (verl's
# routed_experts shape [tokens, layers, k]; ids < 2^15 for every MoE config in use).
# Token ids fit int32 (Kimi-VL's vocabulary is 163,840); the mask is 0/1.
IDENTITY = (
    ("task_id", "string"),
    ("domain", "string"),
    ("group", "string"),
    ("rollout", "int64"),
    ("model", "string"),
    ("dialect", "string"),
    ("instruction", "string"),
    ("episode_dir", "string"),
    ("status", "string"),
)
GROUP = (
    ("advantage", "float64"),
    ("group_size", "int64"),
    ("group_mean", "float64"),
    ("group_std", "float64"),
)
STEP_COLUMNS: tuple[tuple[str, str], ...] = (
    *IDENTITY,
    ("turn", "int64"),
    ("num_turns", "int64"),
    ("is_last", "bool"),
    ("step_nums", "list<int64>"),
    ("prompt_messages", "messages"),
    ("prompt_images", "list<string>"),
    ("response", "string"),
    ("prompt_token_ids", "list<int32>"),
    ("response_token_ids", "list<int32>"),
    ("response_logprobs", "list<float64>"),
    ("routing_file", "string"),
    ("routed_experts", "experts"),
    ("actions", "list<string>"),
    ("error", "string"),
    ("timings", "timings"),
    ("step_reward", "float64"),
    ("episode_return", "float64"),
    *GROUP,
)
EPISODE_COLUMNS: tuple[tuple[str, str], ...] = (
    *IDENTITY,
    ("segment", "int64"),
    ("num_segments", "int64"),
    ("turns", "list<int64>"),
    ("num_turns", "int64"),
    ("episode_turns", "int64"),
    ("prompt_messages", "messages"),
    ("responses", "list<string>"),
    ("prompt_ids", "list<int32>"),
    ("response_ids", "list<int32>"),
    ("response_mask", "list<int8>"),
    ("response_logprobs", "list<float64>"),
    ("routed_experts", "experts"),
    ("images", "list<string>"),
    ("reward", "float64"),
    *GROUP,
)
LEVELS = {"step": STEP_COLUMNS, "episode": EPISODE_COLUMNS}
TIMING_FIELDS = ("capture_s", "preprocess_s", "model_s", "parse_s", "execute_s", "write_s")


def arrow_schema(level: str):
    """The pyarrow schema of ``level``'s rows (every column nullable)."""
    import pyarrow as pa

    scalars = {"string": pa.string(), "int64": pa.int64(), "int32": pa.int32(), "int8": pa.int8(),
               "float64": pa.float64(), "bool": pa.bool_()}
    item = pa.struct([("type", pa.string()), ("text", pa.string()), ("file", pa.string())])
    kinds = {
        **scalars,
        **{f"list<{name}>": pa.list_(t) for name, t in scalars.items()},
        "messages": pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(item))])),
        "timings": pa.struct([(name, pa.float64()) for name in TIMING_FIELDS]),
        "experts": pa.list_(pa.list_(pa.list_(pa.int16()))),
    }
    return pa.schema([(name, kinds[kind]) for name, kind in LEVELS[level]])
