import gzip
import logging
import os
import re

from lms.accounts.models import Role
from tests.factories import make_course, make_trainee, make_user


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_every_response_carries_security_headers(client):
    for path in ("/", "/login", "/courses", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(client, auth, app):
    course = make_course()
    auth.login(make_trainee(enrolled_in=course).phone)
    for path in ("/", "/courses", "/courses/viet-bai-ban-hang", "/courses/viet-bai-ban-hang/lessons/bai-1", "/account"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path


def test_vietnamese_is_the_default_and_english_can_be_chosen(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in html and "Đăng nhập" in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    client.post("/language/en", data={"csrf_token": token, "next": "/login"})
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Log in" in html


def test_friendly_error_pages(client, app):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)
    assert client.get("/healthz", headers={"Accept": "application/json"}).status_code == 200


def test_server_error_page_is_friendly(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Hệ thống của chúng tôi đang gặp sự cố" in response.get_data(as_text=True)


def test_commune_picker_lists_communes_of_a_province(client):
    communes = client.get("/places/provinces/1/communes").json
    names = {c["name"] for c in communes}
    assert {"Xã Phú Xuyên", "Xã Chuyên Mỹ", "Xã Đại Xuyên", "Xã Phượng Dực"} <= names
    assert len(communes) == 126


def test_trainee_lesson_page_stays_under_50_kb_gzipped(client, auth, app):
    from lms.demo import SEED_DIR, DemoReport, load_course

    course = load_course(SEED_DIR / "courses" / "viet-bai-ban-hang", DemoReport())
    auth.login(make_trainee(enrolled_in=course).phone)
    page = client.get("/courses/viet-bai-ban-hang/lessons/cau-truc-bai-ban-hang").get_data()
    assets = [client.get(url).get_data() for url in re.findall(r'(?:href|src)="(/static/[^"?]+\.(?:css|js)(?:\?v=[0-9a-f]+)?)"', page.decode())]
    assert len(assets) == 4  # app.css, app.js, outbox.js, player.js
    total = sum(len(gzip.compress(body, 9)) for body in [page, *assets])
    assert total < 50 * 1024, total


def test_logs_never_contain_phone_numbers(client, app, caplog):
    trainee = make_trainee(phone="0912345678")
    with caplog.at_level(logging.INFO):
        app.logger.info("login failed for %s", trainee.phone)
        logging.getLogger("werkzeug").info('"POST /login?phone=0912345678 HTTP/1.1" 200')
    assert "0912345678" not in caplog.text
    assert "***" in caplog.text


def test_templates_translate_in_the_current_locale_even_when_it_changes_mid_request(app):
    from flask import render_template_string
    from flask_babel import force_locale, refresh

    template = '{{ _("Log in") }}|{{ ngettext("%(num)d session", "%(num)d sessions", 2) }}'
    with app.test_request_context("/"):
        assert render_template_string(template).startswith("Đăng nhập|")
        with force_locale("en"):
            assert render_template_string(template) == "Log in|2 sessions"
        assert render_template_string(template).startswith("Đăng nhập|")
        from flask import session

        session["lang"] = "en"  # the language switch, then a refresh in the same request
        refresh()
        assert render_template_string(template).startswith("Log in|")


def test_production_entry_point_leaves_out_what_a_web_worker_never_uses(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["LMS_INSTANCE_PATH"] = str(tmp_path)
    # A fresh interpreter: what `gunicorn lms.wsgi:app` loads on an SQLite set-up.
    code = ("import sys, lms.wsgi; heavy = ['alembic', 'psycopg', 'redis', 'xlsxwriter', 'cryptography.hazmat', 'reportlab'];"
            "print([m for m in heavy if m in sys.modules]); print(lms.wsgi.app.url_map.bind('x').match('/healthz'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "[]"
    assert "healthz" in out.splitlines()[1]


def test_organizers_and_admins_find_the_attendance_reports_in_the_menu(client, auth, app):
    link = '<a href="/reports/attendance">Báo cáo điểm danh</a>'
    for role in (Role.ORGANIZER, Role.ADMIN):
        auth.login(make_user(role).phone)
        assert link in client.get("/learn").get_data(as_text=True), role
        auth.logout()
    for user in (make_trainee(), make_user(Role.INSTRUCTOR)):
        auth.login(user.phone)
        html = client.get("/learn").get_data(as_text=True)
        assert "/reports/attendance" not in html and "Báo cáo điểm danh" not in html, user.roles
        auth.logout()


def test_answers_that_may_carry_personal_data_are_never_stored_by_a_cache(client, auth, app):
    course = make_course("ban-hang-online", lessons=1)
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    progress = client.get(f"/api/v1/courses/{course.slug}/progress")
    assert progress.status_code == 200 and progress.mimetype == "application/json"
    assert progress.headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    # What the view chose stays: the public keys may be cached for a while.
    assert "max-age" in client.get("/.well-known/lang-so-keys.json").headers["Cache-Control"]
