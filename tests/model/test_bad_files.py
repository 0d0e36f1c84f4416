"""Bad checkpoint and image files: each gives exactly one line that names the file, and exit
code 2, through `kimicua model generate` and `kimicua run` (never a traceback).

The corpus starts from the tiny checkpoint in the official layout and breaks one file at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from kimicua.tools.cli import app

INDEX = "model.safetensors.index.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "screen.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 100, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(autouse=True)
def no_hub(monkeypatch, tmp_path):
    """Nothing here may reach the network: the hub is switched off, its cache empty."""
    import huggingface_hub.constants as c

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))


# ---------------------------------------------------------------- the corpus

def shard(ck: Path, i: int = 1) -> Path:
    return sorted(ck.glob("model-*.safetensors"))[i]


def edit_json(file: Path, change: Callable[[dict], object]) -> Path:
    data = json.loads(file.read_text())
    change(data)
    file.write_text(json.dumps(data))
    return file


def write(file: Path, data: bytes) -> Path:
    file.write_bytes(data)
    return file


def truncate(file: Path) -> Path:
    return write(file, file.read_bytes()[: file.stat().st_size // 2])


def unlink(file: Path) -> Path:
    file.unlink()
    return file


def point_at_missing_shard(ck: Path) -> Path:
    index = ck / INDEX
    edit_json(index, lambda d: d["weight_map"].update({"language_model.lm_head.weight": "model-00009-of-00009.safetensors"}))
    return ck / "model-00009-of-00009.safetensors"


def move_tensor_to_wrong_shard(ck: Path) -> Path:
    index = ck / INDEX
    wm = json.loads(index.read_text())["weight_map"]
    wrong = next(f for f in sorted(set(wm.values())) if f != wm["language_model.lm_head.weight"])
    return edit_json(index, lambda d: d["weight_map"].update({"language_model.lm_head.weight": wrong}))


def tiktoken_without_byte(ck: Path) -> Path:
    file = ck / "tiktoken.model"
    lines = [line for line in file.read_text().splitlines() if line.split()[0] != "QQ=="]  # b"A"
    ranks = [f"{line.split()[0]} {i}" for i, line in enumerate(lines)]
    return write(file, ("\n".join(ranks) + "\n").encode())


def config_wrong_type(ck: Path) -> Path:
    return edit_json(ck / "config.json", lambda d: d["text_config"].update(hidden_size="64"))


def config_shape_mismatch(ck: Path) -> Path:
    edit_json(ck / "config.json", lambda d: d["text_config"].update(moe_intermediate_size=48))
    return ck  # the first shard holding an expert tensor is named; the directory is in its path


def media_id_mismatch(ck: Path) -> Path:
    return edit_json(ck / "config.json", lambda d: d.update(media_placeholder_token_id=d["text_config"]["bos_token_id"]))


GARBAGE = bytes(range(256)) * 8
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    # name: (break one file of the checkpoint and return what the line must name, the problem)
    "config garbage": (lambda ck: write(ck / "config.json", b"vision_config = 3\n"), "not valid JSON"),
    "config binary": (lambda ck: write(ck / "config.json", GARBAGE), "not JSON (not UTF-8 text)"),
    "config {}": (lambda ck: write(ck / "config.json", b"{}"), "vision_config is missing"),
    "config a list": (lambda ck: write(ck / "config.json", b"[1]"), "expected a JSON object"),
    "config wrong type": (config_wrong_type, 'text_config.hidden_size is "64", expected an integer'),
    "config missing field": (lambda ck: edit_json(ck / "config.json", lambda d: d["vision_config"].pop("patch_size")),
                             "vision_config.patch_size is missing"),
    "config missing": (lambda ck: unlink(ck / "config.json"), "no such file"),
    "config shapes differ from shards": (config_shape_mismatch, "config.json gives"),
    "config media id not the tokenizer's": (media_id_mismatch, "is not the tokenizer's <|media_pad|>"),
    "shard truncated": (lambda ck: truncate(shard(ck)), "not a readable safetensors file"),
    "shard zero bytes": (lambda ck: write(shard(ck), b""), "not a readable safetensors file"),
    "shard garbage": (lambda ck: write(shard(ck), GARBAGE), "not a readable safetensors file"),
    "shard missing": (lambda ck: unlink(shard(ck, 2)), "no such shard file"),
    "index garbage": (lambda ck: write(ck / INDEX, b'{"weight_map": {'), "not valid JSON"),
    "index without weight_map": (lambda ck: write(ck / INDEX, b'{"metadata": {}}'), "no weight_map object"),
    "index names a missing shard": (point_at_missing_shard, "no such shard file"),
    "index puts a tensor in the wrong shard": (move_tensor_to_wrong_shard, "which does not hold it"),
    "index points outside the directory": (
        lambda ck: edit_json(ck / INDEX, lambda d: d["weight_map"].update({"language_model.lm_head.weight": "../x"})),
        "not a file name"),
    "no index and no model.safetensors": (lambda ck: unlink(ck / INDEX).parent, "no model.safetensors.index.json or"),
    "tiktoken.model garbage": (lambda ck: write(ck / "tiktoken.model", GARBAGE), "corrupt tokenizer ranks file"),
    "tiktoken.model empty": (lambda ck: write(ck / "tiktoken.model", b""), "empty tokenizer ranks file"),
    "tiktoken.model missing": (lambda ck: unlink(ck / "tiktoken.model"), "no such file"),
    "tiktoken.model lacks a byte": (tiktoken_without_byte, "single bytes have no rank"),
    "tokenizer_config garbage": (lambda ck: write(ck / "tokenizer_config.json", GARBAGE[:300]), "not JSON"),
    "tokenizer_config bad decoder": (
        lambda ck: edit_json(ck / "tokenizer_config.json", lambda d: d.update(added_tokens_decoder=[1])),
        "added_tokens_decoder is not an object"),
    "tokenizer_config lacks chat specials": (
        lambda ck: edit_json(ck / "tokenizer_config.json", lambda d: d.update(added_tokens_decoder={})),
        "added_tokens_decoder lacks [EOS], <|im_end|>, <|im_user|>"),
    "preprocessor garbage": (lambda ck: write(ck / "preprocessor_config.json", b"patch_size: 14"), "not valid JSON"),
    "preprocessor wrong type": (
        lambda ck: edit_json(ck / "preprocessor_config.json", lambda d: d.update(patch_size="14")),
        'patch_size is "14", expected an integer'),
    "preprocessor missing": (lambda ck: unlink(ck / "preprocessor_config.json"), "no such file"),
}


@pytest.fixture(params=sorted(CASES), ids=lambda name: name.replace(" ", "-"))
def broken(request, tiny, tmp_path) -> tuple[Path, str, str]:
    """(checkpoint dir, the path the line must name, the problem it must state)."""
    ck = shutil.copytree(tiny, tmp_path / "ck")
    breaker, problem = CASES[request.param]
    return ck, str(breaker(ck)), problem


def assert_one_line_error(res, named: str, problem: str) -> str:
    """Exit 2, no exception escaped, exactly one line, naming the file and the problem."""
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    assert len(lines) == 1, res.output
    assert named in lines[0] and problem in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------- model generate

def test_generate_reports_a_bad_checkpoint_in_one_line(broken, image):
    ck, named, problem = broken
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(ck), "--image", str(image), "--prompt", "x"])
    line = assert_one_line_error(res, named, problem)
    assert line.startswith("error: ")


def test_generation_config_is_not_read(tiny, image, tmp_path):
    """Kimi-VL's generation_config.json only suggests sampling settings; a garbage one is ignored."""
    ck = shutil.copytree(tiny, tmp_path / "ck")
    write(ck / "generation_config.json", GARBAGE)
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(ck), "--image", str(image), "--prompt", "x",
                              "--max-new-tokens", "1"])
    assert res.exit_code == 0, res.output


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height and holds no pixel data (what a decompression bomb looks like)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def truncated_png(path: Path) -> bytes:
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    return path.read_bytes()[:400]


