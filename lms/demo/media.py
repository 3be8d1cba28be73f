"""Make the demo's media at seed time: cover pictures, a short intro clip per course, PDF handouts."""

import math
from fractions import Fraction
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

#: Background colours per course, so the three covers look different.
PALETTES = {
    "viet-bai-ban-hang": ((11, 93, 75), (234, 179, 8)),
    "quay-video-quang-cao": ((30, 58, 138), (244, 114, 182)),
    "livestream-ban-hang": ((168, 70, 26), (253, 186, 116)),
}


@cache
def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    import fontpkg_be_vietnam_pro

    name = "BeVietnamPro-Bold.ttf" if bold else "BeVietnamPro-Regular.ttf"
    return ImageFont.truetype(str(fontpkg_be_vietnam_pro.ROOT / "files" / name), size)


def title_card(slug: str, title: str, subtitle: str, size=(1280, 720)) -> Image.Image:
    """Draw a picture with a gradient and the course title, Vietnamese letters included."""
    start, end = PALETTES.get(slug, PALETTES["viet-bai-ban-hang"])
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t * 0.55) for a, b in zip(start, end, strict=True)))
    for i in range(6):  # soft circles, like mother-of-pearl
        r = 60 + 40 * i
        draw.ellipse([width - 260 - r, 80 - r // 3, width - 260 + r, 80 + r], outline=(255, 255, 255), width=2)
    scale = width / 1280
    big, small = font(int(64 * scale)), font(int(32 * scale), bold=False)
    y = int(height * 0.42)
    for line in wrap_to_width(draw, title, big, int(width * 0.62)):
        draw.text((int(70 * scale), y), line, font=big, fill="white")
        y += int(80 * scale)
    draw.text((int(70 * scale), y + int(20 * scale)), subtitle, font=small, fill=(255, 255, 255))
    return image


def wrap_to_width(draw: ImageDraw.ImageDraw, text: str, face, max_width: int) -> list[str]:
    """Break text into lines no wider than max_width pixels, balancing the last line."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=face) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    if len(lines) > 1 and len(lines[-1].split()) == 1:  # no lonely last word
        head = lines[-2].split()
        lines[-2], lines[-1] = " ".join(head[:-1]), f"{head[-1]} {lines[-1]}"
    return lines


def save_cover(slug: str, title: str, path: Path) -> Path:
    title_card(slug, title, "Làng Số · Kỹ năng số cho làng nghề").save(path, "JPEG", quality=88)
    return path


def make_intro_clip(slug: str, title: str, path: Path, seconds: int = 6, fps: int = 25) -> Path:
    """Encode a short 720p H.264/AAC clip: the title card with a moving progress line and a soft tone."""
    import av

    base = title_card(slug, title, "Video giới thiệu khoá học")
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "23", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = base.width, base.height, "yuv420p"
        audio = container.add_stream("aac", rate=44100, layout="mono")
        frames = seconds * fps
        for index in range(frames):
            frame_image = base.copy()
            draw = ImageDraw.Draw(frame_image)
            progress = (index + 1) / frames
            draw.rectangle([0, base.height - 14, int(base.width * progress), base.height], fill="white")
            for packet in video.encode(av.VideoFrame.from_image(frame_image)):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        samples_per_frame = 1024
        total = seconds * 44100
        for start in range(0, total, samples_per_frame):
            count = min(samples_per_frame, total - start)
            tone = [0.15 * math.sin(2 * math.pi * 330 * (start + n) / 44100) for n in range(count)]
            frame = av.AudioFrame(format="flt", layout="mono", samples=count)
            frame.planes[0].update(_floats(tone))
            frame.sample_rate = 44100
            frame.pts = start
            frame.time_base = Fraction(1, 44100)
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def _floats(values: list[float]) -> bytes:
    import array

    return array.array("f", values).tobytes()


def make_handout(markdown_path: Path, path: Path) -> Path:
    from lms.core.pdf import render_handout

    path.write_bytes(render_handout(markdown_path.read_text(encoding="utf-8"), footer="Làng Số · Phiếu ghi nhớ"))
    return path
