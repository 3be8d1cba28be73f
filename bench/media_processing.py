"""Video processing figures: time per minute of phone video, rendition sizes, worker peak memory.

Run with `make bench` (or `cd bench && ../.venv/bin/python media_processing.py`). A 60 s 720p source with
motion, detail and sensor-like noise is generated first (about a minute on 2 cores), then each job runs in
a fresh worker-like process that reports its own peak RSS (VmHWM) when it is done.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, python, save

SOURCE_SECONDS = 60
# A shorter source of the same content shows whether memory grows with the length of the video.
SHORT_SOURCE_SECONDS = 10
SOURCE_SIZE = (1280, 720)
SOURCE_FPS = 30
# What a mid-range Android phone records at 720p.
SOURCE_VIDEO_BPS = 5_000_000
SOURCE_AUDIO_BPS = 128_000


def source_graph(seconds: int) -> str:
    """Describe a lavfi picture: moving colour gradients over a moving test card, plus temporal noise."""
    width, height = SOURCE_SIZE
    common = f"s={width}x{height}:r={SOURCE_FPS}:d={seconds}"
    return (
        f"gradients={common}:speed=0.03:n=6[g];testsrc2={common}[t];"
        "[t][g]blend=all_mode=average,noise=alls=8:allf=t[out0]"
    )


def make_source(path: Path, seconds: int) -> None:
    """Encode the test picture and a 440 Hz tone the way a phone would (H.264 High ~5 Mbps, AAC)."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=SOURCE_FPS)
        video.width, video.height = SOURCE_SIZE
        video.pix_fmt = "yuv420p"
        video.bit_rate = SOURCE_VIDEO_BPS
        video.codec_context.gop_size = SOURCE_FPS
        video.codec_context.thread_type = "FRAME"
        video.options = {"preset": "veryfast", "profile": "high", "bf": "0"}
        audio = out.add_stream("aac", rate=48000, layout="stereo")
        audio.bit_rate = SOURCE_AUDIO_BPS
        with av.open(f"sine=f=440:d={seconds}:sample_rate=48000", format="lavfi") as tone:
            for frame in tone.decode(audio=0):
                out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
        with av.open(source_graph(seconds), format="lavfi") as picture:
            for frame in picture.decode(video=0):
                frame.pict_type = 0
                out.mux(video.encode(frame))
        out.mux(video.encode(None))


def worker(task: str, source: Path, work: Path) -> dict:
    """Do what the background job does for one video and time each step (runs in its own process)."""
    sys.path.insert(0, str(ROOT))
    from lms.media.processing import make_poster, probe_video, renditions_for, transcode

    if task == "imports":
        return {"peak_rss_mib": peak_rss_mib()}
    timings: dict = {}
    started = time.perf_counter()
    info = probe_video(source)
    timings["probe_s"] = time.perf_counter() - started
    started = time.perf_counter()
    make_poster(source, work / "poster.jpg")
    timings["poster_s"] = time.perf_counter() - started
    for spec in renditions_for(info):
        started = time.perf_counter()
        rendition = transcode(source, work / f"{spec.label}.mp4", spec)
        timings[spec.label] = {
            "seconds": time.perf_counter() - started,
            "width": rendition.width,
            "height": rendition.height,
            "size_bytes": rendition.size_bytes,
            "duration_s": rendition.duration_s,
            "video_kbps": rendition.video_kbps,
        }
    timings["source_duration_s"] = info.duration_s
    # Read at the very end: the high-water mark covers probe, poster and both encodes.
    timings["peak_rss_mib"] = peak_rss_mib()
    return timings


def peak_rss_mib() -> float:
    """Return this process's peak resident memory (VmHWM), which exec() resets, unlike ru_maxrss."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("VmHWM not found in /proc/self/status")


def run_worker(task: str, source: Path, work: Path) -> dict:
    """Run one job in a fresh interpreter, like a queue worker; return its figures and peak memory."""
    command = [python(), str(Path(__file__).resolve()), "--worker", task, str(source), str(work)]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def rendition_figures(job: dict, label: str, source_bytes: int) -> dict:
    figures = job[label]
    minutes = job["source_duration_s"] / 60
    return {
        "size": f"{figures['width']}x{figures['height']}",
        "seconds": round(figures["seconds"], 2),
        "seconds_per_source_minute": round(figures["seconds"] / minutes, 2),
        "speed_x_realtime": round(job["source_duration_s"] / figures["seconds"], 2),
        "size_bytes": figures["size_bytes"],
        "size_ratio_vs_source": round(figures["size_bytes"] / source_bytes, 3),
        "total_kbps": round(figures["size_bytes"] * 8 / figures["duration_s"] / 1000),
        "video_kbps": figures["video_kbps"],
        "duration_s": figures["duration_s"],
    }


def main() -> None:
    import av

    from lms.media import processing

    with tempfile.TemporaryDirectory(prefix="lms-bench-media-") as tmp:
        folder = Path(tmp)
        long_source, short_source = folder / "phone-60s.mp4", folder / "phone-10s.mp4"
        started = time.perf_counter()
        make_source(long_source, SOURCE_SECONDS)
        generation_s = time.perf_counter() - started
        make_source(short_source, SHORT_SOURCE_SECONDS)
        source_bytes = long_source.stat().st_size

        for name in ("imports", "long", "short"):
            (folder / name).mkdir()
        imports_only = run_worker("imports", long_source, folder / "imports")
        long_job = run_worker("job", long_source, folder / "long")
        short_job = run_worker("job", short_source, folder / "short")

    results = {
        "source": {
            "duration_s": long_job["source_duration_s"],
            "size": f"{SOURCE_SIZE[0]}x{SOURCE_SIZE[1]}",
            "fps": SOURCE_FPS,
            "codec": "h264 High + AAC",
            "size_bytes": source_bytes,
            "kbps": round(source_bytes * 8 / long_job["source_duration_s"] / 1000),
            "generation_s": round(generation_s, 1),
        },
        "probe_s": round(long_job["probe_s"], 3),
        "poster_s": round(long_job["poster_s"], 3),
        "rendition_360p": rendition_figures(long_job, "360p", source_bytes),
        "rendition_720p": rendition_figures(long_job, "720p", source_bytes),
        "worker_peak_rss_mib": {
            "imports_only": imports_only["peak_rss_mib"],
            f"whole_job_{SOURCE_SECONDS}s_source": long_job["peak_rss_mib"],
            f"whole_job_{SHORT_SOURCE_SECONDS}s_source": short_job["peak_rss_mib"],
        },
        "encoder": {
            "preset": processing.X264_PRESET,
            "profile": processing.X264_PROFILE,
            "crf": processing.X264_CRF,
            "vbv_buffer_s": processing.VBV_BUFFER_SECONDS,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyav": av.__version__,
            "ffmpeg": av.ffmpeg_version_info,
        },
    }
    save("media_processing", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", nargs=3, metavar=("TASK", "SOURCE", "WORK"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        task, source, work = arguments.worker
        print(json.dumps(worker(task, Path(source), Path(work))))
    else:
        sys.path.insert(0, str(ROOT))
        main()