IMAGES: dict[str, tuple[Callable[[Path], bytes | None], str]] = {
    "missing": (lambda p: None, "no such image file"),
    "zero bytes": (lambda p: b"", "not an image file Pillow can read"),
    "garbage": (lambda p: GARBAGE, "not an image file Pillow can read"),
    "bomb 200000x200000": (lambda p: png_header(200_000, 200_000), "image too large to decode"),
    "over the pixel limit": (lambda p: png_header(12_000, 12_000), "image too large to decode"),
    "truncated png": (truncated_png, "cannot read the image"),
}


@pytest.mark.parametrize("case", sorted(IMAGES), ids=lambda name: name.replace(" ", "-"))
def test_generate_reports_a_bad_image_in_one_line(case, tiny, tmp_path):
    path = tmp_path / "shot.png"
    make, problem = IMAGES[case]
    data = make(path)
    if data is not None:
        path.write_bytes(data)
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(tiny), "--image", str(path), "--prompt", "x"])
    assert_one_line_error(res, str(path), problem)


def test_generate_reports_an_image_the_processor_cannot_use(tiny, tmp_path):
    path = tmp_path / "sliver.png"
    Image.new("RGB", (40_000, 14)).save(path)  # resized to a row of patches far wider than 512
    res = runner.invoke(app, ["model", "generate", "--checkpoint", str(tiny), "--image", str(path), "--prompt", "x"])
    assert_one_line_error(res, str(path), "a side of 512 patches or more is not supported")


