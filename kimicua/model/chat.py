"""Kimi-VL's chat template (docs/kimi-vl.md section 7) for OpenAI-style messages.

Messages: {"role": "system" | "user" | "assistant",
           "content": str | [{"type": "text", "text": ...}, {"type": "image"}, ...]}.
"""

from __future__ import annotations

DEFAULT_SYSTEM = "You are a helpful assistant"
ROLES = ("system", "user", "assistant")
IMAGE_ITEM = "<|media_start|>image<|media_content|><|media_pad|><|media_end|>"
END = "<|im_end|>"
GENERATION_PROMPT = "<|im_assistant|>assistant<|im_middle|>"

# (is_template, text): template text may hold special tokens; message text never does.
Segment = tuple[bool, str]


def chat_segments(messages: list[dict], add_generation_prompt: bool = True) -> list[Segment]:
    """The template as pieces, so that a tokenizer can keep message text out of special tokens."""
    if not messages:
        raise ValueError("a conversation needs at least one message")
    segments: list[Segment] = []
    if messages[0].get("role") != "system":
        segments.append((True, _header("system") + DEFAULT_SYSTEM + END))
    for i, message in enumerate(messages):
        role = message.get("role")
        if role not in ROLES:
            raise ValueError(f"message {i}: role must be one of {ROLES}, got {role!r}")
        segments.append((True, _header(role)))
        content = message.get("content") or ""
        if isinstance(content, str):
            segments.append((False, content))
        else:
            for j, item in enumerate(content):
                segments.append(_item(item, f"message {i} item {j}"))
        segments.append((True, END))
    if add_generation_prompt:
        segments.append((True, GENERATION_PROMPT))
    return [(t, s) for t, s in segments if s]


def render_chat(messages: list[dict], add_generation_prompt: bool = True) -> str:
    """The prompt string of a conversation (no BOS)."""
    return "".join(text for _, text in chat_segments(messages, add_generation_prompt))


def count_images(messages: list[dict]) -> int:
    """How many image items the conversation holds."""
    return sum(
        1
        for m in messages
        if not isinstance(m.get("content") or "", str)
        for item in m["content"]
        if isinstance(item, dict) and _is_image(item)
    )


def _header(role: str) -> str:
    return f"<|im_{role}|>{role}<|im_middle|>"


def _is_image(item: dict) -> bool:
    return item.get("type") in ("image", "image_url")


def _item(item: dict, where: str) -> Segment:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: content items are dicts, got {type(item).__name__}")
    if _is_image(item):
        return True, IMAGE_ITEM
    if item.get("type") == "text" and isinstance(item.get("text"), str):
        return False, item["text"]
    raise ValueError(f"{where}: expected {{'type': 'text', 'text': str}} or {{'type': 'image'}}, got {item!r}")
