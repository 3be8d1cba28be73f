"""Security headers on every response."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        # Named, though default-src would cover them: the installable app's worker and manifest come from here only.
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def apply_security_headers(response):
    """Add CSP, nosniff, framing and referrer rules to a response."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    from flask import current_app

    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype in NO_STORE_TYPES:
        # Pages, JSON answers and exported lists may carry personal data: no cache keeps them unless
        # the view said otherwise (public keys, a published course's media).
        headers.setdefault("Cache-Control", "no-store")
    return response


#: What the app writes itself and may hold names, phones or progress: every page, JSON, export and PDF.
NO_STORE_TYPES = frozenset({
    "text/html", "application/json", "text/plain", "text/csv", "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})
