"""Probe phone videos and turn them into small H.264 renditions and posters that play on cheap phones over 3G."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.filter
from av.container import InputContainer, OutputContainer
from av.stream import Disposition
from av.video.frame import PictureType

MAX_DURATION_S = 3600
MAX_OUTPUT_FPS = 30
KEYFRAME_INTERVAL_S = 2
POSTER_POSITION = 0.10
POSTER_JPEG_QUALITY = 80
# A phone video with a glitch or two should still go through; a stream of errors means the file is broken.
MAX_UNDECODABLE_PACKETS = 50
# How much of the declared length may be missing before a file counts as cut short.
MISSING_TAIL_TOLERANCE_S = 1.0
MISSING_TAIL_TOLERANCE_RATIO = 0.05
# x264 settings: "veryfast" is the knee of the size/time curve; "main" decodes in hardware on every Android phone.
X264_PRESET = "veryfast"
X264_PROFILE = "main"
# Quality target; maxrate/bufsize below cap the peaks, so easy footage (slides, a face) costs far less than the cap.
X264_CRF = 23
VBV_BUFFER_SECONDS = 2
AAC_SAMPLE_RATES = (44100, 48000)

# FFmpeg colour constants (AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace / AVColorRange).
BT709 = 1
BT2020_PRIMARIES = 9
HDR_TRANSFERS = {16, 18}  # PQ (SMPTE 2084) and HLG (ARIB STD-B67): iPhone "HDR video"
LIMITED_RANGE = 1

DAMAGED = "the video file is damaged or incomplete"
NO_VIDEO = "the file has no video track"
UNREADABLE_CODEC = "the video is in a format that cannot be read"
TOO_LONG = f"the video is too long (max {MAX_DURATION_S // 60} minutes)"
EMPTY = "the video is empty"


class MediaProcessingError(Exception):
    """A media file cannot be processed; str(exc) says why in words a person can read."""


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int  # as displayed: rotation and pixel aspect ratio applied
    height: int
    rotation: int  # clockwise degrees (0, 90, 180, 270) to turn the stored picture upright
    has_audio: bool
    video_codec: str
    bit_rate: int | None  # bits per second of the video track (of the whole file if unknown)


@dataclass(frozen=True)
class RenditionSpec:
    label: str
    short_side: int
    video_kbps: int
    audio_kbps: int


@dataclass(frozen=True)
class Rendition:
    label: str
    width: int
    height: int
    path: Path
    size_bytes: int
    duration_s: float
    video_kbps: int  # measured average of the encoded video track


RENDITION_360P = RenditionSpec("360p", 360, 400, 64)
RENDITION_720P = RenditionSpec("720p", 720, 1500, 96)


def probe_video(path: str | Path) -> VideoInfo:
    """Describe a video as it will be displayed; raise MediaProcessingError if it cannot be used."""
    with _open_input(path) as container:
        stream = _video_stream(container)
        duration = _declared_duration(container, stream)
        if duration is not None and duration > MAX_DURATION_S:
            raise MediaProcessingError(TOO_LONG)
        first_frame = _first_frame(container, stream)
        rotation = _rotation(stream, first_frame)
        width, height = _display_size(first_frame.width, first_frame.height, stream.sample_aspect_ratio, rotation)
        has_audio = _audio_stream(container) is not None
        video_codec = stream.codec_context.name
        bit_rate = stream.bit_rate or container.bit_rate or None
    if duration is None:
        # WebM from browser recorders and some streamed files carry no duration: measure it.
        duration = _scanned_duration(path)
    if duration > MAX_DURATION_S:
        raise MediaProcessingError(TOO_LONG)
    if duration <= 0:
        raise MediaProcessingError(EMPTY)
    return VideoInfo(
        duration_s=duration,
        width=width,
        height=height,
        rotation=rotation,
        has_audio=has_audio,
        video_codec=video_codec,
        bit_rate=bit_rate,
    )


def renditions_for(info: VideoInfo) -> list[RenditionSpec]:
    """List the renditions worth making: 360p always, 720p only when the source is at least that sharp."""
    specs = [RENDITION_360P]
    if min(info.width, info.height) >= RENDITION_720P.short_side:
        specs.append(RENDITION_720P)
    return specs


def rendition_size(info: VideoInfo, spec: RenditionSpec) -> tuple[int, int]:
    """Return the even (width, height) of a rendition: short side at spec.short_side, never upscaled."""
    short = min(info.width, info.height)
    if short <= spec.short_side:
        return _even_floor(info.width), _even_floor(info.height)
    ratio = spec.short_side / short
    if info.width <= info.height:
        return spec.short_side, _even_round(info.height * ratio)
    return _even_round(info.width * ratio), spec.short_side


def make_poster(
    path: str | Path, out_path: str | Path, *, at_s: float | None = None, max_width: int = 640
) -> tuple[int, int]:
    """Save an upright JPEG still from about 10% into the video (or at_s); return its (width, height)."""
    info = probe_video(path)
    target_s = info.duration_s * POSTER_POSITION if at_s is None else at_s
    target_s = min(max(target_s, 0.0), max(info.duration_s - 0.05, 0.0))
    width = min(max_width, info.width)
    height = max(1, round(info.height * width / info.width))
    with _open_input(path) as container:
        stream = _video_stream(container)
        frame = _frame_near(container, stream, target_s)
        converter = _FrameConverter(info.rotation, (width, height), "rgb24")
        image = (converter.convert(frame) + converter.flush())[0].to_image()
    with atomic_output(out_path) as partial:
        image.save(partial, format="JPEG", quality=POSTER_JPEG_QUALITY, optimize=True, progressive=True)
    return image.size


def transcode(
    path: str | Path,
    out_path: str | Path,
    spec: RenditionSpec,
    *,
    progress: Callable[[float], None] | None = None,
) -> Rendition:
    """Encode a rendition as faststart H.264/AAC MP4, frame by frame, and write it atomically."""
    info = probe_video(path)
    width, height = rendition_size(info, spec)
    out_path = Path(out_path)
    with atomic_output(out_path) as partial:
        with (
            _open_input(path) as source,
            av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"}) as sink,
        ):
            encoder = _RenditionEncoder(source, sink, info, spec, (width, height), progress)
            encoder.run()
        missing_s = info.duration_s - encoder.video_end_s
        if missing_s > max(MISSING_TAIL_TOLERANCE_S, info.duration_s * MISSING_TAIL_TOLERANCE_RATIO):
            # The header promised more than the file holds: an upload cut short.
            raise MediaProcessingError(DAMAGED)
    if progress:
        progress(1.0)
    duration = encoder.video_end_s
    return Rendition(
        label=spec.label,
        width=width,
        height=height,
        path=out_path,
        size_bytes=out_path.stat().st_size,
        duration_s=round(duration, 3),
        video_kbps=round(encoder.video_bytes * 8 / duration / 1000) if duration > 0 else 0,
    )


class _RenditionEncoder:
    """Decode, rotate, scale, re-time and encode one source into one open MP4 sink."""

    def __init__(
        self,
        source: InputContainer,
        sink: OutputContainer,
        info: VideoInfo,
        spec: RenditionSpec,
        size: tuple[int, int],
        progress: Callable[[float], None] | None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.info = info
        self.progress = progress
        self.reported = 0.0
        self.undecodable = 0
        self.video_bytes = 0
        self.video_end_s = 0.0
        self.last_video_pts: int | None = None
        self.last_fps_slot: int | None = None

        self.video_in = _video_stream(source)
        # Frame threads keep both cores busy on the decoder, the costliest step for HEVC sources.
        self.video_in.thread_type = "AUTO"
        self.audio_in = _audio_stream(source)
        # One clock for both tracks, so audio keeps its offset from the picture.
        self.origin_s = min(_start_s(s) for s in (self.video_in, self.audio_in) if s is not None)

        source_fps = self.video_in.average_rate or self.video_in.guessed_rate or MAX_OUTPUT_FPS
        self.fps = min(Fraction(source_fps), Fraction(MAX_OUTPUT_FPS))
        self.video_out = self._add_video_output(sink, spec, size)
        self.converter = _FrameConverter(info.rotation, size, "yuv420p")
        self.audio_out = self._add_audio_output(sink, spec)

    def _add_video_output(self, sink: OutputContainer, spec: RenditionSpec, size: tuple[int, int]):
        """Add the H.264 track: the source's clock and colours, x264 capped for a 3G link."""
        video_out = sink.add_stream("libx264", rate=self.fps)
        codec = video_out.codec_context
        codec.width, codec.height = size
        codec.pix_fmt = "yuv420p"
        # PyAV defaults to x264's sliced threads (a low-latency mode); frame threads compress better.
        codec.thread_type = "FRAME"
        # Keep the source clock: variable frame rate phone footage stays in sync.
        codec.time_base = self.video_in.time_base
        video_out.time_base = self.video_in.time_base
        codec.gop_size = max(1, round(self.fps * KEYFRAME_INTERVAL_S))
        # Keep the source's colour tags (no costly matrix conversion); HDR is converted to BT.709 below.
        source_colour = self.video_in.codec_context
        if _is_wide_gamut(source_colour):
            codec.color_primaries = codec.color_trc = codec.colorspace = BT709
        else:
            codec.color_primaries = source_colour.color_primaries
            codec.color_trc = source_colour.color_trc
            codec.colorspace = source_colour.colorspace
        codec.color_range = LIMITED_RANGE
        codec.options = {
            "preset": X264_PRESET,
            "profile": X264_PROFILE,
            "crf": str(X264_CRF),
            # A tight VBV cap keeps every 2 s window near the target, so a 3G link never starves the player.
            "maxrate": f"{spec.video_kbps}k",
            "bufsize": f"{spec.video_kbps * VBV_BUFFER_SECONDS}k",
            "x264-params": f"keyint-min={max(1, round(self.fps))}",
        }
        return video_out

    def _add_audio_output(self, sink: OutputContainer, spec: RenditionSpec):
        """Add the AAC track at a rate AAC takes, mono or stereo as the source; None without audio."""
        if self.audio_in is None:
            return None
        in_rate = self.audio_in.codec_context.sample_rate
        channels = self.audio_in.codec_context.channels
        audio_out = sink.add_stream(
            "aac",
            rate=in_rate if in_rate in AAC_SAMPLE_RATES else AAC_SAMPLE_RATES[0],
            layout="mono" if channels == 1 else "stereo",
        )
        audio_out.codec_context.bit_rate = spec.audio_kbps * 1000
        return audio_out

    def run(self) -> None:
        """Stream every packet through decode, filter and encode, then flush the encoders."""
        wanted = [s for s in (self.video_in, self.audio_in) if s is not None]
        for packet in _demux(self.source, wanted):
            for frame in self._decode(packet):
                if packet.stream is self.video_in:
                    self._encode_video(frame)
                else:
                    self._encode_audio(frame)
        for frame in self.converter.flush():
            self._write_video(frame)
        self.sink.mux(self.video_out.encode(None))
        if self.audio_out is not None:
            self.sink.mux(self.audio_out.encode(None))
        if self.last_video_pts is None:
            raise MediaProcessingError(DAMAGED)

    def _decode(self, packet: av.Packet) -> list:
        try:
            return packet.decode()
        except av.FFmpegError as exc:
            self.undecodable += 1
            if self.undecodable > MAX_UNDECODABLE_PACKETS:
                raise MediaProcessingError(DAMAGED) from exc
            return []

    def _encode_video(self, frame: av.VideoFrame) -> None:
        if frame.pts is None:
            return
        # At most one frame per 1/30 s slot: 60 fps phone footage halves, 30 fps and VFR pass untouched.
        slot = math.floor(frame.time * MAX_OUTPUT_FPS + 0.5)
        if self.last_fps_slot is not None and slot <= self.last_fps_slot:
            return
        self.last_fps_slot = slot
        for converted in self.converter.convert(frame):
            self._write_video(converted)

    def _write_video(self, frame: av.VideoFrame) -> None:
        pts = frame.pts - round(self.origin_s / self.video_in.time_base)
        if self.last_video_pts is not None and pts <= self.last_video_pts:
            pts = self.last_video_pts + 1
        frame.pts = pts
        frame.time_base = self.video_in.time_base
        # x264 obeys a frame's picture type; left as decoded, every source keyframe is forced on us.
        frame.pict_type = PictureType.NONE
        self.last_video_pts = pts
        end_s = float(pts * self.video_in.time_base) + float(1 / self.fps)
        self.video_end_s = max(self.video_end_s, end_s)
        for packet in self.video_out.encode(frame):
            self.video_bytes += packet.size
            self.sink.mux(packet)
        self._report(end_s)

    def _encode_audio(self, frame: av.AudioFrame) -> None:
        if frame.pts is None or self.audio_out is None:
            return
        frame.pts -= round(self.origin_s / self.audio_in.time_base)
        try:
            self.sink.mux(self.audio_out.encode(frame))
        except ValueError as exc:
            # PyAV cannot follow a mid-stream change of channel layout or sample rate.
            raise MediaProcessingError(DAMAGED) from exc

    def _report(self, done_s: float) -> None:
        if self.progress is None:
            return
        fraction = min(done_s / self.info.duration_s, 0.99)
        if fraction - self.reported >= 0.01:
            self.reported = fraction
            self.progress(fraction)


