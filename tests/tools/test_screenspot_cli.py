"""`kimicua screenspot run|score` as a user runs them: against a loopback
OpenAI-compatible server whose answers are known (so is the accuracy), with the tiny
checkpoint, resumed, and with bad input (one line, exit 2)."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tasks"))  # the hand-made sets
from screenspot_sets import PRO, SCREENSPOT, W, H, write_lines, write_pro, write_screenspot  # noqa: E402

KIMICUA = [str(Path(sys.executable).parent / "kimicua")]
KIMI_PROMPT = "Please observe the screenshot, please locate the following elements with action and point.<instruction> "


def cli(*args, env=None, timeout=300):
    return subprocess.run([*KIMICUA, "screenspot", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def rel(p) -> str:
    return f"pyautogui.click(x={p[0] / W:.4f}, y={p[1] / H:.4f})"


# What the server answers per instruction: the centres of the text samples, one icon's
# outside point, a decline where the element is there, and words without a point.
ANSWERS = {
    "open settings": rel(SCREENSPOT[0][5]),  # mobile text: correct
    "the back arrow": rel(SCREENSPOT[1][6]),  # mobile icon: outside, wrong
    "save the file": f"The save button.\n```python\n{rel(SCREENSPOT[2][5])}\n```",  # desktop text: correct
    "the gear icon": "The gear icon is not present on the screen.",  # desktop icon: a decline, wrong
    "search box": f"◁think▷top middle◁/think▷{rel(SCREENSPOT[4][5])}",  # web text: correct
    "the logo": "somewhere near the top",  # web icon: no point, wrong_format
}


class FakeServer:
    """/v1/models and /v1/chat/completions on loopback; answers by the prompt's instruction.
    ``fail_after`` answers HTTP 400 once that many chats were answered."""

    def __init__(self, fail_after: int | None = None):
        self.chats: list[dict] = []
        self.fail_after = fail_after
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "grounder"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if fake.fail_after is not None and len(fake.chats) >= fake.fail_after:
                    return self._send(400, {"error": {"message": "context too long"}})
                fake.chats.append(body)
                text = next(i["text"] for i in body["messages"][-1]["content"] if i["type"] == "text")
                answer = ANSWERS.get(text.removeprefix(KIMI_PROMPT), "no idea")
                self._send(200, {"id": "c", "object": "chat.completion", "model": "grounder", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def asked(self) -> list[str]:
        return [next(i["text"] for i in c["messages"][-1]["content"] if i["type"] == "text").removeprefix(KIMI_PROMPT)
                for c in self.chats]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    fake = FakeServer()
    yield fake
    fake.close()


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def overall(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())["overall"]["all"]


def test_run_against_a_server_scores_its_known_answers(tmp_path, server):
    write_screenspot(tmp_path / "data", "v2")
    out = tmp_path / "out"
    res = cli("run", "--data", str(tmp_path / "data"), "--format", "v2", "--model", server.url,
              "--batch", "4", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "ScreenSpot-v2 by split" in res.stdout and "50.0% (3/6, wf 1)" in res.stdout
    assert "screenspot_mobile_v2.json: bbox read as [x, y, w, h] in pixels" in res.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["all"] == {"n": 6, "correct": 3, "wrong": 2, "wrong_format": 1, "accuracy": 0.5}
    assert metrics["overall"]["text"]["correct"] == 3 and metrics["overall"]["icon"]["wrong_format"] == 1
    assert metrics["tables"]["split"]["desktop"]["all"]["correct"] == 1
    assert metrics["settings"]["dialect"] == "kimi" and metrics["settings"]["batch"] == 4
    got = {line["instruction"]: line for line in lines(out / "predictions.jsonl")}
    assert got["open settings"]["point"] == pytest.approx(list(SCREENSPOT[0][5]), abs=0.01)
    assert got["the gear icon"]["point"] is None and got["the gear icon"]["declined"] is True
    assert got["the logo"]["point"] is None and "error" in got["the logo"]
    assert got["the logo"]["answer"] == "somewhere near the top" and got["the logo"]["img_filename"] == "w1.png"
    # Each prompt is the model card's, with the screenshot at its native size as a PNG.
    assert sorted(server.asked()) == sorted(ANSWERS)
    url = next(i for i in server.chats[0]["messages"][-1]["content"] if i["type"] == "image_url")["image_url"]["url"]
    png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert png.size == (W, H)


def test_a_run_resumes_where_it_stopped(tmp_path, server):
    write_screenspot(tmp_path / "data", "v2")
    out = tmp_path / "out"
    common = ["--data", str(tmp_path / "data"), "--format", "v2", "--model", server.url, "--out", str(out)]
    first = cli("run", *common, "--limit", "2")
    assert first.returncode == 0, first.stderr
    assert len(server.chats) == 2 and overall(out)["n"] == 2
    second = cli("run", *common)
    assert second.returncode == 0, second.stderr
    assert len(server.chats) == 6 and len(set(server.asked())) == 6  # only the four not yet asked
    assert len(lines(out / "predictions.jsonl")) == 6 and overall(out)["correct"] == 3
    again = cli("run", *common)
    assert again.returncode == 0 and len(server.chats) == 6
    other = cli("run", *common, "--dialect", "uitars")
    assert other.returncode == 2 and other.stdout == ""
    assert other.stderr.count("\n") == 1 and "made with dialect 'kimi', not 'uitars'" in other.stderr


def test_a_cut_off_line_is_dropped_and_asked_again(tmp_path, server):
    write_screenspot(tmp_path / "data", "v2")
    out = tmp_path / "out"
    common = ["--data", str(tmp_path / "data"), "--format", "v2", "--model", server.url, "--out", str(out)]
    assert cli("run", *common, "--limit", "3").returncode == 0
    path = out / "predictions.jsonl"
    path.write_text(path.read_text()[:-20])  # killed mid-write: the last line is torn
    res = cli("run", *common)
    assert res.returncode == 0, res.stderr
    assert len(server.chats) == 3 + 4 and len(lines(path)) == 6 and overall(out)["correct"] == 3


def test_a_server_failing_part_way_keeps_what_was_answered(tmp_path):
    fake = FakeServer(fail_after=2)
    try:
        write_screenspot(tmp_path / "data", "v2")
        out = tmp_path / "out"
        res = cli("run", "--data", str(tmp_path / "data"), "--format", "v2", "--model", fake.url, "--out", str(out))
    finally:
        fake.close()
    assert res.returncode == 1
    assert "HTTP 400" in res.stderr and "2 answer(s) of this run kept" in res.stderr
    assert len(lines(out / "predictions.jsonl")) == 2
    assert overall(out) == {"n": 6, "correct": 1, "wrong": 1, "wrong_format": 4, "accuracy": 1 / 6}


def test_run_with_the_tiny_checkpoint(tmp_path):
    write_pro(tmp_path / "pro")
    out = tmp_path / "out"
    res = cli("run", "--data", str(tmp_path / "pro"), "--format", "pro", "--model", "tiny", "--max-tokens", "4",
              "--limit", "3", "--batch", "2", "--out", str(out), env={"KIMICUA_CACHE": str(tmp_path / "cache")})
    assert res.returncode == 0, res.stderr
    assert "random" in res.stderr  # the tiny notice
    got = lines(out / "predictions.jsonl")
    assert [line["id"] for line in got] == ["photoshop_windows_0", "photoshop_windows_1", "vscode_macos_0"]
    assert all(line["model"] == "tiny" and line["image_size"] == [W, H] and isinstance(line["answer"], str)
               for line in got)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"] == 3 and sum(metrics["overall"]["all"][k] for k in ("correct", "wrong", "wrong_format")) == 3
    assert set(metrics["tables"]) == {"group", "application", "platform"}
    assert "ScreenSpot-Pro by group" in res.stdout and "ScreenSpot-Pro by application" in res.stdout


def test_score_predictions_made_elsewhere_on_the_normalised_mirror(tmp_path):
    write_screenspot(tmp_path, "v2", normalised=True)
    preds = write_lines(tmp_path / "elsewhere" / "preds.jsonl", [
        {"img_filename": s[1], "instruction": s[2], "point": list(s[5] if i % 2 == 0 else s[6])}
        for i, s in enumerate(SCREENSPOT)])
    res = cli("score", "--data", str(tmp_path), "--format", "v2", "--predictions", str(preds))
    assert res.returncode == 0, res.stderr
    assert "bbox read as normalised [x1, y1, x2, y2] (every value <= 1)" in res.stdout
    metrics = json.loads((tmp_path / "elsewhere" / "metrics.json").read_text())  # beside the predictions
    assert metrics["overall"]["all"] == {"n": 6, "correct": 3, "wrong": 3, "wrong_format": 0, "accuracy": 0.5}
    assert metrics["overall"]["text"]["correct"] == 3 and metrics["overall"]["icon"]["wrong"] == 3
    assert any("normalised" in note for note in metrics["notes"])


def test_score_pro_negative_by_id_into_out(tmp_path):
    write_pro(tmp_path)
    preds = write_lines(tmp_path / "p.jsonl", [{"id": PRO[0][1], "point": None, "declined": True},
                                               {"id": PRO[1][1], "point": [1, 1]}])
    res = cli("score", "--data", str(tmp_path), "--format", "pro", "--gt-type", "negative", "--predictions",
              str(preds), "--out", str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr
    assert overall(tmp_path / "m") == {"n": 4, "correct": 1, "wrong": 1, "wrong_format": 2, "accuracy": 0.25}
    assert "2 of 4 sample(s) have no prediction: counted as wrong_format" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "--format", "v2", "--model", "tiny"], "Missing option '--data'"),
    (["run", "--data", "{data}", "--format", "v9", "--model", "tiny"], "unknown --format 'v9'"),
    (["run", "--data", "{data}/empty", "--format", "pro", "--model", "tiny"], "no ScreenSpot-Pro annotation files"),
    (["run", "--data", "{data}", "--format", "pro", "--model", "tiny"],
     "screenspot_desktop_v2.json: item 0: bbox is not [x1, y1, x2, y2]"),  # v2's [x, y, w, h] read as Pro
    (["run", "--data", "{data}", "--format", "v2", "--model", "tiny", "--language", "cn"],
     "--language apply to --format pro only"),
    (["run", "--data", "{data}", "--format", "v2", "--model", "tiny", "--dialect", "computer13"],
     "dialect computer13 has no grounding prompt"),
    (["run", "--data", "{data}", "--format", "v2", "--model", "http://127.0.0.1:9"], "connection refused"),
    (["run", "--data", "{data}/screenspot_web_v2.json", "--format", "osworld-g", "--model", "tiny"],
     "screenspot_web_v2.json: item 0: box_type must be a non-empty string"),
    (["score", "--data", "{data}", "--format", "v2", "--predictions", "{data}/bad.jsonl"], "bad.jsonl: line 2: not a JSON object"),
    (["score", "--data", "{data}", "--format", "v2", "--predictions", "{data}/none.jsonl"], "none.jsonl: no such predictions file"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    write_screenspot(tmp_path, "v2")
    (tmp_path / "empty").mkdir()
    write_lines(tmp_path / "bad.jsonl", [{"img_filename": "m1.png", "instruction": "x", "point": [1, 2]}, "not json"])
    res = cli(*[a.replace("{data}", str(tmp_path)) for a in args], timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert message in res.stderr


def test_batched_runs_answer_as_one_at_a_time(tmp_path):
    # The tiny checkpoint's answers are random but greedy: a batch of 3 (and a last batch of 1)
    # must give each sample the answer it gets alone.
    write_screenspot(tmp_path / "data", "v2")
    env = {"KIMICUA_CACHE": str(tmp_path / "cache")}
    answers = {}
    for batch in (1, 3):
        out = tmp_path / f"b{batch}"
        res = cli("run", "--data", str(tmp_path / "data"), "--format", "v2", "--model", "tiny", "--max-tokens", "6",
                  "--limit", "4", "--batch", str(batch), "--out", str(out), env=env)
        assert res.returncode == 0, res.stderr
        answers[batch] = [(line["instruction"], line["answer"]) for line in lines(out / "predictions.jsonl")]
    assert len(answers[1]) == 4 and answers[3] == answers[1]


def test_the_run_record_claims_a_folder_only_once_it_holds_predictions(tmp_path):
    from kimicua.tools.screenspot import check_run_record

    check_run_record(tmp_path, {"format": "v2", "model": "/ckpt/typo"})  # a run that never asked
    check_run_record(tmp_path, {"format": "v2", "model": "/ckpt/right"})
    assert json.loads((tmp_path / "run.json").read_text())["model"] == "/ckpt/right"
    (tmp_path / "predictions.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"holds predictions made with model '/ckpt/right', not 'other'"):
        check_run_record(tmp_path, {"format": "v2", "model": "other"})
    check_run_record(tmp_path, {"format": "v2", "model": "/ckpt/right"})  # the same settings resume
