"""The floor of this stack: a bare Flask + Flask-SQLAlchemy page rendering 20 SQLite rows through Jinja.

Served by gunicorn beside the real app in bench/learning_load.py, as the yardstick
the lesson page is compared with.
"""

import os

from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Item(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(500))


PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Yardstick</title></head><body>
<h1>Danh sách</h1><ul>{% for item in items %}<li><h2>{{ item.title }}</h2><p>{{ item.body }}</p></li>{% endfor %}</ul>
</body></html>"""


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("YARDSTICK_DATABASE_URL", "sqlite:////tmp/yardstick.sqlite3")
    db.init_app(app)
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(Item.id).limit(1)) is None:
            db.session.add_all(Item(title=f"Bài {i}: Viết bài bán hàng", body="Nội dung mẫu " * 20) for i in range(200))
            db.session.commit()

    @app.route("/")
    def page():
        items = db.session.scalars(select(Item).order_by(Item.id).limit(20)).all()
        return render_template_string(PAGE, items=items)

    return app
