"""The dashboard's pictures (issue 15): every view the browser tests photograph has its picture in
docs/dashboard, and the README shows the dashboard with pictures that exist."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
VIEWS = ("messages", "message-timeline", "dead-letter-queue", "schedules", "queues", "url-groups")
VIEWS += ("workflow-runs", "workflow-run", "send")


def taken_by_the_browser_tests() -> set[str]:
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "browser").glob("test_*.py"))
    return set(re.findall(r'screenshot\(page, "([a-z-]+)"\)', sources))


def test_every_view_is_photographed_by_a_browser_test_and_its_picture_is_in_docs():
    assert set(VIEWS) <= taken_by_the_browser_tests()
    for name in taken_by_the_browser_tests():
        assert (ROOT / "docs" / "dashboard" / f"{name}.png").stat().st_size > 5_000, name


def test_the_readme_shows_the_dashboard_with_pictures_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\((docs/dashboard/[a-z-]+\.png)\)", readme)
    assert len(pictures) >= 5, pictures
    assert all((ROOT / picture).is_file() for picture in pictures)
    assert "Dashboard: http://127.0.0.1:8080/dashboard/#login=" in readme
