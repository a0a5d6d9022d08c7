"""Entry point for gunicorn (`wsgi:app`), `flask` (FLASK_APP=wsgi) and Celery (`-A wsgi:celery`)."""

from backend import create_app

app = create_app()
celery = app.extensions["celery"]
