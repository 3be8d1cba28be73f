"""Walk the demo (200 extra trainees) as a stranger and as every demo role, as people do: every link and GET
form on the site's own pages. No 5xx, no broken link, no English in the Vietnamese UI, no file that is not
what it says, and no JavaScript error on the pages opened in Chromium at a phone's size."""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.crawl import EnglishDetector, browser_errors, crawl, log_in, parse_page

pytestmark = pytest.mark.e2e

#: Who walks (CRAWL_ROLES=organizer,admin walks as those only).
ROLES = os.environ.get("CRAWL_ROLES", "anonymous,trainee,instructor,organizer,admin").split(",")
#: URLs per route pattern: /users/17, /users/18, /users/19 and no more (override: CRAWL_PER_PATTERN).
PER_PATTERN = int(os.environ.get("CRAWL_PER_PATTERN", "3"))
#: The home page, and the address printed on every paper certificate (a stranger types it from there).
START = ("/", "/verify")
MAX_PAGES = int(os.environ.get("CRAWL_MAX_PAGES", "1500"))
#: A screen each role reaches only if the crawl really walked as that role.
LANDMARKS = {
    "anonymous": ["/login", "/register", "/verify"],
    "trainee": ["/learn", "/my/attendance", "/my/certificates", "/notifications"],
    "instructor": ["/courses/manage", "/sessions/<n>", "/sessions/<n>/roll-call", "/review"],
    "organizer": ["/cohorts", "/cohorts/<code>", "/cohorts/<code>/import"],
    "admin": ["/users", "/users/<n>", "/cohorts/<code>"],
}


def _listing(findings, limit=40) -> str:
    lines = [f"  {f}" for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"  … and {len(findings) - limit} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def crawls(demo_site):
    """Crawl as every role at once (one session each); return role → (requests session, CrawlReport)."""
    detector = EnglishDetector.from_catalogue()

    def walk(role):
        session = requests.Session()
        if role != "anonymous":
            log_in(session, demo_site.base_url, demo_site.accounts[role], demo_site.password)
        return role, (session, crawl(session, demo_site.base_url, role, detector, start=START,
                                     max_pages=MAX_PAGES, per_pattern=PER_PATTERN))

    with ThreadPoolExecutor(len(ROLES)) as pool:
        results = dict(pool.map(walk, ROLES))
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {role: {"summary": report.summary(),
                      "server_errors": [str(f) for f in report.server_errors],
                      "broken_links": [str(f) for f in report.broken_links],
                      "english": [str(f) for f in report.english],
                      "bad_downloads": [str(f) for f in report.bad_downloads]}
               for role, (_, report) in results.items()}
    (ARTIFACTS / "crawl-report.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    for _, report in results.values():
        print(report.summary())
    return results


@pytest.mark.parametrize("role", ROLES)
def test_the_crawl_walks_each_role_s_screens(crawls, role):
    _, report = crawls[role]
    reached = set(report.patterns)
    missing = [p for p in LANDMARKS[role] if p not in reached]
    assert not missing, f"{report.summary()}\nnever reached: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_no_page_answers_a_server_error(crawls, role, demo_site):
    _, report = crawls[role]
    assert not report.server_errors, (f"{report.summary()}\n{_listing(report.server_errors)}\n"
                                      f"exceptions in the server log:\n{demo_site.server_errors()}")


@pytest.mark.parametrize("role", ROLES)
def test_no_link_the_site_prints_is_broken(crawls, role):
    _, report = crawls[role]
    assert not report.broken_links, f"{report.summary()}\n{_listing(report.broken_links)}"


@pytest.mark.parametrize("role", ROLES)
def test_no_english_in_the_vietnamese_ui(crawls, role):
    _, report = crawls[role]
    assert not report.english, f"{report.summary()}\n{_listing(report.english)}"


@pytest.mark.parametrize("role", ROLES)
def test_downloads_are_the_files_they_claim(crawls, role):
    _, report = crawls[role]
    assert not report.bad_downloads, f"{report.summary()}\n{_listing(report.bad_downloads)}"


@pytest.mark.parametrize("role", ROLES)
def test_pages_open_in_chromium_without_errors(crawls, role, browser, demo_site):
    """The first page of every screen with each set of scripts it loads, at 390×844 in Vietnamese, with the
    crawl's login cookies.

    Every route pattern was fetched over HTTP; in the browser, pages of one screen that load the same
    scripts (a lesson of the same kind in another course) behave alike, so one of them stands for all.
    """
    session, report = crawls[role]
    from tests.conftest import PHONE

    context = browser.new_context(**PHONE, locale="vi-VN")
    try:
        context.add_cookies([{"name": c.name, "value": c.value, "url": demo_site.base_url} for c in session.cookies])
        urls = list(report.browser_sample.values())
        findings = browser_errors(context, urls, demo_site.base_url)
    finally:
        context.close()
    assert urls
    assert not findings, f"{len(urls)} pages opened as {role}\n{_listing(findings)}"



def test_the_english_detector_sees_the_english_ui(demo_site):
    """The same detector on the same site switched to English finds English: it is not blind."""
    session = requests.Session()
    home = session.get(demo_site.base_url + "/", timeout=30)
    switch = next(f for f in parse_page(home.text).forms if "/language/en" in f.action)
    session.post(urljoin(home.url, switch.action), data=dict(switch.fields), timeout=30)
    english = parse_page(session.get(demo_site.base_url + "/login", timeout=30).text).text
    assert len(EnglishDetector.from_catalogue().find(english)) >= 3, english[:500]


def test_the_server_logged_no_exception_during_the_walk(crawls, demo_site):
    """Runs after the browser tests above: a 5xx to a request the browser sent as it left a page (a
    beacon, a keep-alive fetch) reaches no listener, but the server's log has it."""
    assert demo_site.log.exists(), "no server log to read"
    errors = demo_site.server_errors()
    assert errors == "(no exception in the server log)", errors
