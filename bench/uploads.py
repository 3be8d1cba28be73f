"""Issue 3 figure: tus upload throughput of a 200 MB file over loopback in 5 MB chunks.

The app runs under gunicorn (2 workers) with the demo loaded; a `requests` session
logs in as the demo instructor and uploads with tus PATCHes, as the browser does.
"""

import base64
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from _common import (
    ROOT,
    VENV_BIN,
    free_port,
    instance_env,
    lms,
    save,
    tree_memory_mib,
    wait_for_200,
)

SIZE = 200 * 1024 * 1024
CHUNK = 5 * 1024 * 1024


def main():
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        env = instance_env(instance)
        lms("db", "upgrade", env=env)
        lms("seed", "demo", env=env)
        port = free_port()
        server = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2",
                                   "-b", f"127.0.0.1:{port}", "lms.wsgi:app"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_200(base + "/healthz", timeout=30)
            session = requests.Session()
            token = re.search(r'csrf-token" content="([^"]+)"', session.get(base + "/login").text).group(1)
            session.post(base + "/login", data={"phone": "0900000003", "password": "demo12345", "csrf_token": token})
            token = re.search(r'csrf-token" content="([^"]+)"', session.get(base + "/courses/manage").text).group(1)
            headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": token}
            # A PDF header so the content check accepts it; the rest is incompressible noise.
            payload = b"%PDF-1.7\n" + os.urandom(SIZE - 9)
            meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in
                            {"filename": "bench.pdf", "course": "viet-bai-ban-hang", "purpose": "lesson"}.items())
            started = time.perf_counter()
            created = session.post(base + "/api/v1/uploads/", headers={**headers, "Upload-Length": str(SIZE),
                                                                        "Upload-Metadata": meta})
            location = base + created.headers["Location"]
            chunk_seconds = []
            offset = 0
            peak = {"rss_mib": 0.0}
            while offset < SIZE:
                t = time.perf_counter()
                response = session.patch(location, data=payload[offset:offset + CHUNK], headers={
                    **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                assert response.status_code == 204, response.text
                chunk_seconds.append(time.perf_counter() - t)
                offset = int(response.headers["Upload-Offset"])
                memory = tree_memory_mib(server.pid)
                if memory["rss_mib"] > peak["rss_mib"]:
                    peak = memory
            total = time.perf_counter() - started
            results = {
                "file_mib": SIZE / 1024**2,
                "chunk_mib": CHUNK / 1024**2,
                "chunks": len(chunk_seconds),
                "total_s": round(total, 2),
                "throughput_mib_s": round(SIZE / 1024**2 / total, 1),
                "chunk_s_median": round(statistics.median(chunk_seconds), 4),
                "chunk_s_max": round(max(chunk_seconds), 4),
                "last_chunk_s_including_store": round(chunk_seconds[-1], 3),
                "gunicorn_peak_memory_during_upload": peak,
            }
        finally:
            server.terminate()
            server.wait()
    save("uploads", results)


if __name__ == "__main__":
    main()
