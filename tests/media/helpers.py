"""Test helpers for media: tiny real files and a tus client built on the Flask test client."""

import base64
import io
import re

from PIL import Image

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def png_bytes(width=800, height=600) -> bytes:
    """Return a noisy photo-like PNG (noise keeps it large, like a real photo)."""
    import numpy as np

    pixels = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def pdf_bytes(text: str = "Tài liệu") -> bytes:
    from lms.core.pdf import render_handout

    return render_handout(f"# {text}\nNội dung.")


def mp4_bytes(seconds: float = 2.0, width: int = 640, height: int = 360) -> bytes:
    """Encode a short real H.264/AAC clip in memory."""
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        frames = int(seconds * 25)
        for i in range(frames):
            image = np.zeros((height, width, 3), dtype=np.uint8)
            image[:, : (i * width) // frames] = (30, 160, 90)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        samples = int(seconds * 44100)
        t = np.arange(samples) / 44100
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in audio.encode(frame):
            container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return buffer.getvalue()


def meta(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class Tus:
    """Speak tus 1.0 to the app through a logged-in Flask test client."""

    def __init__(self, client, csrf: str):
        self.client = client
        self.headers = {"Tus-Resumable": "1.0.0", "X-CSRFToken": csrf}

    def create(self, length: int, course: str, filename="bai-hoc.mp4", purpose="lesson"):
        return self.client.post("/api/v1/uploads/", headers={
            **self.headers, "Upload-Length": str(length),
            "Upload-Metadata": meta(filename=filename, course=course, purpose=purpose)})

    def patch(self, location: str, offset: int, data: bytes):
        return self.client.patch(location, data=data, headers={
            **self.headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})

    def head(self, location: str):
        return self.client.head(location, headers=self.headers)

    def upload(self, data: bytes, course: str, filename="bai-hoc.mp4", purpose="lesson", chunk=64 * 1024):
        """Upload all of data in chunks; return the last response."""
        created = self.create(len(data), course, filename, purpose)
        assert created.status_code == 201, created.get_data(as_text=True)
        location = created.headers["Location"]
        offset = 0
        response = None
        while offset < len(data):
            response = self.patch(location, offset, data[offset : offset + chunk])
            if response.status_code != 204:
                return response
            offset = int(response.headers["Upload-Offset"])
        return response


def csrf_from(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
