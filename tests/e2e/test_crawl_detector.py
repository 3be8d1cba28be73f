"""The crawl's pure parts: English detection, URL patterns, link and form extraction (fast, no server)."""

from tests.e2e.crawl import (
    CATALOGUE,
    EnglishDetector,
    Form,
    crawl,
    english_sentences,
    form_submissions,
    make_phrase,
    parse_page,
    path_pattern,
    route_pattern,
    same_site_links,
    screen_pattern,
)

BASE = "http://127.0.0.1:5000"


# --- English in the Vietnamese UI ---------------------------------------------------------------------


def test_a_msgid_is_found_verbatim_and_at_word_boundaries():
    detector = EnglishDetector([make_phrase("Log in"), make_phrase("Go to the home page")])
    assert detector.find("Trang chủ Log in Đăng ký") == ["Log in"]
    assert detector.find("Bấm vào đây: Go to the home page") == ["Go to the home page"]
    # "Log in" inside a longer word is not the UI string.
    assert detector.find("Blog install guide") == []
    assert detector.find("Đăng nhập") == []


def test_placeholders_match_any_value():
    phrase = make_phrase("%(count)s trainees enrolled in %(name)s")
    detector = EnglishDetector([phrase])
    assert detector.find("Lớp PX-01: 45 trainees enrolled in Viết bài bán hàng") == [phrase.source]
    assert detector.find("45 học viên") == []


def test_one_word_and_placeholder_only_msgids_are_not_phrases():
    assert make_phrase("Save") is None
    assert make_phrase("%(done)s of %(total)s") is None
    assert make_phrase("<strong>%(n)s</strong> %(unit)s") is None
    assert make_phrase("Mark as read") is not None


def test_markup_in_a_msgid_reads_as_spaces():
    detector = EnglishDetector([make_phrase("Read the <a href='%(url)s'>privacy notice</a>")])
    assert detector.find(parse_page("<p>Read the <a href='/p'>privacy notice</a></p>").text)


def test_the_catalogue_detector_flags_english_ui_and_passes_vietnamese():
    detector = EnglishDetector.from_catalogue(CATALOGUE)
    assert len(detector.phrases) > 200
    page = parse_page("<h1>Đăng nhập</h1><form><button>Log in</button></form><p>Forgot your password? Ask your"
                      " class organizer for a one-time code.</p>")
    found = detector.find(page.text)
    assert "Forgot your password? Ask your class organizer for a one-time code." in found
    vietnamese = parse_page("<h1>Đăng nhập</h1><p>Quên mật khẩu? Hãy hỏi cán bộ tổ chức lớp để nhận mã dùng một"
                            " lần.</p><p>Livestream bán hàng – Chuyên Mỹ</p><p>Nguyễn Thị Thu Hà</p>")
    assert detector.find(vietnamese.text) == []


def test_library_defaults_are_flagged():
    detector = EnglishDetector.from_catalogue(CATALOGUE)
    assert "This field is required" in detector.find("Số điện thoại This field is required.")
    assert "Field must be between" in detector.find("Mật khẩu Field must be between 8 and 128 characters long.")
    assert "Please log in to access this page" in detector.find("Please log in to access this page.")


def test_english_sentences_outside_the_catalogue_are_flagged():
    assert english_sentences("Lớp học You have no classes yet today") == ["You have no classes yet today"]
    # Brand names and Vietnamese written without tone marks are not English sentences.
    assert english_sentences("Facebook Live TikTok Shop Zalo OA") == []
    assert english_sentences("Nguyen Van An Tran Thi Binh") == []
    assert english_sentences("Viết bài bán hàng trên Facebook cho làng nghề") == []


def test_hidden_text_is_not_read_but_labels_people_hear_are():
    page = parse_page("<script>var x = 'Log in now';</script><style>p{}</style>"
                      "<img alt='Class photo'><input placeholder='Type your name'><p>Xin chào</p>")
    assert "Log in now" not in page.text
    assert page.scripts == []
    assert parse_page('<script src="/static/js/player.js?v=3" defer></script>').scripts == ["/static/js/player.js"]
    assert "Class photo" in page.text and "Type your name" in page.text and "Xin chào" in page.text


