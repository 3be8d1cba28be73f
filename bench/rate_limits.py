"""Issue 13 figure: tries let through before each limit refuses, with gunicorn's 2 workers and no Redis.

Each limit is the configured number or it is broken: with per-process counters two workers let
18 wrong passwords through a limit of 10, and 94 through 50. Here the counters are the SQLite
file every worker shares (lms/core/ratelimits.py). Two set-ups, each on a fresh instance:

- `direct`: clients talk to gunicorn (LMS_TRUSTED_PROXIES=0);
- `proxy`: behind Debian's nginx (LMS_TRUSTED_PROXIES=1), so every connection the app sees comes
  from nginx and its X-Forwarded-For is the only way to tell clients apart.

In both, each client sends from its own loopback address (127.0.0.x).

Per set-up: wrong passwords for one phone from one client (goal: LOGIN_LIMIT_PER_PHONE_AND_CLIENT,
10); wrong passwords for new phones from one client (goal: LOGIN_LIMIT_PER_IP, 50); one wrong
password each from 60 clients behind the proxy (goal: none refused); certificate look-ups from one
client (goal: LMS_VERIFY_LIMIT, 30); wrong passwords for one phone from 40 clients (goal: slowed,
not shut: the owner logs in from a device it used before at once, and from a new one within
LOGIN_SLOWDOWN_MAX_SECONDS).

Run: .venv/bin/python bench/rate_limits.py [--setup direct|proxy|both]
"""

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from _common import free_port, instance_env, lms, save, serve_lms, wait_for_200
from requests.adapters import HTTPAdapter

OWNER_PHONE, OWNER_PASSWORD = "0912000001", "lop-hoc-2026"  # noqa: S105 - the benchmark's own account
GUESSED_PHONE = "0912000002"  # the account someone else guesses at
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf-token" content="([^"]+)"')


class SourceAddress(HTTPAdapter):
    """Send from one loopback address, as one client among many."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session


def wrong_login(session: requests.Session, base: str, phone: str, password: str = "sai-mat-khau-1") -> requests.Response:  # noqa: S107
    html = session.get(f"{base}/login", timeout=30).text
    token = next(g for g in CSRF.search(html).groups() if g)
    return session.post(f"{base}/login", data={"phone": phone, "password": password, "csrf_token": token},
                        allow_redirects=False, timeout=30)


def let_through(statuses: list[int]) -> int:
    """Return how many answers came before the first refusal (all of them when none was refused)."""
    return statuses.index(429) if 429 in statuses else len(statuses)


def nginx(upstream: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/body; proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fcgi; uwsgi_temp_path {workdir}/uwsgi; scgi_temp_path {workdir}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass {upstream};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
""")
    process = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def measure(base: str) -> dict:
    def address(i: int) -> str:
        return f"127.0.0.{10 + i}"

    results = {}
    one = client(address(0))
    results["one_phone_one_client"] = let_through([wrong_login(one, base, OWNER_PHONE).status_code for _ in range(15)])
    many = client(address(1))
    results["new_phones_one_client"] = let_through(
        [wrong_login(many, base, f"09130{i:05d}").status_code for i in range(60)])
    statuses = [wrong_login(client(address(2 + i)), base, f"09140{i:05d}").status_code for i in range(60)]
    results["one_try_each_from_60_clients_refused"] = statuses.count(429)
    lookups = client(address(70))
    results["certificate_lookups_one_client"] = let_through(
        [lookups.get(f"{base}/verify/LS1-NOTACODE{i:04d}", timeout=30).status_code for i in range(40)])
    return results


def slowed_not_shut(base: str) -> dict:
    """Someone guesses the owner's password from many addresses; how long is the owner kept out?"""
    def address(i: int) -> str:
        return f"127.0.0.{100 + i}"

    known = client(address(0))
    assert wrong_login(known, base, GUESSED_PHONE, OWNER_PASSWORD).status_code == 302
    statuses = []
    for i in range(40):
        statuses.append(wrong_login(client(address(1 + i)), base, GUESSED_PHONE).status_code)
    known.cookies.pop("session", None)
    own_device = wrong_login(known, base, GUESSED_PHONE, OWNER_PASSWORD).status_code
    fresh = client(address(150))
    started = time.monotonic()
    while (answer := wrong_login(fresh, base, GUESSED_PHONE, OWNER_PASSWORD)).status_code == 429:
        time.sleep(int(answer.headers.get("Retry-After", "1")))
        if time.monotonic() - started > 16 * 60:
            break
    return {"wrong_tries_let_through_from_40_clients": statuses.count(200),
            "owner_on_a_device_used_before": own_device,
            "owner_on_a_new_device_waited_s": round(time.monotonic() - started, 1),
            "owner_on_a_new_device_finally": answer.status_code}


def run_setup(name: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-limits-{name}-") as tmp:
        instance = Path(tmp)
        env = instance_env(instance, LMS_TRUSTED_PROXIES="1" if name == "proxy" else "0")
        lms("db", "upgrade", env=env)
        for phone in (OWNER_PHONE, GUESSED_PHONE):
            lms("users", "create", "--role", "trainee", "--phone", phone, "--name", "Chủ tài khoản",
                "--password", OWNER_PASSWORD, env=env)
        server, base = serve_lms(env)
        proxy = None
        try:
            wait_for_200(f"{base}/login", timeout=60)
            if name == "proxy":
                proxy, base = nginx(base, instance)
                wait_for_200(f"{base}/login", timeout=30)
            figures = measure(base)
            figures.update(slowed_not_shut(base))
            figures["counters"] = "lms+sqlite (instance/rate-limits.sqlite3), 2 gunicorn workers, no Redis"
            return figures
        finally:
            for process in (proxy, server):
                if process:
                    process.terminate()
                    process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setup", choices=["direct", "proxy", "both"], default="both")
    args = parser.parse_args()
    setups = ["direct", "proxy"] if args.setup == "both" else [args.setup]
    if "proxy" in setups and not shutil.which("nginx"):
        raise SystemExit("nginx is needed for --setup proxy: apt-get install nginx-light")
    results = {"goals": {"one_phone_one_client": 10, "new_phones_one_client": 50, "certificate_lookups_one_client": 30,
                         "one_try_each_from_60_clients_refused": 0}}
    for setup in setups:
        results[setup] = run_setup(setup)
    save("rate_limits", results)


if __name__ == "__main__":
    main()
