"""``xstress view`` as a user runs it: --static writes the page (blinded too), the default
serves it on 127.0.0.1 until Ctrl-C, the newest run is found when none is given, bad input is
one line with exit code 2, litellm is never imported; and the report's links point at the page
``xstress run`` writes beside it, with filters the page knows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.rundir import RunDir
from harness.testing.rundirs import scored_run
from harness.view import build_view_data
from tests.conftest import Ran, cli_env


def _embedded(page: str) -> dict[str, object]:
    match = re.search(r'id="view-data">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    data = json.loads(match.group(1))
    assert isinstance(data, dict)
    return data


def test_static_writes_the_page_and_blind_writes_the_blinded_one(
        offline_run: Path, tmp_path: Path, xstress: Callable[..., Ran]) -> None:
    out = tmp_path / "mine.html"
    ran = xstress("view", str(offline_run), "--static", f"out={out}")
    assert ran.code == 0, ran.err
    assert str(out) in ran.err
    assert len(_embedded(out.read_text())["cells"]) == len(  # type: ignore[arg-type]
        build_view_data(RunDir(offline_run)).cells)
    run = tmp_path / "run"
    shutil.copytree(offline_run, run)
    ran = xstress("view", str(run), "--blind", "--static")
    assert ran.code == 0, ran.err
    blinded = _embedded((run / "view.blind.html").read_text())
    assert blinded["blind"] is True and blinded["run_id"] is None


def test_without_a_run_dir_the_newest_under_transcripts_is_shown(
        offline_run: Path, tmp_path: Path, xstress: Callable[..., Ran],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ran = xstress("view", "--static")
    assert ran.code == 2 and "none under transcripts/" in ran.err
    for name, age in (("older", 1000), ("newer", 0)):
        shutil.copytree(offline_run, tmp_path / "transcripts" / name)
        stamp = (tmp_path / "transcripts" / name).stat().st_mtime - age
        os.utime(tmp_path / "transcripts" / name, (stamp, stamp))
    ran = xstress("view", "--static")
    assert ran.code == 0, ran.err
    assert "transcripts/newer/view.html" in ran.err


@pytest.mark.parametrize(("args", "message"), [
    (("view", "/no/such/run", "--static"), "run directory not found"),
    (("view", "RUN", "out=x.html"), "out= is for --static"),
    (("view", "RUN", "port=70000"), "port"),
    (("view", "RUN", "--static", "--open"), "unknown option"),
])
def test_bad_input_is_one_line_and_exit_code_2(
        offline_run: Path, xstress: Callable[..., Ran], args: tuple[str, ...],
        message: str) -> None:
    ran = xstress(*(str(offline_run) if a == "RUN" else a for a in args))
    assert ran.code == 2
    assert message in ran.err and "Traceback" not in ran.err
    assert len(ran.err.strip().splitlines()) == 1


@pytest.mark.slow
def test_serves_on_localhost_until_ctrl_c_without_litellm(offline_run: Path,
                                                          tmp_path: Path) -> None:
    probe = ("import sys; from harness.cli import main; code = main(sys.argv[1:]);\n"
             "assert 'litellm' not in sys.modules, 'view imported litellm'; sys.exit(code)")
    process = subprocess.Popen(
        [sys.executable, "-c", probe, "view", str(offline_run), "port=0"], cwd=tmp_path,
        env=cli_env(), stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "no URL printed"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            page = response.read().decode("utf-8")
        assert _embedded(page)["run_id"] == offline_run.name
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "blind/key.jsonl", timeout=10)
        assert missing.value.code == 404
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=20) == 0, rest
        assert "stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_report_links_point_at_the_page_with_filters_it_knows(offline_run: Path) -> None:
    data = build_view_data(RunDir(offline_run))
    known = {
        "model": {c.model for c in data.cells}, "scaffold": {c.scaffold for c in data.cells},
        "dimension": {d.id for d in data.dimensions},
    }
    markdown = (offline_run / "report" / "report.md").read_text()
    links = re.findall(r"\]\((\.\./view\.html#[^)]*)\)", markdown)
    models, dimensions, scaffolds = (len(known[k]) for k in ("model", "dimension", "scaffold"))
    # one per profile cell, one per effect cell, one per finding
    assert len(links) >= models * dimensions * (2 * scaffolds - 1)
    assert (offline_run / "report" / links[0].split("#")[0]).resolve() == (
        offline_run / "view.html").resolve()
    for link in links:
        for part in link.split("#")[1].split("&"):
            key, _, values = part.partition("=")
            assert key in known and set(values.split(",")) <= known[key], link
    html = (offline_run / "report" / "report.html").read_text()
    assert html.count('<a href="../view.html#') == len(links)


def test_the_report_writes_the_page_unless_the_run_is_too_big(
        tmp_path: Path, xstress: Callable[..., Ran], monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.pipeline

    run = scored_run(tmp_path, n_prompts=3, replicates=1)
    cells = len(build_view_data(RunDir(run)).cells)
    monkeypatch.setattr(harness.pipeline, "VIEW_MAX_CELLS", cells - 1)
    ran = xstress("report", str(run), "n_perm=20")
    assert ran.code == 0, ran.err
    assert f"Run browser not written ({cells} cells" in ran.err
    assert not (run / "view.html").exists()
    monkeypatch.setattr(harness.pipeline, "VIEW_MAX_CELLS", cells)
    ran = xstress("report", str(run), "n_perm=20")
    assert ran.code == 0, ran.err
    assert f"Run browser: {run / 'view.html'}" in ran.err
    assert len(_embedded((run / "view.html").read_text())["cells"]) == cells  # type: ignore[arg-type]