# --- URL patterns --------------------------------------------------------------------------------------


def test_ids_and_codes_collapse_into_one_pattern():
    assert route_pattern(BASE + "/users/17") == route_pattern(BASE + "/users/18") == "/users/<n>"
    assert route_pattern(BASE + "/cohorts/PX-VBBH-01") == route_pattern(BASE + "/cohorts/PX-LIVE-02")
    assert route_pattern(BASE + "/certificates/LS-2026-000123.pdf") == "/certificates/<code>.pdf"
    assert route_pattern(BASE + "/sessions/3/attendance/41/history") == "/sessions/<n>/attendance/<n>/history"


def test_slugs_screens_and_query_words_stay_apart():
    assert route_pattern(BASE + "/courses/livestream-ban-hang") != route_pattern(BASE + "/courses/viet-bai-ban-hang")
    assert route_pattern(BASE + "/users/new") != route_pattern(BASE + "/users/17")
    assert route_pattern(BASE + "/certificates/export.csv") != route_pattern(BASE + "/certificates/export.xlsx")
    assert route_pattern(BASE + "/users?page=2&role=trainee") == route_pattern(BASE + "/users?role=trainee&page=3")


def test_screens_collapse_slugs_of_listed_things_but_not_route_words():
    assert screen_pattern(BASE + "/courses/viet-bai-ban-hang/lessons/video-gioi-thieu") == "/courses/<slug>/lessons/<slug>"
    assert screen_pattern(BASE + "/courses/livestream-ban-hang/learners?page=2") == "/courses/<slug>/learners"
    assert screen_pattern(BASE + "/sessions/4/roll-call") == "/sessions/<n>/roll-call"
    assert screen_pattern(BASE + "/my/attendance-card") == "/my/attendance-card"
    assert screen_pattern(BASE + "/courses/new") == "/courses/new"


def test_filter_choices_collapse_but_given_and_empty_filters_differ():
    # One pattern per set of filters given, not one per combination of choices.
    assert route_pattern(BASE + "/users?role=trainee") == route_pattern(BASE + "/users?role=admin") == "/users?role=<v>"
    assert route_pattern(BASE + "/users?role=") == "/users?role="
    assert path_pattern(BASE + "/users/17?tab=history") == "/users/<n>"


# --- Links and forms -----------------------------------------------------------------------------------


def test_links_stay_on_the_site():
    page = parse_page('<a href="/learn">a</a><a href="lessons/x#top">b</a><a href="#main">c</a>'
                      '<a href="https://zalo.me/123">d</a><a href="tel:0900000001">e</a>'
                      '<a href="mailto:a@b.vn">f</a><a href="/learn">again</a>')
    links = same_site_links(BASE + "/courses/abc/", page.links, BASE)
    assert links == [BASE + "/learn", BASE + "/courses/abc/lessons/x"]


def test_get_forms_are_sent_as_they_stand_with_each_choice_and_a_search():
    page = parse_page("""
      <form method="get" action="/users">
        <input type="search" name="q" value="">
        <select name="role"><option value="">Tất cả</option><option value="trainee" selected>Học viên</option></select>
        <input type="checkbox" name="active" value="1" checked><input type="checkbox" name="old" value="1">
        <button type="submit" name="format" value="csv">CSV</button>
      </form>
      <form method="post" action="/logout"><button>Thoát</button></form>""")
    get_form = page.forms[0]
    assert get_form.fields == [("q", ""), ("role", "trainee"), ("active", "1")]
    urls = form_submissions(BASE + "/users", get_form)
    assert urls[0] == BASE + "/users?q=&role=trainee&active=1"
    assert BASE + "/users?q=&role=trainee&active=1&format=csv" in urls
    assert BASE + "/users?q=&role=&active=1" in urls
    assert BASE + "/users?q=nguyen&role=trainee&active=1" in urls
    assert form_submissions(BASE + "/", page.forms[1]) == []


