"""``cfilter bench`` says how busy the machine is, and warns when it is busy.

The load average and CPU count are faked (``os.getloadavg``,
``os.cpu_count``) and the two timing tables stubbed out, so these tests
time nothing.
"""
import os

import pytest

from cfilter import _bench


@pytest.fixture
def no_timing(monkeypatch):
    monkeypatch.setattr(_bench, "direct", lambda size, quick: "DIRECT")
    monkeypatch.setattr(_bench, "filters", lambda size, quick: "FILTERS")


def _run(monkeypatch, load, cpus):
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    if load is None:
        monkeypatch.delattr(os, "getloadavg", raising=False)
    else:
        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    out, warn = [], []
    _bench.run(64, True, out=out.append, warn=warn.append)
    return "\n".join(out), "\n".join(warn)


@pytest.mark.parametrize("load, cpus, busy", [
    (0.2, 2, False), (1.0, 2, False), (1.01, 2, True), (3.5, 2, True),
    (3.5, 8, False), (4.5, 8, True)])
def test_load_average_printed_and_busy_warned(no_timing, monkeypatch, load,
                                              cpus, busy):
    out, warn = _run(monkeypatch, load, cpus)
    first = out.splitlines()[0]
    assert f"load average {load:.2f}" in first and f"{cpus} CPUs" in first
    assert "DIRECT" in out and "FILTERS" in out       # the tables still run
    if busy:
        assert "busy" in warn and f"{load:.2f}" in warn
    else:
        assert warn == ""


def test_no_load_average_on_the_platform(no_timing, monkeypatch):
    out, warn = _run(monkeypatch, None, 4)
    assert "load average not available" in out and warn == ""


def test_warning_goes_to_out_without_warn(no_timing, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    out = []
    _bench.run(64, True, out=out.append)
    assert any(line.startswith("warning: this machine is busy")
               for line in out)