class _FrameConverter:
    """Rotate, scale and convert frames with an FFmpeg filter graph rebuilt if the source changes shape."""

    def __init__(self, rotation: int, size: tuple[int, int], pix_fmt: str) -> None:
        self.rotation = rotation
        self.size = size
        self.pix_fmt = pix_fmt
        self.graph: av.filter.Graph | None = None
        self.shape: tuple | None = None

    def convert(self, frame: av.VideoFrame) -> list[av.VideoFrame]:
        """Push one decoded frame; return the frames ready on the other side."""
        shape = (frame.width, frame.height, frame.format.name, frame.time_base, _is_wide_gamut(frame))
        if shape != self.shape:
            flushed = self.flush()
            self.graph = self._build(frame)
            self.shape = shape
        else:
            flushed = []
        self.graph.push(frame)
        return flushed + self._pull()

    def flush(self) -> list[av.VideoFrame]:
        """Drain the graph at the end of the stream."""
        if self.graph is None:
            return []
        self.graph.push(None)
        frames = self._pull()
        self.graph = None
        return frames

    def _pull(self) -> list[av.VideoFrame]:
        frames = []
        while True:
            try:
                frames.append(self.graph.pull())
            except (av.BlockingIOError, av.EOFError):
                return frames

    def _build(self, frame: av.VideoFrame) -> av.filter.Graph:
        graph = av.filter.Graph()
        chain = [graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                  time_base=frame.time_base)]
        if self.rotation == 90:
            chain.append(graph.add("transpose", "clock"))
        elif self.rotation == 270:
            chain.append(graph.add("transpose", "cclock"))
        elif self.rotation == 180:
            chain += [graph.add("hflip"), graph.add("vflip")]
        width, height = self.size
        # Full-range phone footage becomes TV range, which every decoder and player expects.
        scale = f"w={width}:h={height}:out_range=tv"
        if _is_wide_gamut(frame):
            # iPhone HDR (HLG/PQ, BT.2020) would look grey and washed out if only the bits were cut to 8.
            scale += ":out_color_matrix=bt709:out_primaries=bt709:out_transfer=bt709"
        chain.append(graph.add("scale", scale))
        chain.append(graph.add("setsar", "1"))
        chain.append(graph.add("format", f"pix_fmts={self.pix_fmt}"))
        chain.append(graph.add("buffersink"))
        graph.link_nodes(*chain).configure()
        return graph


