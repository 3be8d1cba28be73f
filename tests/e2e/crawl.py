"""Walk the live site as its users do and say what a person would trip over.

The pure parts (link and form extraction, URL patterns, English-string detection) are plain functions
with fast unit tests in tests/e2e/test_crawl_detector.py; `crawl()` drives them over HTTP, and
`browser_errors()` opens pages in Chromium to collect console errors and failed requests.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "lms/translations/vi/LC_MESSAGES/messages.mo"

#: Links a crawler must not follow: they end the session or switch the language away from Vietnamese.
SKIP = re.compile(r"/logout\b|/language/|[?&](lang|locale)=", re.I)
#: Answers that are files, not pages: fetched and checked, never parsed.
HTML_TYPES = ("text/html", "application/xhtml+xml")
#: What a download must start with to be the file it claims to be.
MAGIC = {"application/pdf": b"%PDF-", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": b"PK"}
#: Statuses on a link the site printed itself that mean the link is broken.
BROKEN = {400, 404, 405, 410}
#: A search word for GET forms with a search box: no tone marks, as people type on a phone.
SEARCH_SAMPLE = "nguyen"

#: English that comes from libraries rather than our catalogue: WTForms' and Flask-WTF's validator
#: messages, Flask-Login's default flash, Werkzeug's default error pages.
LIBRARY_ENGLISH = [
    "This field is required",
    "Not a valid integer value",
    "Not a valid decimal value",
    "Not a valid float value",
    "Not a valid datetime value",
    "Not a valid date value",
    "Not a valid time value",
    "Not a valid choice",
    "Invalid Choice: could not coerce",
    "Invalid email address",
    "Invalid input.",
    "Invalid field name",
    "Invalid value, must be one of",
    "Field must be between",
    "Field must be at least",
    "Field cannot be longer than",
    "Field must be equal to",
    "Number must be at least",
    "Number must be at most",
    "Number must be between",
    "The CSRF token is missing",
    "The CSRF token is invalid",
    "The CSRF token has expired",
    "The CSRF session token is missing",
    "The referrer header is missing",
    "Please log in to access this page",
    "The requested URL was not found on the server",
    "The browser (or proxy) sent a request",
    "You don't have the permission to access",
    "The server encountered an internal error",
    "The method is not allowed for the requested URL",
    "Internal Server Error",
    "Method Not Allowed",
    "Too Many Requests",
    "Bad Request",
    "Not Found",
]

#: English function words: four Latin-only words in a row with two of these in them is an English sentence.
_FUNCTION_WORDS = frozenset({
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "for", "with", "from", "by", "is",
    "are", "was", "were", "be", "been", "has", "have", "had", "will", "can", "this", "that",
    "these", "those", "your", "you", "our", "we", "it", "its", "not", "no", "please", "here",
    "there", "what", "which", "who", "when",
})


# --- Pages: links, GET forms, login form, visible text --------------------------------------------------


@dataclass
class Form:
    """A form as the browser would submit it with nothing typed."""

    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    #: name → option values, to try each choice of a filter.
    selects: dict[str, list[str]] = field(default_factory=dict)
    #: (name, value) of each named submit button: each is one way to send the form.
    buttons: list[tuple[str, str]] = field(default_factory=list)
    #: names of text inputs that look like a search box.
    search: list[str] = field(default_factory=list)
    has_password: bool = False


@dataclass
class Page:
    """What the crawler needs from one HTML page."""

    links: list[str]
    forms: list[Form]
    text: str
    #: src of every external script, in order: what decides how the page behaves in a browser.
    scripts: list[str] = field(default_factory=list)


_HIDDEN_TAGS = {"script", "style", "template", "noscript"}
#: Attributes people read or hear (screen readers) as much as text.
_TEXT_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.chunks: list[str] = []
        self.scripts: list[str] = []
        self._form: Form | None = None
        self._select: tuple[str, list[str], list[str]] | None = None  # name, values, selected
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"].split("?")[0])
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
            return
        for name in _TEXT_ATTRIBUTES:
            if a.get(name):
                self.chunks.append(a[name])
        if tag in ("a", "area") and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(action=a.get("action", ""), method=(a.get("method") or "get").lower())
        elif tag == "input":
            self._input(a)
        elif tag == "button" and self._form is not None and a.get("name") and a.get("type", "submit") == "submit":
            self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "select" and self._form is not None and a.get("name"):
            self._select = (a["name"], [], [])
        elif tag == "option" and self._select is not None:
            value = a.get("value")
            self._select[1].append(value if value is not None else "")
            if "selected" in a:
                self._select[2].append(self._select[1][-1])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _HIDDEN_TAGS:
            self._hidden_depth -= 1

    def _input(self, a):
        kind = a.get("type", "text").lower()
        if kind in ("submit", "button", "image") and a.get("value"):
            self.chunks.append(a["value"])
        form = self._form
        if form is None or not a.get("name"):
            return
        name = a["name"]
        if kind == "password":
            form.has_password = True
        if kind in ("submit", "image"):
            form.buttons.append((name, a.get("value", "")))
        elif kind in ("checkbox", "radio"):
            if "checked" in a:
                form.fields.append((name, a.get("value", "on")))
        elif kind not in ("button", "file", "reset"):
            form.fields.append((name, a.get("value", "")))
            if kind == "search" or name.lower() in ("q", "search", "query"):
                form.search.append(name)

    def handle_endtag(self, tag):
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag == "select" and self._select is not None and self._form is not None:
            name, values, selected = self._select
            self._form.fields.append((name, selected[0] if selected else (values[0] if values else "")))
            self._form.selects[name] = values
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None

    def handle_data(self, data):
        if not self._hidden_depth and data.strip():
            self.chunks.append(data)


def parse_page(html: str) -> Page:
    """Return the links, forms and visible text (with the text of title/alt/placeholder/aria-label) of a page."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    text = " ".join(" ".join(parser.chunks).split())
    return Page(links=parser.links, forms=parser.forms, text=text, scripts=parser.scripts)


