"""Video processing: what a trainee's phone will get from what an instructor uploads."""

import struct
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

from lms.media import processing
from lms.media.processing import (
    RENDITION_360P,
    RENDITION_720P,
    MediaProcessingError,
    VideoInfo,
    make_poster,
    probe_video,
    renditions_for,
    transcode,
)

SECONDS = 3


def write_clip(
    path: Path,
    size: tuple[int, int],
    *,
    seconds: float = SECONDS,
    fps: int = 30,
    audio: bool = True,
    rotation: int | None = None,
    pix_fmt: str = "yuv420p",
    faststart: bool = False,
    frames: list[Image.Image] | None = None,
) -> Path:
    """Encode a test pattern (or the given pictures) with a 440 Hz tone, as a phone would: H.264 + AAC."""
    width, height = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.options = {"preset": "ultrafast"}
        if rotation is not None:
            video.set_display_rotation(rotation)
        if audio:
            sound = out.add_stream("aac", rate=48000, layout="stereo")
            with av.open(f"sine=f=440:d={seconds}:sample_rate=48000", format="lavfi") as tone:
                for frame in tone.decode(audio=0):
                    out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
        if frames is None:
            with av.open(f"testsrc2=s={width}x{height}:r={fps}:d={seconds}", format="lavfi") as pattern:
                pictures = list(pattern.decode(video=0))
        else:
            pictures = [av.VideoFrame.from_image(image) for image in frames]
        for index, frame in enumerate(pictures):
            frame.pts, frame.time_base, frame.pict_type = index, Fraction(1, fps), 0
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def top_level_boxes(path: Path) -> list[str]:
    """List the MP4 boxes in file order (to check moov comes before mdat)."""
    boxes = []
    with open(path, "rb") as mp4:
        while header := mp4.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", mp4.read(8))[0] - 8
            boxes.append(kind.decode("latin-1"))
            if size == 0:
                break
            mp4.seek(size - 8, 1)
    return boxes


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    half_white = Image.new("RGB", (320, 180), "black")
    half_white.paste((255, 255, 255), (0, 0, 160, 180))
    return {
        "landscape": write_clip(folder / "landscape.mp4", (1280, 720)),
        "vertical": write_clip(folder / "vertical.mp4", (720, 1280), seconds=2),
        "silent": write_clip(folder / "silent.mp4", (640, 360), seconds=2, audio=False),
        "small": write_clip(folder / "small.mp4", (320, 240), seconds=1),
        "odd": write_clip(folder / "odd.mp4", (427, 241), seconds=1, pix_fmt="yuv444p", audio=False),
        "fast": write_clip(folder / "fast.mp4", (320, 180), seconds=1, fps=60, audio=False),
        # Stored landscape, left half white; an iPhone held upright tags it "turn 90° clockwise".
        "rotated": write_clip(folder / "rotated.mp4", (320, 180), rotation=-90, audio=False,
                              frames=[half_white] * 30),
        "faststart": write_clip(folder / "faststart.mp4", (640, 360), seconds=2, faststart=True),
    }


def info(width: int, height: int) -> VideoInfo:
    return VideoInfo(duration_s=10.0, width=width, height=height, rotation=0, has_audio=True,
                     video_codec="h264", bit_rate=None)


def test_probe_describes_a_phone_video(clips):
    found = probe_video(clips["landscape"])
    assert (found.width, found.height, found.rotation) == (1280, 720, 0)
    assert found.duration_s == pytest.approx(SECONDS, abs=0.05)
    assert found.has_audio and found.video_codec == "h264" and found.bit_rate > 0


def test_probe_reports_the_upright_size_of_a_rotated_phone_video(clips):
    found = probe_video(clips["rotated"])
    assert (found.width, found.height, found.rotation) == (180, 320, 90)


def test_720p_rendition_is_offered_only_for_sources_at_least_that_sharp():
    assert renditions_for(info(1280, 720)) == [RENDITION_360P, RENDITION_720P]
    assert renditions_for(info(720, 1280)) == [RENDITION_360P, RENDITION_720P]
    assert renditions_for(info(1920, 1080)) == [RENDITION_360P, RENDITION_720P]
    assert renditions_for(info(1280, 718)) == [RENDITION_360P]
    assert renditions_for(info(320, 240)) == [RENDITION_360P]


def test_360p_rendition_of_a_720p_video_plays_on_a_cheap_phone(clips, tmp_path):
    out = tmp_path / "lesson-360p.mp4"
    reported = []
    rendition = transcode(clips["landscape"], out, RENDITION_360P, progress=reported.append)

    assert (rendition.width, rendition.height) == (640, 360)
    assert rendition.path == out and rendition.size_bytes == out.stat().st_size
    assert rendition.duration_s == pytest.approx(SECONDS, abs=0.2)
    # Playback starts before the download ends only if the index (moov) comes first.
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    with av.open(str(out)) as played:
        video, audio = played.streams.video[0], played.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.profile in {"Main", "Baseline", "Constrained Baseline"}
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert audio.codec_context.name == "aac" and audio.profile == "LC"
        assert played.duration / av.time_base == pytest.approx(SECONDS, abs=0.2)
        keyframes = [float(p.pts * p.time_base) for p in played.demux(video) if p.is_keyframe and p.pts is not None]
    # A keyframe every ~2 s lets a phone seek and recover without downloading much.
    assert keyframes[0] == 0 and max(b - a for a, b in zip(keyframes, [*keyframes[1:], SECONDS], strict=True)) <= 2.1
    assert rendition.video_kbps <= RENDITION_360P.video_kbps * 1.5
    assert reported == sorted(reported) and reported[-1] == 1.0 and len(reported) > 5
    assert leftovers(tmp_path, {out.name}) == []