def test_a_form_without_action_goes_to_its_own_page():
    form = Form(action="", method="get", fields=[("code", "")])
    assert form_submissions(BASE + "/verify?code=x", form) == [BASE + "/verify?code="]


def test_the_login_form_is_found_by_its_password_field():
    page = parse_page('<form method="post"><input type="hidden" name="csrf_token" value="t">'
                      '<input name="phone"><input type="password" name="password"></form>')
    login = page.forms[0]
    assert login.has_password and dict(login.fields) == {"csrf_token": "t", "phone": "", "password": ""}


# --- The walk itself, over a site held in a dict -------------------------------------------------------


class _Answer:
    def __init__(self, url, status, kind, body):
        self.url, self.status_code, self.headers, self._body = url, status, {"Content-Type": kind}, body

    def iter_content(self, size):
        yield self._body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeSite:
    """A requests.Session stand-in answering from {path: (status, content type, body)}, whatever the query;
    404 otherwise."""

    def __init__(self, pages):
        self.pages, self.asked = pages, []

    def get(self, url, **kwargs):
        path = url.removeprefix(BASE)
        self.asked.append(path)
        status, kind, body = self.pages.get(path.split("?")[0], (404, "text/html", "<p>Không tìm thấy trang</p>"))
        return _Answer(url, status, kind, body.encode() if isinstance(body, str) else body)


def _html(body):
    return (200, "text/html; charset=utf-8", f"<html><body>{body}</body></html>")


def test_the_walk_reports_server_errors_broken_links_english_and_false_files():
    site = FakeSite({
        "/": _html('<a href="/cohorts/PX-01">Lớp</a><a href="/missing">Hỏng</a><a href="https://zalo.me/x">Zalo</a>'
                   '<form method="post" action="/logout"><button>Thoát</button></form><a href="/logout">Thoát</a>'
                   '<a href="/slip.pdf">Phiếu</a><a href="/list.csv">CSV</a>'),
        "/cohorts/PX-01": (500, "text/html", "<h1>Lỗi máy chủ</h1>"),
        "/slip.pdf": (200, "application/pdf", b"<html>not a pdf</html>"),
        "/list.csv": (200, "text/csv", b"name\nA\n"),
    })
    detector = EnglishDetector([make_phrase("Go to the home page")])
    site.pages["/missing"] = (404, "text/html", "<p>Go to the home page</p>")
    report = crawl(site, BASE, "organizer", detector)
    assert [f.url for f in report.server_errors] == [BASE + "/cohorts/PX-01"]
    assert [(f.url, f.source) for f in report.broken_links] == [(BASE + "/missing", BASE + "/")]
    assert [f.url for f in report.english] == [BASE + "/missing"]
    assert [f.url for f in report.bad_downloads] == [BASE + "/slip.pdf"]
    assert set(report.downloads) == {BASE + "/slip.pdf", BASE + "/list.csv"}
    # Never logged out, never left the site.
    assert "/logout" not in site.asked and all(p.startswith("/") for p in site.asked)


def test_the_walk_samples_each_pattern_and_follows_get_forms():
    links = "".join(f'<a href="/users/{n}">Người {n}</a>' for n in range(1, 30))
    site = FakeSite({"/": _html(links + '<form action="/users"><select name="role"><option value="">Tất cả</option>'
                                '<option value="trainee">Học viên</option></select></form>'),
                     "/users": _html("Danh sách")})
    site.pages.update({f"/users/{n}": _html(f"Người {n}") for n in range(1, 30)})
    report = crawl(site, BASE, "admin", EnglishDetector([]), per_pattern=3)
    assert [p for p in site.asked if p.startswith("/users/")] == ["/users/1", "/users/2", "/users/3"]
    assert "/users?role=" in site.asked and "/users?role=trainee" in site.asked
    assert report.collapsed == 26 and not report.broken_links
    assert report.first_page["/users/<n>"] == BASE + "/users/1"
