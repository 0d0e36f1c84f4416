"""A chat request's messages -> the processor's messages and images.

Images come as `image_url` items holding:
- a data URL (`data:image/png;base64,...`): always accepted;
- a local file (`file:///abs/path.png` or `/abs/path.png`): only when the server was started
  with `--allowed-local-media-path DIR`, and only files inside DIR (symlinks resolved first). A path
  lets a client make the server read its files, so by default none may be read; a folder the
  operator names (say the folder ScreenSpot's images are in) bounds what a client can reach;
- an http(s) URL: refused. Fetching would make the server request any address a client names
  (hosts only the server can reach included), and screenshots are at hand as data anyway.
"""

from __future__ import annotations

import base64
import binascii
import io
import urllib.parse
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from kimicua.tools.serve.protocol import ApiError, ChatRequest, ImagePart


def to_messages(request: ChatRequest, media_dir: Path | None,
                max_image_bytes: int) -> tuple[list[dict], list[Image.Image]]:
    """The processor's messages (OpenAI's 'developer' role read as 'system') and the images of
    their image items, in order. ApiError(400) naming the item for an image that cannot be used."""
    messages, images = [], []
    for i, message in enumerate(request.messages):
        role = "system" if message.role == "developer" else message.role
        content = message.content
        if isinstance(content, list):
            items = []
            for j, part in enumerate(content):
                if isinstance(part, ImagePart):
                    where = f"messages[{i}].content[{j}]"
                    images.append(load_image_url(part.image_url.url, where, media_dir, max_image_bytes))
                    items.append({"type": "image"})
                else:
                    items.append({"type": "text", "text": part.text})
            content = items
        messages.append({"role": role, "content": content or ""})
    return messages, images


def load_image_url(url: str, where: str, media_dir: Path | None, max_bytes: int) -> Image.Image:
    """The RGB image an image_url names (see the module docstring for what is accepted)."""
    if url.startswith("data:"):
        return _open(_data_url_bytes(url, where, max_bytes), where)
    if url.startswith(("http://", "https://")):
        raise ApiError(400, f"{where}: image URLs are not fetched; send the image as a data URL "
                            "(data:image/png;base64,...)", param="messages")
    if url.startswith("file:"):
        parsed = urllib.parse.urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise ApiError(400, f"{where}: a file URL must name a file on this machine, got host {parsed.netloc!r}",
                           param="messages")
        path = urllib.parse.unquote(parsed.path)
    elif url.startswith("/"):
        path = url
    else:
        raise ApiError(400, f"{where}: image_url must be a data URL, a file:// URL or an absolute path, "
                            f"got {url[:40]!r}", param="messages")
    return _open(_allowed_file(path, where, media_dir), where)


def _data_url_bytes(url: str, where: str, max_bytes: int) -> bytes:
    head, sep, data = url.partition(",")
    if not sep or not head.endswith(";base64") or not head[5:].startswith("image/"):
        raise ApiError(400, f"{where}: expected a base64 image data URL (data:image/...;base64,...), "
                            f"got {head[:40]!r}", param="messages")
    if len(data) * 3 // 4 > max_bytes:
        raise ApiError(413, f"{where}: image of about {len(data) * 3 // 4} bytes exceeds the {max_bytes}-byte limit",
                       param="messages")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{where}: the data URL is not valid base64", param="messages") from None


def _allowed_file(path: str, where: str, media_dir: Path | None) -> Path:
    if media_dir is None:
        raise ApiError(400, f"{where}: local image files are not allowed (the server reads files only under "
                            "--allowed-local-media-path DIR); send the image as a data URL", param="messages")
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(media_dir.resolve()):
        raise ApiError(400, f"{where}: {path} is outside the allowed folder {media_dir}", param="messages")
    if not resolved.is_file():
        raise ApiError(400, f"{where}: no such image file {path}", param="messages")
    return resolved


def _open(source: bytes | Path, where: str) -> Image.Image:
    """Decode fully to RGB; a file or bytes Pillow cannot read, or a decompression bomb, is a 400."""
    try:
        with warnings.catch_warnings():
            # past MAX_IMAGE_PIXELS Pillow only warns (an error past twice that): refuse both
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
                return im.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(400, f"{where}: image too large to decode", param="messages") from None
    except UnidentifiedImageError:
        raise ApiError(400, f"{where}: not an image Pillow can read", param="messages") from None
    except OSError as e:  # truncated data, no permission
        raise ApiError(400, f"{where}: cannot read the image ({e.strerror or e})", param="messages") from None
