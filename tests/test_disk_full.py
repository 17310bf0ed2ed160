"""A real full disk during a rebuild: the old index stays usable and nothing is set aside.

The disk is a small tmpfs in a private mount namespace (``unshare``), so the test
needs no host set-up and leaves nothing mounted. ``tests/disk_full.py`` runs the
scenario inside it and reports what happened.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shipped_entries

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# Free bytes left once the disk fills midway through the rebuild: none at all, and a
# little (enough for SQLite to read and to drop the half-built collection).
LEAVE = (0, 64 * 1024)


def _private_mounts_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    if not _private_mounts_work():
        if os.environ.get("CI"):
            pytest.fail("CI must be able to make a private mount (unshare -Urm)")
        pytest.skip("this machine does not allow private mounts (unshare -Urm)")
    mount = tmp_path_factory.mktemp("disk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    script = (
        'mount -t tmpfs -o size=16m tmpfs "$0" && python="$1" && shift'
        ' && exec "$python" -m tests.disk_full "$0" "$@"'
    )
    done = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, str(mount), sys.executable]
        + [str(leave) for leave in LEAVE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {item["leave"]: item for item in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.parametrize("leave", LEAVE)
def test_a_rebuild_that_fills_the_disk_fails_clearly(
    outcomes: dict[int, dict[str, Any]], leave: int
) -> None:
    outcome = outcomes[leave]
    assert outcome["before"] == [4]
    assert "building the index failed" in outcome["rebuild"]
    assert "disk is full" in outcome["rebuild"] or "compaction" in outcome["rebuild"]
    assert "the previous index is unchanged" in outcome["rebuild"]


@pytest.mark.parametrize("leave", LEAVE)
def test_the_running_service_keeps_answering_from_the_old_index(
    outcomes: dict[int, dict[str, Any]], leave: int
) -> None:
    outcome = outcomes[leave]
    assert outcome["serving_during_full_disk"] == [4]
    assert outcome["serving_after_freeing"] == [4]


@pytest.mark.parametrize("leave", LEAVE)
def test_a_new_process_answers_or_says_the_disk_is_full(
    outcomes: dict[int, dict[str, Any]], leave: int
) -> None:
    asked = outcomes[leave]["new_process_during_full_disk"]
    assert "Traceback" not in asked["stderr"]
    if asked["rc"] == 0:
        assert "[§4]" in asked["stdout"]
    else:
        # Chroma writes when it opens a store, which a disk with no byte free refuses.
        assert "disk is full" in asked["stderr"]
        assert "the index was left as it is" in asked["stderr"]
    if leave > 0:
        assert asked["rc"] == 0, asked["stderr"]


@pytest.mark.parametrize("leave", LEAVE)
def test_a_rebuild_on_a_nearly_full_disk_is_refused_before_writing(
    outcomes: dict[int, dict[str, Any]], leave: int
) -> None:
    preflight = outcomes[leave]["preflight"]
    assert preflight["rc"] == 1
    assert "Traceback" not in preflight["stderr"]
    if leave > 0:
        assert "not enough free space" in preflight["stderr"]
        assert "the previous index is unchanged" in preflight["stderr"]


@pytest.mark.parametrize("leave", LEAVE)
def test_once_space_is_free_the_old_index_is_whole_and_nothing_was_set_aside(
    outcomes: dict[int, dict[str, Any]], leave: int
) -> None:
    outcome = outcomes[leave]
    assert outcome["index_after_freeing"]["rc"] == 0
    up_to_date = f"index up to date: {shipped_entries()} entries"
    assert up_to_date in outcome["index_after_freeing"]["stdout"]
    assert "[§4]" in outcome["new_process_after_freeing"]["stdout"]
    assert outcome["set_aside"] == []
