"""One VM per worker: claims on --vm URLs are exclusive between processes and end with
the process that held them."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from kimicua.env import EnvError
from kimicua.env.osworld_vm.claim import claim_vm

HOLD = ("import sys, time; from kimicua.env.osworld_vm.claim import claim_vm; "
        "print(claim_vm(sys.argv[1:]).url, flush=True); time.sleep(60)")


def test_each_process_gets_another_vm_and_a_dead_ones_vm_is_free_again():
    urls = [f"http://{uuid.uuid4().hex[:8]}.test:5000", f"http://{uuid.uuid4().hex[:8]}.test:5000"]
    mine = claim_vm(urls)
    other = subprocess.Popen([sys.executable, "-c", HOLD, *urls], stdout=subprocess.PIPE, text=True)
    try:
        assert mine.url == urls[0] and other.stdout.readline().strip() == urls[1]
        third = subprocess.run([sys.executable, "-c", HOLD, *urls], capture_output=True, text=True, timeout=60)
        assert third.returncode != 0 and "every VM given with --vm (2) is in use" in third.stderr
    finally:
        other.kill()
        other.wait()
    again = claim_vm(urls[1:])  # the killed worker's VM
    assert again.url == urls[1]
    again.release()
    mine.release()
    last = claim_vm(urls)
    assert last.url == urls[0]
    last.release()


def test_the_same_vm_written_two_ways_is_one_claim():
    host = uuid.uuid4().hex[:8] + ".test"
    held = claim_vm([f"{host}:5000"])
    with pytest.raises(EnvError, match="in use"):
        claim_vm([f"http://{host}:5000/"])
    held.release()
