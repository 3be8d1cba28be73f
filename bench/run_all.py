"""Run every benchmark; each writes bench/results/<name>.json and prints its figures."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["foundation.py", "uploads.py", "media_processing.py", "learning_load.py", "import_trainees.py",
           "export_attendance.py", "checkins.py", "certificates.py", "class_page.py", "login_burst.py", "rate_limits.py",
           "progress_load.py"]

if __name__ == "__main__":
    failed = 0
    for bench in BENCHES:
        print(f"== {bench}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / bench), *sys.argv[1:]], cwd=HERE).returncode
    sys.exit(failed)
