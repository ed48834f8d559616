"""The result model and its writers, on a report made by hand (no machine)."""

import json

import pytest

from emu.errors import UsageError
from emu.labs.config import parse_config
from emu.labs.results import GradeReport, Image, TestResult
from emu.labs import writers


def report(gradable: bool = True) -> GradeReport:
    r = GradeReport("memmap", "The memory map", "a1b2c3d4", "student ada", 30)
    r.tests = [TestResult("alloc", "allocate", "model", 10, 10),
               TestResult("free", "release", "model", 0, 12, "returned 0, expected 3",
                          "map picture", repro="emu1.abc"),
               TestResult("secret", "hidden one", "hidden", 0, 8, "wrong", "details",
                          visibility="hidden",
                          images=[Image("heap", "image/svg+xml", b"<svg/>")])]
    if not gradable:
        r.gradable, r.format_errors = False, ["walk.asm:3: unknown instruction: mvo"]
    return r


def test_text_report_reads_like_gradelib():
    lines = writers.text_report(report())
    assert lines[0] == "== memmap: The memory map (student ada, variant a1b2c3d4) =="
    assert lines[1].startswith("allocate ....") and lines[1].endswith("OK    10/10")
    assert "FAIL" in lines[2] and lines[3] == "    returned 0, expected 3"
    assert "    reopen it in the debugger: emu lab repro emu1.abc" in lines
    assert lines[-1] == "Score: 10/30"


def test_gradescope_fields_and_hidden_visibility():
    out = writers.gradescope(report(), "after_published")
    assert out["score"] == 10 and out["stdout_visibility"] == "hidden"
    assert [t["visibility"] for t in out["tests"]] == ["visible", "visible", "after_published"]
    assert [t["number"] for t in out["tests"]] == ["1", "2", "3"]
    assert out["tests"][1]["extra_data"] == {"id": "free", "repro": "emu1.abc"}
    assert json.loads(json.dumps(out)) == out


def test_gradescope_of_a_submission_that_does_not_build():
    out = writers.gradescope(report(gradable=False))
    assert out["score"] == 0 and "mvo" in out["output"] and out["tests"] == []


def test_prairielearn_score_fraction_images_and_secret_tests():
    out = writers.prairielearn(report())
    assert out["gradable"] is True and out["score"] == pytest.approx(10 / 30)
    secret = out["tests"][2]
    assert secret["message"] == writers.HIDDEN_UNTIL_RELEASE and secret["output"] == ""
    revealed = writers.prairielearn(report(), reveal_hidden=True)["tests"][2]
    assert revealed["images"] == [{"label": "heap", "url": "data:image/svg+xml;base64,PHN2Zy8+"}]


def test_prairielearn_not_gradable_charges_no_attempt():
    out = writers.prairielearn(report(gradable=False))
    assert out["gradable"] is False and "score" not in out
    assert out["format_errors"] == ["walk.asm:3: unknown instruction: mvo"]


def test_autolab_last_line_is_the_autoresult():
    lines = writers.autolab(report())
    result = json.loads(lines[-1])
    assert result == {"scores": {"model": 10, "hidden": 0}, "scoreboard": [10, 10, 0]}


def test_lab_toml_mistakes_are_one_line_usage_errors():
    good = {"lab": {"name": "x", "kind": "memmap", "title": "t", "hours": "1"},
            "tests": [{"name": "a", "title": "A", "points": 5}]}
    assert parse_config(good, "lab.toml").max_points == 5
    for broken, words in (({**good, "tests": []}, "at least one"),
                          ({**good, "tests": good["tests"] * 2}, "used twice"),
                          ({**good, "tests": [{"name": "a", "title": "A", "points": 0}]},
                           "at least 1"),
                          ({**good, "tests": [{"name": "a", "title": "A", "points": 1,
                                               "visibility": "secret"}]}, "visibility")):
        with pytest.raises(UsageError, match=words):
            parse_config(broken, "lab.toml")


def test_releasing_hidden_tests_shows_them_on_every_platform(monkeypatch):
    from emu.labs.platforms import render
    monkeypatch.delenv("EMU_LAB_RELEASE_HIDDEN", raising=False)
    before = json.loads(render(report(), "prairielearn", {}, True))["tests"][2]
    assert before["message"] == writers.HIDDEN_UNTIL_RELEASE
    gradescope = json.loads(render(report(), "gradescope", {}, True))["tests"][2]
    assert gradescope["visibility"] == "after_due_date"
    monkeypatch.setenv("EMU_LAB_RELEASE_HIDDEN", "1")
    assert json.loads(render(report(), "prairielearn", {}, True))["tests"][2]["message"] == "wrong"
    assert json.loads(render(report(), "gradescope", {}, True))["tests"][2]["visibility"] == "visible"
    monkeypatch.delenv("EMU_LAB_RELEASE_HIDDEN")
    released = json.loads(render(report(), "prairielearn", {"release_hidden": True}, True))
    assert released["tests"][2]["output"] == "details"


def test_a_leaderboard_goes_to_gradescope_and_to_autolabs_scoreboard():
    from emu.labs.results import Standing
    r = report()
    r.leaderboard = [Standing("util %", 91.5), Standing("insns/op", 120, "asc")]
    assert writers.gradescope(r)["leaderboard"] == [
        {"name": "util %", "value": 91.5, "order": "desc"},
        {"name": "insns/op", "value": 120, "order": "asc"}]
    assert json.loads(writers.autolab(r)[-1])["scoreboard"] == [10, 10, 0, 91.5, 120]
    assert "leaderboard" not in writers.gradescope(report())


def test_autolab_feedback_holds_back_hidden_details_until_released():
    held = writers.autolab(report())
    assert "    wrong" not in held and "    details" not in held
    assert f"    {writers.HIDDEN_UNTIL_RELEASE}" in held
    assert "    returned 0, expected 3" in held                 # public details stay
    assert "    details" in writers.autolab(report(), reveal_hidden=True)
