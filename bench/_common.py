"""Helpers shared by the benchmarks: free ports, waiting for a server, memory of a process tree."""

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_200(url: str, timeout: float = 600, interval: float = 0.02) -> float:
    """Poll url until it answers 200; return the seconds it took."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(url)


def tree_memory_mib(pid: int) -> dict:
    """Return RSS and PSS (MiB) summed over a process and its descendants."""
    pids = [pid]
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            pids.append(child)
            stack.append(child)
    rss = pss = 0
    for p in pids:
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", text, re.M).group(1))
        pss += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))
    return {"processes": len(pids), "rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1)}


def instance_env(instance: Path, **extra) -> dict:
    env = {**os.environ, "LMS_INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite3'}"}
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def lms(*args, env, check=True, **kwargs):
    return subprocess.run([str(VENV_BIN / "lms"), *args], env=env, check=check, capture_output=True, text=True, **kwargs)


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def save(name: str, results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, indent=2, ensure_ascii=False))


def python() -> str:
    return str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable


def serve_lms(env: dict, *, gunicorn: bool = True, log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start the app on a free loopback port: gunicorn with gunicorn.conf.py (what `make run` serves) or `lms run`."""
    port = free_port()
    if gunicorn:
        command = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--access-logfile", "/dev/null",
                   "-b", f"127.0.0.1:{port}", "lms.wsgi:app"]
    else:  # Flask's development server
        command = [str(VENV_BIN / "lms"), "run", "--host", "127.0.0.1", "--port", str(port),
                   "--no-debugger", "--no-reload"]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the process writes it until it ends
    process = subprocess.Popen(command, env={**env, "FLASK_DEBUG": "0"}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"
