"""Turn uploaded photos into small, upright, metadata-free WebP variants sized for phones."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from lms.media.processing import MediaProcessingError, atomic_output

pillow_heif.register_heif_opener()

IMAGE_WIDTHS = (320, 640, 1280)
# 120 MP: cheap phones now take 108 MP photos; bigger is a decompression bomb, not a photo.
MAX_IMAGE_PIXELS = 120_000_000
# Pillow only raises at twice this (it merely warns in between); open_image() enforces the limit itself.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
WEBP_QUALITY = 80
# Slowest WebP method: a few percent smaller files for every later download, paid once in a background job.
WEBP_METHOD = 6
WEBP_MAX_SIDE = 16383
# A source only a little wider than the largest standard width it reaches is not worth a file of its own.
EXTRA_WIDTH_MIN_GAIN = 1.25
ORIENTATION_TAG = 0x0112
SWAPPED_ORIENTATIONS = {5, 6, 7, 8}
STEM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

DAMAGED = "the image file is damaged or incomplete"
TOO_LARGE = f"the image is too large (max {MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
NOT_AN_IMAGE = "the file is not a JPEG, PNG, WebP or HEIC image"
BAD_SHAPE = "the image is too long and thin to show"
# What Pillow and pillow-heif raise for bytes they cannot decode.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError)

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class ImageVariant:
    width: int
    height: int
    path: Path
    size_bytes: int
    mime: str


def inspect_image(path: str | Path) -> tuple[int, int]:
    """Return the upright (width, height) of a photo after decoding it fully to prove it is whole."""
    with _open_image(path) as image:
        size = _upright_size(image)
        if image.format == "JPEG":
            # Decoding at 1/8 scale still reads every byte, which is what proves the file is complete.
            image.draft(image.mode, (1, 1))
        _load(image)
    return size


def make_image_variants(
    path: str | Path, out_dir: Path, stem: str, widths: Iterable[int] = IMAGE_WIDTHS
) -> list[ImageVariant]:
    """Write upright sRGB WebP copies at each width the photo can fill, with every bit of metadata dropped."""
    if not STEM_PATTERN.fullmatch(stem):
        raise ValueError(f"unsafe file stem: {stem!r}")
    out_dir = Path(out_dir)
    with _open_image(path) as image:
        source_width, source_height = _upright_size(image)
        targets = variant_widths(source_width, widths)
        if image.format == "JPEG":
            # DCT scaling decodes a 12 MP photo at 1/2 or 1/4 size directly: far less memory and time.
            scale = max(targets) / source_width
            image.draft(image.mode, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        _load(image)
        picture = _to_srgb(ImageOps.exif_transpose(image))
    # Nothing of the original travels on: no EXIF (GPS of a trainee's home), XMP, ICC or comments.
    picture.info = {}
    variants = []
    for width in targets:
        height = max(1, round(source_height * width / source_width))
        if height > WEBP_MAX_SIDE:
            continue
        resized = picture.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out_path = out_dir / f"{stem}-{width}.webp"
        with atomic_output(out_path) as partial:
            resized.save(partial, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        variants.append(ImageVariant(width, height, out_path, out_path.stat().st_size, "image/webp"))
    if not variants:
        raise MediaProcessingError(BAD_SHAPE)
    return variants


def variant_widths(source_width: int, widths: Iterable[int] = IMAGE_WIDTHS) -> list[int]:
    """Pick the widths to publish: the standard ones the source can fill, plus its own if clearly wider."""
    chosen = sorted({width for width in widths if width <= source_width})
    if not chosen or (source_width < max(widths) and source_width >= chosen[-1] * EXTRA_WIDTH_MIN_GAIN):
        chosen.append(source_width)
    return chosen


@contextmanager
def _open_image(path: str | Path) -> Iterator[Image.Image]:
    """Open one of the accepted formats, refusing decompression bombs before any pixel is decoded."""
    try:
        image = Image.open(path, formats=ACCEPTED_FORMATS)
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaProcessingError(TOO_LARGE) from exc
    except UnidentifiedImageError as exc:
        raise MediaProcessingError(NOT_AN_IMAGE) from exc
    except DECODE_ERRORS as exc:
        raise MediaProcessingError(DAMAGED) from exc
    with image:
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise MediaProcessingError(TOO_LARGE)
        yield image


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except DECODE_ERRORS as exc:
        raise MediaProcessingError(DAMAGED) from exc


def _upright_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(ORIENTATION_TAG, 1)
    if orientation in SWAPPED_ORIENTATIONS:
        return image.height, image.width
    return image.width, image.height


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert to 8-bit sRGB (RGBA only when some pixel is actually see-through)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit greyscale PNG: scale to 8 bits rather than let everything above 255 clip to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    target_mode = "RGBA" if has_alpha else "RGB"
    icc_profile = image.info.get("icc_profile")
    converted = None
    if icc_profile:
        # iPhone photos are Display P3: dropping the profile without converting would dull every colour.
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(image, source_profile, _SRGB, outputMode=target_mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
    image = converted or (image if image.mode == target_mode else image.convert(target_mode))
    if target_mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB")
    return image
