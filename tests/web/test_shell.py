"""The installable app shell: the manifest, its icons, the service worker and the offline page."""

import re
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from lms.core.extensions import db
from tests.factories import PNG_HEADER, make_course, make_trainee, make_user

ROOT = Path(__file__).resolve().parents[2]


def sw_version(client) -> str:
    return re.search(r'const VERSION = "([0-9a-f]+)"', client.get("/sw.js").get_data(as_text=True)).group(1)


def sw_shell(client) -> list[str]:
    return re.findall(r'"(/static/[^"]+)"', client.get("/sw.js").get_data(as_text=True))


def png_size(body: bytes) -> tuple[int, int]:
    assert body.startswith(PNG_HEADER) and body[12:16] == b"IHDR"
    return struct.unpack(">II", body[16:24])


def test_the_manifest_names_the_app_in_vietnamese_and_starts_at_continue_learning(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"] == "Làng Số" and manifest["short_name"] == "Làng Số"
    assert manifest["lang"] == "vi" and manifest["description"] == "Kỹ năng số cho làng nghề"
    assert manifest["start_url"] == "/learn" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    # The colours of static/css/app.css: the top bar's, and the page's behind the splash screen.
    css = (ROOT / "static/css/app.css").read_text()
    assert f"--brand: {manifest['theme_color']};" in css
    assert f"--paper: {manifest['background_color']};" in css


def test_the_manifest_is_in_vietnamese_for_someone_who_chose_english(client, auth, app):
    user = make_user()
    user.locale = "en"
    db.session.commit()
    auth.login(user.phone)
    assert "Log out" in client.get("/learn").get_data(as_text=True)
    assert client.get("/manifest.webmanifest").get_json(force=True)["description"] == "Kỹ năng số cho làng nghề"


def test_every_manifest_icon_is_a_real_png_of_its_declared_size(client):
    icons = client.get("/manifest.webmanifest").get_json(force=True)["icons"]
    declared = {(icon["sizes"], icon["purpose"]) for icon in icons}
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")} <= declared
    for icon in icons:
        response = client.get(icon["src"])
        assert response.status_code == 200 and response.mimetype == "image/png", icon["src"]
        width, height = png_size(response.get_data())
        assert f"{width}x{height}" == icon["sizes"], icon["src"]
        corner = Image.open(ROOT / "static" / icon["src"].split("?")[0].removeprefix("/static/")).convert("RGBA").getpixel((0, 0))
        # A maskable icon fills its square (the phone cuts the shape); the other has rounded, see-through corners.
        assert (corner[3] == 255) == (icon["purpose"] == "maskable"), icon["src"]


@pytest.mark.parametrize("path", ["/login", "/learn", "/courses/viet-bai-ban-hang", "/courses/viet-bai-ban-hang/lessons/bai-1",
                                  "/account"])
def test_every_page_links_the_manifest_the_theme_colour_and_the_home_screen_icon(client, auth, app, path):
    course = make_course()
    if path != "/login":
        auth.login(make_trainee(enrolled_in=course).phone)
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#0b5d4b">' in html
    touch_icon = re.search(r'<link rel="apple-touch-icon" href="([^"]+)"', html).group(1)
    assert png_size(client.get(touch_icon).get_data()) == (180, 180)
    assert 'data-service-worker="/sw.js"' in html
    assert 'data-offline-banner data-message="Đang mất mạng' in html


def test_static_urls_carry_their_files_content_hash(client):
    import hashlib

    html = client.get("/login").get_data(as_text=True)
    url = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', html).group(1)
    assert url.endswith(hashlib.sha256((ROOT / "static/css/app.css").read_bytes()).hexdigest()[:12])


def test_the_service_worker_is_served_from_the_root_and_never_kept_stale(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    # Asked again with its ETag, an unchanged worker costs a 304.
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_service_worker_keeps_every_static_file_and_the_offline_page(client):
    body = client.get("/sw.js").get_data(as_text=True)
    shell = sw_shell(client)
    files = sorted(p.relative_to(ROOT / "static").as_posix() for p in (ROOT / "static").rglob("*") if p.is_file())
    assert [url.split("?v=")[0].removeprefix("/static/") for url in shell] == files
    login = client.get("/login").get_data(as_text=True)
    for linked in re.findall(r'(?:href|src)="(/static/[^"]+)"', login):
        assert linked in shell  # the very URL the page names, hash included
    assert 'const OFFLINE_URL = "/offline"' in body and 'const MANIFEST_URL = "/manifest.webmanifest"' in body
    assert re.search(r'const CACHE = PREFIX \+ VERSION', body)


@pytest.fixture
def own_static(app, tmp_path):
    """Serve a copy of static/ that the test may change."""
    folder = tmp_path / "static"
    shutil.copytree(ROOT / "static", folder)
    app.static_folder = str(folder)
    return folder


def test_a_changed_static_file_makes_a_new_service_worker(client, own_static):
    before, shell_before = sw_version(client), sw_shell(client)
    css = own_static / "css/app.css"
    css.write_text(css.read_text() + "\n.new-rule { color: red; }\n")
    after, shell_after = sw_version(client), sw_shell(client)
    assert after != before
    changed = [new for old, new in zip(shell_before, shell_after, strict=True) if old != new]
    assert len(changed) == 1 and changed[0].startswith("/static/css/app.css?v=")
    assert client.get("/login").get_data(as_text=True).count(changed[0]) == 1  # pages name the new file at once


def test_a_new_static_file_makes_a_new_service_worker(client, own_static):
    before = sw_version(client)
    (own_static / "img/new.png").write_bytes((own_static / "img/icon-192.png").read_bytes())
    assert sw_version(client) != before
    assert any(url.startswith("/static/img/new.png?v=") for url in sw_shell(client))


def test_a_changed_manifest_makes_a_new_service_worker(client, monkeypatch):
    before = sw_version(client)
    monkeypatch.setattr("lms.web.shell.THEME_COLOR", "#07463a")  # in the manifest only, not in the offline page
    assert client.get("/manifest.webmanifest").get_json(force=True)["theme_color"] == "#07463a"
    assert sw_version(client) != before


def test_the_offline_page_in_another_language_makes_another_version(client):
    from tests.conftest import csrf_token

    vietnamese = sw_version(client)
    client.post("/language/en", data={"csrf_token": csrf_token(client), "next": "/login"})
    assert sw_version(client) != vietnamese
    assert "You are offline" in client.get("/offline").get_data(as_text=True)


def test_the_offline_page_says_in_vietnamese_what_still_works(client):
    response = client.get("/offline")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Bạn đang mất mạng</h1>" in html
    assert "Tiến độ học của bạn được giữ trên điện thoại này" in html
    assert re.search(r"<button[^>]*data-retry>Thử lại</button>", html)


def test_the_offline_page_holds_nothing_personal(client, auth, app):
    auth.login(make_trainee().phone)
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Đã nộp bài")]
    html = client.get("/offline").get_data(as_text=True)
    assert 'name="csrf-token"' not in html and "csrf_token" not in html
    assert "Đăng xuất" not in html and 'class="menu"' not in html
    assert "Đã nộp bài" not in html
    client.get("/sw.js")
    # The message waits for the next real page: neither the worker nor its offline page used it up.
    assert "Đã nộp bài" in client.get("/learn").get_data(as_text=True)


@pytest.mark.parametrize("held", ["must_change_password", "no_consent"])
def test_the_shell_is_served_to_someone_held_on_another_page(client, auth, app, held):
    user = make_user(consented=held != "no_consent")
    auth.login(user.phone)
    if held == "must_change_password":
        user.must_change_password = True
        db.session.commit()
    assert client.get("/learn").status_code == 302  # held on the password or consent page
    for path in ("/sw.js", "/offline", "/manifest.webmanifest"):
        assert client.get(path).status_code == 200, path


def test_the_security_policy_allows_the_worker_and_manifest_from_this_site_only(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["worker-src"] == "'self'"
    assert directives["manifest-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