@pytest.mark.parametrize("given", ["./no-such-ckpt", "runs/ckpts/tiny", "~/no-such-kimicua-ckpt", "/no/such/ckpt"])
def test_generate_never_sends_a_path_to_the_hub(given, image, tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: pytest.fail("sent to the hub"))
    res = runner.invoke(app, ["model", "generate", "--checkpoint", given, "--image", str(image), "--prompt", "x"])
    assert_one_line_error(res, str(Path(given).expanduser()), "no such checkpoint directory")


def test_generate_an_ambiguous_name_goes_to_the_hub_and_says_so(image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `ckpts/tiny` could be a hub id: it is looked up, offline here
    res = runner.invoke(app, ["model", "generate", "--checkpoint", "ckpts/tiny", "--image", str(image), "--prompt", "x"])
    assert_one_line_error(res, "ckpts/tiny: no local directory of that name", "HF_HUB_OFFLINE")


# ---------------------------------------------------------------- kimicua run

def test_run_reports_a_bad_checkpoint_before_any_display(broken, tmp_path, monkeypatch):
    """The model loads before the first env: a bad file ends the run with its line, exit 2."""
    ck, named, problem = broken
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr("kimicua.tools.runner.episodes.make_env", lambda *a, **k: pytest.fail("an env was started"))
    res = runner.invoke(app, ["run", "all", "--model", str(ck), "--results", str(tmp_path / "runs")])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == 2 and "Traceback" not in res.output
    # the run CLI prints through rich, which wraps at the console width (see test_run_error_fits_one_line)
    text = res.output.replace("\n", "")
    assert text.startswith("error: ") and named in text and problem.replace(" ", "") in text.replace(" ", "")
    assert not (tmp_path / "runs").exists()


def test_run_reports_a_path_only_model_as_a_missing_directory(tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: pytest.fail("sent to the hub"))
    res = runner.invoke(app, ["run", "all", "--model", "./ckpt"])
    assert res.exit_code == 2 and res.output.startswith("error: ckpt: no such checkpoint directory"), res.output


# ---------------------------------------------------------------- the real console script

def kimicua(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(cwd / "hf")}
    env.pop("COLUMNS", None)
    code = "import sys; from kimicua.tools.cli import main; sys.argv[0] = 'kimicua'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


def test_generate_line_on_stderr_from_the_console_script(tiny, image, tmp_path):
    ck = shutil.copytree(tiny, tmp_path / "a-checkpoint-directory-with-a-rather-long-name-to-show-no-wrapping")
    truncate(shard(ck))
    out = kimicua("model", "generate", "--checkpoint", str(ck), "--image", str(image), "--prompt", "x", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"error: {shard(ck)}: not a readable safetensors file (")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_run_error_fits_one_line(tiny, tmp_path):
    ck = shutil.copytree(tiny, tmp_path / "a-checkpoint-directory-with-a-rather-long-name-to-show-no-wrapping")
    write(ck / "config.json", b"{}")
    out = kimicua("run", "all", "--model", str(ck), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stdout + out.stderr
    lines = (out.stdout + out.stderr).splitlines()
    assert lines == [f"error: {ck / 'config.json'}: not a usable Kimi-VL config: vision_config is missing"]
