"""Run Label Studio under gunicorn with several worker processes (used by scripts/label-studio).

``label-studio start`` prepares the database, the admin user and the token, then serves
with Django's single-process development server, so one core serialises every API call.
This wrapper keeps Label Studio's own start-up and swaps only the final serving step for a
multi-process WSGI server, as Label Studio's production images do. It runs inside Label
Studio's virtual environment, never the project's:

    .venv-labelstudio/bin/python scripts/label_studio_wsgi.py WORKERS start [label-studio args]
"""

from __future__ import annotations

import sys


def main() -> int:
    workers = int(sys.argv.pop(1))
    import label_studio.server as server
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):
        def __init__(self, bind: str) -> None:
            self.bind = bind
            super().__init__()

        def load_config(self) -> None:
            self.cfg.set("bind", self.bind)
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 2)
            self.cfg.set("timeout", 300)  # large imports take a while

        def load(self):
            from django.core.wsgi import get_wsgi_application

            return get_wsgi_application()

    def serve(host: str, port: int) -> None:
        _Gunicorn(f"{host}:{port}").run()

    server._app_run = serve
    return server.main() or 0


if __name__ == "__main__":
    sys.exit(main())