def test_vertical_video_stays_vertical(clips, tmp_path):
    rendition = transcode(clips["vertical"], tmp_path / "v.mp4", RENDITION_360P)
    assert (rendition.width, rendition.height) == (360, 640)
    assert probe_video(rendition.path).width == 360


def test_rotation_is_applied_to_the_pixels(clips, tmp_path):
    rendition = transcode(clips["rotated"], tmp_path / "r.mp4", RENDITION_360P)
    assert (rendition.width, rendition.height) == (180, 320)
    played = probe_video(rendition.path)
    assert (played.width, played.height, played.rotation) == (180, 320, 0)
    with av.open(str(rendition.path)) as container:
        picture = next(container.decode(video=0)).to_image().convert("L")
    # Turned clockwise, the stored left (white) half must be on top.
    top = picture.crop((0, 0, 180, 150)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    bottom = picture.crop((0, 170, 180, 320)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert top > 200 and bottom < 50


def test_720p_rendition_keeps_a_720p_source_at_its_size(clips, tmp_path):
    rendition = transcode(clips["vertical"], tmp_path / "v720.mp4", RENDITION_720P)
    assert (rendition.width, rendition.height) == (720, 1280)


def test_small_video_is_never_upscaled(clips, tmp_path):
    rendition = transcode(clips["small"], tmp_path / "s.mp4", RENDITION_360P)
    assert (rendition.width, rendition.height) == (320, 240)


def test_odd_dimensions_become_even(clips, tmp_path):
    rendition = transcode(clips["odd"], tmp_path / "o.mp4", RENDITION_360P)
    assert (rendition.width, rendition.height) == (426, 240)
    with av.open(str(rendition.path)) as played:
        assert played.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_video_without_sound_gets_no_audio_track(clips, tmp_path):
    assert probe_video(clips["silent"]).has_audio is False
    rendition = transcode(clips["silent"], tmp_path / "silent.mp4", RENDITION_360P)
    with av.open(str(rendition.path)) as played:
        assert len(played.streams.audio) == 0 and len(played.streams.video) == 1


def test_frame_rate_is_capped_at_30(clips, tmp_path):
    rendition = transcode(clips["fast"], tmp_path / "f.mp4", RENDITION_360P)
    with av.open(str(rendition.path)) as played:
        frames = sum(1 for _ in played.decode(video=0))
    assert 29 <= frames <= 31
    assert rendition.duration_s == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("source", ["landscape", "faststart"])
def test_truncated_upload_is_refused_and_leaves_no_file(clips, tmp_path, source):
    data = clips[source].read_bytes()
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaProcessingError, match="damaged or incomplete"):
        transcode(truncated, out, RENDITION_360P)
    assert leftovers(tmp_path, {truncated.name}) == []


def test_failed_transcode_keeps_the_previous_rendition(clips, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous rendition")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clips["landscape"].read_bytes()[:5000])
    with pytest.raises(MediaProcessingError):
        transcode(broken, out, RENDITION_360P)
    assert out.read_bytes() == b"previous rendition"


def test_random_bytes_named_mp4_are_refused_with_a_reason(tmp_path):
    noise = tmp_path / "video.mp4"
    noise.write_bytes(bytes(range(256)) * 400)
    with pytest.raises(MediaProcessingError) as refused:
        probe_video(noise)
    assert str(refused.value) == "the video file is damaged or incomplete"


def test_audio_only_file_has_no_video_track(tmp_path):
    song = tmp_path / "song.m4a"
    with av.open(str(song), "w", format="mp4") as out, av.open("sine=d=1", format="lavfi") as tone:
        sound = out.add_stream("aac", rate=44100)
        for frame in tone.decode(audio=0):
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    with pytest.raises(MediaProcessingError, match="no video track"):
        probe_video(song)


def test_too_long_video_is_refused(clips, monkeypatch):
    monkeypatch.setattr(processing, "MAX_DURATION_S", 2)
    with pytest.raises(MediaProcessingError, match="too long"):
        probe_video(clips["landscape"])


def test_poster_is_an_upright_jpeg(clips, tmp_path):
    assert make_poster(clips["landscape"], tmp_path / "l.jpg") == (640, 360)
    assert make_poster(clips["rotated"], tmp_path / "r.jpg") == (180, 320)
    assert make_poster(clips["vertical"], tmp_path / "v.jpg", max_width=320, at_s=99) == (320, 569)
    for name, size in [("l.jpg", (640, 360)), ("r.jpg", (180, 320)), ("v.jpg", (320, 569))]:
        with Image.open(tmp_path / name) as poster:
            assert poster.format == "JPEG" and poster.size == size
    with Image.open(tmp_path / "r.jpg") as poster:
        assert poster.convert("L").getpixel((90, 40)) > 200
    assert leftovers(tmp_path, {"l.jpg", "r.jpg", "v.jpg"}) == []


def test_poster_of_a_damaged_file_is_refused(tmp_path):
    broken = tmp_path / "broken.mov"
    broken.write_bytes(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(3000))
    with pytest.raises(MediaProcessingError, match="damaged"):
        make_poster(broken, tmp_path / "p.jpg")
    assert not (tmp_path / "p.jpg").exists()
