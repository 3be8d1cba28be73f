"""The installable app shell: the static files a phone keeps, their content hashes, and the web app manifest.

Every static URL the site writes carries its file's content hash (``/static/css/app.css?v=…``), and
the service worker keeps exactly those URLs. A page therefore names the very bytes it was written
for: a cache holds them or it does not, and no cache can answer an old file for a new page.
"""

import functools
import hashlib
from pathlib import Path

from flask import current_app, url_for
from flask_babel import force_locale
from werkzeug.security import safe_join

from lms.core.i18n import gettext as _

#: Colours of static/css/app.css (--brand for the bars, --paper behind the splash screen).
THEME_COLOR = "#0b5d4b"
BACKGROUND_COLOR = "#fdfcf8"
#: Characters of a file's SHA-256 in its URL: enough that two versions of one file never meet.
URL_HASH_LENGTH = 12


@functools.lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by the file's stat as well: a file changed on disk is read and hashed again.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file's bytes (hex), read again only when the file changed."""
    stat = path.stat()
    return _digest(str(path), stat.st_mtime_ns, stat.st_size)


def static_path(filename: str) -> Path | None:
    """Return the path of a file under the static folder, or None when there is none."""
    joined = safe_join(current_app.static_folder, filename)
    return Path(joined) if joined and Path(joined).is_file() else None


def add_static_version(endpoint: str, values: dict) -> None:
    """Add ``v=<content hash>`` to every URL of a static file (a url_defaults callback)."""
    if endpoint != "static" or "v" in values:
        return
    path = static_path(values.get("filename", ""))
    if path is not None:
        values["v"] = file_digest(path)[:URL_HASH_LENGTH]


def shell_files() -> list[str]:
    """Return every file under the static folder, relative and sorted: the shell a phone keeps.

    All of them, so that no page of the site needs a static file the phone does not have.
    """
    root = Path(current_app.static_folder)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def shell_urls() -> list[str]:
    """Return the versioned URL of every shell file."""
    return [url_for("static", filename=name) for name in shell_files()]


def shell_version(*pages: bytes) -> str:
    """Return the version of the shell: a hash over every shell file's content and the pages the worker keeps.

    :param pages: the offline page and the manifest as served, so that a changed template,
        translation or setting also makes a new version.
    """
    root = Path(current_app.static_folder)
    digest = hashlib.sha256()
    for name in shell_files():
        digest.update(f"{name}\0{file_digest(root / name)}\n".encode())
    for page in pages:
        digest.update(hashlib.sha256(page).hexdigest().encode())
    return digest.hexdigest()[:16]


def manifest() -> dict:
    """Return the web app manifest: Vietnamese names, the standalone display, icons, and 'Học tiếp' to start at."""
    # The browser fetches the manifest without cookies, so it is always in the site's own language.
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    name = current_app.config["LMS_ORG_NAME"]
    with force_locale(locale):
        description = _("Digital skills for craft villages")

    def icon(filename, size, purpose="any"):
        return {"src": url_for("static", filename=f"img/{filename}"), "sizes": f"{size}x{size}",
                "type": "image/png", "purpose": purpose}

    return {
        "id": "/",
        "name": name,
        "short_name": name,
        "description": description,
        "lang": locale,
        "dir": "ltr",
        "start_url": url_for("learning.home"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            icon("icon-192.png", 192), icon("icon-512.png", 512),
            icon("icon-maskable-192.png", 192, "maskable"), icon("icon-maskable-512.png", 512, "maskable"),
        ],
    }
