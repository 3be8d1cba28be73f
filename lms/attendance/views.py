"""Views of attendance (being written)."""

from flask import Blueprint

bp = Blueprint("attendance", __name__)