@contextmanager
def _open_input(path: str | Path) -> Iterator[InputContainer]:
    """Open a media file for reading, turning FFmpeg's parse errors into a readable reason."""
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except FileNotFoundError:
        raise
    except av.FFmpegError as exc:
        raise MediaProcessingError(DAMAGED) from exc
    try:
        yield container
    finally:
        container.close()


@contextmanager
def atomic_output(out_path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside out_path; rename it into place only if the block succeeds."""
    out_path = Path(out_path)
    partial = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex}.partial")
    try:
        yield partial
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)


def _demux(container: InputContainer, streams: list) -> Iterator[av.Packet]:
    """Yield packets of the chosen streams; a read error in the middle means a damaged file."""
    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            raise MediaProcessingError(DAMAGED) from exc
        yield packet


def _video_stream(container: InputContainer) -> av.VideoStream:
    for stream in container.streams.video:
        # Cover art in an MP4 is a one-picture "video" stream; it is not the lesson.
        if stream.disposition & Disposition.attached_pic:
            continue
        if stream.codec_context is None:
            raise MediaProcessingError(UNREADABLE_CODEC)
        return stream
    raise MediaProcessingError(NO_VIDEO)


def _audio_stream(container: InputContainer) -> av.AudioStream | None:
    for stream in container.streams.audio:
        if stream.codec_context is not None and stream.codec_context.sample_rate:
            return stream
    return None


def _first_frame(container: InputContainer, stream: av.VideoStream) -> av.VideoFrame:
    undecodable = 0
    for packet in _demux(container, [stream]):
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            undecodable += 1
            if undecodable > MAX_UNDECODABLE_PACKETS:
                raise MediaProcessingError(DAMAGED) from exc
            continue
        if frames:
            return frames[0]
    raise MediaProcessingError(DAMAGED)


def _frame_near(container: InputContainer, stream: av.VideoStream, target_s: float) -> av.VideoFrame:
    """Return the first frame at or after target_s (seconds from the start), or the last one before it."""
    target_s += _start_s(stream)
    try:
        container.seek(round(target_s / stream.time_base), stream=stream, backward=True)
    except av.FFmpegError:
        container.seek(0)
    last = None
    for packet in _demux(container, [stream]):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            continue
        for frame in frames:
            last = frame
            if frame.time is not None and frame.time >= target_s - 0.001:
                return frame
    if last is None:
        raise MediaProcessingError(DAMAGED)
    return last


def _rotation(stream: av.VideoStream, frame: av.VideoFrame) -> int:
    """Return the clockwise turn that makes the picture upright (display matrix, else a legacy 'rotate' tag)."""
    counter_clockwise = frame.rotation
    if counter_clockwise:
        clockwise = -counter_clockwise
    else:
        try:
            clockwise = int(float(stream.metadata.get("rotate", 0)))
        except ValueError:
            clockwise = 0
    return round(clockwise / 90) * 90 % 360


def _display_size(width: int, height: int, sample_aspect: Fraction | None, rotation: int) -> tuple[int, int]:
    if sample_aspect and sample_aspect > 0 and sample_aspect != 1:
        width = max(1, round(width * sample_aspect))
    if rotation in (90, 270):
        return height, width
    return width, height


def _declared_duration(container: InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _scanned_duration(path: str | Path) -> float:
    """Measure the video track by reading packet timestamps, without decoding."""
    end_s = 0.0
    with _open_input(path) as container:
        stream = _video_stream(container)
        start_s = _start_s(stream)
        for packet in _demux(container, [stream]):
            if packet.pts is None:
                continue
            end = (packet.pts + (packet.duration or 0)) * stream.time_base
            end_s = max(end_s, float(end) - start_s)
            if end_s > MAX_DURATION_S:
                break
    return end_s


def _start_s(stream: av.stream.Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _is_wide_gamut(picture: av.VideoFrame | av.video.codeccontext.VideoCodecContext) -> bool:
    return picture.color_primaries == BT2020_PRIMARIES or picture.color_trc in HDR_TRANSFERS


def _even_floor(value: int) -> int:
    return max(2, value // 2 * 2)


def _even_round(value: float) -> int:
    return max(2, round(value / 2) * 2)