def same_site_links(page_url: str, hrefs: list[str], base: str) -> list[str]:
    """Resolve hrefs against the page; keep the site's own http(s) URLs, without fragments, once each."""
    host = urlsplit(base).netloc
    seen, out = set(), []
    for href in hrefs:
        href = href.strip()
        if not href or href.startswith("#"):
            continue
        url = urldefrag(urljoin(page_url, href))[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != host or url in seen:
            continue
        seen.add(url)
        out.append(url)
    return out


def form_submissions(page_url: str, form: Form) -> list[str]:
    """Return the URLs a GET form can send: as it stands, with each choice of each filter, each named
    submit button and a sample search word."""
    if form.method != "get":
        return []
    action = urljoin(page_url, form.action or page_url).split("#")[0].split("?")[0]
    variants = [list(form.fields)]
    for name, value in form.buttons:
        variants.append([*form.fields, (name, value)])
    for name, values in form.selects.items():
        for value in values[:8]:
            variants.append([(k, value if k == name else v) for k, v in form.fields])
    for name in form.search:
        variants.append([(k, SEARCH_SAMPLE if k == name else v) for k, v in form.fields])
    urls = []
    for fields in variants:
        url = action + "?" + urlencode(fields) if fields else action
        if url not in urls:
            urls.append(url)
    return urls


# --- URL patterns ------------------------------------------------------------------------------------------

_EXTENSION = re.compile(r"^(?P<stem>.+?)(?P<ext>\.[A-Za-z]{2,5})$")


def _segment_pattern(segment: str) -> str:
    match = _EXTENSION.match(segment)
    stem, ext = (match["stem"], match["ext"]) if match else (segment, "")
    if stem.isdigit():
        return "<n>" + ext
    # Codes and tokens (PX-VBBH-01, LS-2026-000123, random ids) carry digits or are long mixed-case strings.
    if any(ch.isdigit() for ch in stem) or (len(stem) >= 16 and not stem.islower()):
        return "<code>" + ext
    return segment


def route_pattern(url: str) -> str:
    """Return the URL with ids and codes replaced, so that /users/17 and /users/18 share one pattern.

    Query keys are kept (sorted) and their values reduced to given or not: the filters of one list make
    one pattern, not one per combination of choices (which grows as the product of the choices).
    """
    parts = urlsplit(url)
    path = "/".join(_segment_pattern(s) if s else s for s in parts.path.split("/"))
    query = sorted(parse_qsl(parts.query, keep_blank_values=True))
    if not query:
        return path
    return path + "?" + "&".join(f"{k}={'<v>' if v else ''}" for k, v in query)


def screen_pattern(url: str) -> str:
    """Return path_pattern() with the slugs of listed things (a course, a lesson) replaced too.

    A slug is a hyphenated lowercase segment right after a plural one (/courses/viet-bai-ban-hang,
    /lessons/video-gioi-thieu); fixed words of a route (/roll-call, /my/attendance-card) stay.
    """
    segments = path_pattern(url).split("/")
    for i in range(1, len(segments)):
        if segments[i - 1].endswith("s") and "-" in segments[i] and segments[i].islower() and "." not in segments[i]:
            segments[i] = "<slug>"
    return "/".join(segments)


def path_pattern(url: str) -> str:
    """Return route_pattern() without the query: one screen, whatever its filters."""
    return route_pattern(url).split("?")[0]


# --- English in the Vietnamese UI --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{[^{}]*\}")
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class Phrase:
    """One English UI string: a regex for it and its longest literal part, to look for cheaply first."""

    source: str
    pattern: re.Pattern
    needle: str


def make_phrase(msgid: str) -> Phrase | None:
    """Turn a msgid into a Phrase, or None when it has fewer than two English words outside its placeholders."""
    cleaned = " ".join(_TAG.sub(" ", msgid).split())
    literals = [p.strip() for p in _PLACEHOLDER.split(cleaned) if p.strip()]
    if sum(len(_WORD.findall(p)) for p in literals) < 2:
        return None
    # The longest literal run must itself be worth looking for: "%(n)s of %(m)s" is not English a person reads.
    needle = max(literals, key=len)
    if len(_WORD.findall(needle)) < 1 or len(needle) < 4:
        return None
    body = r".{1,80}?".join(r"\s+".join(re.escape(word) for word in literal.split()) for literal in literals)
    start = r"(?<!\w)" if re.match(r"\w", literals[0]) else ""
    end = r"(?!\w)" if re.search(r"\w$", literals[-1]) else ""
    return Phrase(source=msgid, pattern=re.compile(start + body + end), needle=needle)


class EnglishDetector:
    """Find English UI strings in a page's visible text."""

    def __init__(self, phrases: list[Phrase]):
        self.phrases = phrases

    @classmethod
    def from_catalogue(cls, mo_path: Path = CATALOGUE, extra: list[str] = LIBRARY_ENGLISH) -> EnglishDetector:
        """Every msgid of two words or more whose Vietnamese differs from it, and the libraries' English.

        A msgid that appears inside some Vietnamese translation (a brand name, "Zalo OA") is left out:
        finding it proves nothing.
        """
        from babel.messages.mofile import read_mo

        with open(mo_path, "rb") as f:
            catalogue = read_mo(f)
        msgids, translations = [], []
        for message in catalogue:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            translations.extend(s for s in strings if s)
            if any(s and s not in ids for s in strings):
                msgids.extend(ids)
        vietnamese = "\n".join(translations)
        phrases = []
        for msgid in dict.fromkeys([*msgids, *extra]):
            phrase = make_phrase(msgid)
            if phrase is not None and phrase.needle not in vietnamese:
                phrases.append(phrase)
        return cls(phrases)

    def find(self, text: str) -> list[str]:
        """Return the English strings (as written in the code) that occur in text, then English sentences
        that are none of them."""
        found, spans = [], []
        for phrase in self.phrases:
            if phrase.needle in text:
                match = phrase.pattern.search(text)
                if match:
                    found.append(phrase.source)
                    spans.append(match.span())
        for start, end, sentence in _english_runs(text):
            if not any(start < b and a < end for a, b in spans):
                found.append(sentence)
        return found


def english_sentences(text: str) -> list[str]:
    """Return runs of four or more Latin-only words with two English function words in them.

    Catches English that never went through the catalogue (a template string without _()).
    Vietnamese words carry tone marks or are not English function words, so Vietnamese text never matches.
    """
    return [sentence for _, _, sentence in _english_runs(text)]


_RUN = re.compile(r"(?<![\w'])(?:[A-Za-z][A-Za-z'’]*[ ,]+){3,}[A-Za-z][A-Za-z'’]*(?![\w'])")


def _english_runs(text: str):
    for run in _RUN.finditer(text):
        words = re.findall(r"[A-Za-z'’]+", run.group())
        if sum(w.lower() in _FUNCTION_WORDS for w in words) >= 2:
            yield run.start(), run.end(), run.group().strip(" ,")


# --- The crawl ---------------------------------------------------------------------------------------------


@dataclass
class Finding:
    url: str
    detail: str
    #: The page that printed the link or form ("" for the start page).
    source: str = ""

    def __str__(self):
        return f"{self.url} — {self.detail}" + (f" (linked from {self.source})" if self.source else "")


@dataclass
class CrawlReport:
    role: str
    fetched: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[Finding] = field(default_factory=list)
    broken_links: list[Finding] = field(default_factory=list)
    english: list[Finding] = field(default_factory=list)
    bad_downloads: list[Finding] = field(default_factory=list)
    #: route pattern → first HTML page seen with it.
    first_page: dict[str, str] = field(default_factory=dict)
    #: (screen pattern, scripts) → first HTML page seen with them: what the browser opens.
    browser_sample: dict[tuple, str] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    #: route pattern → URLs fetched with it.
    patterns: Counter = field(default_factory=Counter)
    collapsed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.role}: {self.fetched} URLs ({len(self.first_page)} page patterns, {len(self.downloads)} downloads, "
                f"{self.collapsed} collapsed) in {self.seconds:.1f} s; 5xx {len(self.server_errors)}, "
                f"broken links {len(self.broken_links)}, English {len(self.english)}, "
                f"bad downloads {len(self.bad_downloads)}; statuses {dict(sorted(self.statuses.items()))}")


def log_in(session, base: str, phone: str, password: str) -> None:
    """Log in through the real login form (CSRF token included); raise AssertionError if it does not work."""
    response = session.get(base + "/login", timeout=30)
    login = next((f for f in parse_page(response.text).forms if f.has_password), None)
    assert login is not None, "no login form on /login"
    fields = dict(login.fields)
    for name in fields:
        if "phone" in name.lower():
            fields[name] = phone
        elif "password" in name.lower():
            fields[name] = password
    action = urljoin(response.url, login.action or response.url)
    answer = session.post(action, data=fields, timeout=30)
    assert answer.status_code < 400 and not urlsplit(answer.url).path.rstrip("/").endswith("/login"), (
        f"logging in as {phone} failed: {answer.status_code} {answer.url}")


def _fetch(session, url: str):
    """GET url; return (status, final URL, content type, body bytes); files are read to the end."""
    with session.get(url, timeout=60, stream=True, allow_redirects=True) as response:
        body = b"".join(response.iter_content(64 * 1024))
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return response.status_code, response.url, kind, body


def crawl(session, base: str, role: str, detector: EnglishDetector, *, start: tuple[str, ...] = ("/",),
          max_pages: int = 1000, per_pattern: int = 3, per_path: int = 8,
          deadline: float | None = None) -> CrawlReport:
    """Walk the site breadth-first from its start pages with session's cookies.

    Every link and GET form on the site's own pages is followed, at most per_pattern URLs per route
    pattern and per_path per screen (its filters included); files (PDF, XLSX, CSV…) are fetched and
    checked but not parsed.
    """
    started = time.monotonic()
    report = CrawlReport(role=role)
    base = base.rstrip("/")
    # url, the page that printed it, printed as a link (not made by a form)
    queue: deque[tuple[str, str, bool]] = deque((base + path, "", True) for path in start)
    queued = {base + path for path in start}
    per_pattern_count, per_path_count = report.patterns, Counter()
    while queue and report.fetched < max_pages and (deadline is None or time.monotonic() < deadline):
        url, source, is_link = queue.popleft()
        pattern, path = route_pattern(url), path_pattern(url)
        if per_pattern_count[pattern] >= per_pattern or per_path_count[path] >= per_path:
            report.collapsed += 1
            continue
        per_pattern_count[pattern] += 1
        per_path_count[path] += 1
        status, final, kind, body = _fetch(session, url)
        report.fetched += 1
        report.statuses[status] += 1
        if status >= 500:
            report.server_errors.append(Finding(url, f"HTTP {status}", source))
        elif status in BROKEN:
            report.broken_links.append(Finding(url, f"HTTP {status} on a {'link' if is_link else 'GET form'}", source))
        if urlsplit(final).netloc != urlsplit(base).netloc:
            continue
        if kind not in HTML_TYPES:
            if kind:
                report.downloads.append(url)
            magic = MAGIC.get(kind)
            if status == 200 and magic and not body.startswith(magic):
                report.bad_downloads.append(Finding(url, f"{kind} that does not start with {magic!r}", source))
            continue
        page = parse_page(body.decode("utf-8", "replace"))
        for phrase in dict.fromkeys(detector.find(page.text)):
            report.english.append(Finding(final, repr(phrase), source))
        if status >= 400:
            continue
        report.first_page.setdefault(route_pattern(final), final)
        report.browser_sample.setdefault((screen_pattern(final), tuple(page.scripts)), final)
        found = [(u, True) for u in same_site_links(final, page.links, base)]
        for form in page.forms:
            found.extend((u, False) for u in form_submissions(final, form))
        for next_url, printed in found:
            if next_url in queued or SKIP.search(next_url):
                continue
            queued.add(next_url)
            queue.append((next_url, final, printed))
    report.seconds = time.monotonic() - started
    return report


# --- In the browser ----------------------------------------------------------------------------------------


def browser_errors(context, urls: list[str], base: str) -> list[Finding]:
    """Open each URL in a page of the (logged-in) Playwright context; return console errors, uncaught
    exceptions and the site's own requests that failed or answered 4xx/5xx."""
    host = urlsplit(base).netloc
    findings: list[Finding] = []
    page = context.new_page()
    current = {"url": ""}

    def ours(url: str) -> bool:
        return urlsplit(url).netloc == host

    page.on("console", lambda m: findings.append(Finding(current["url"], f"console {m.type}: {m.text}"))
            if m.type == "error" else None)
    page.on("pageerror", lambda e: findings.append(Finding(current["url"], f"page error: {e}")))
    page.on("requestfailed", lambda r: findings.append(
        Finding(current["url"], f"request failed: {r.method} {r.url} ({r.failure})"))
        if ours(r.url) and "ERR_ABORTED" not in (r.failure or "") else None)
    page.on("response", lambda r: findings.append(
        Finding(current["url"], f"HTTP {r.status} for {r.request.method} {r.url}"))
        if ours(r.url) and r.status >= 400 else None)
    for url in urls:
        current["url"] = url
        try:
            page.goto(url, wait_until="load", timeout=30_000)
        except Exception as exc:  # noqa: BLE001 - a page that does not load is a finding, not a crash
            findings.append(Finding(url, f"did not load: {exc}"))
    page.close()
    return findings
