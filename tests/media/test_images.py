"""Photo variants: upright, phone-sized WebP that never leak where a photo was taken."""

import struct
import warnings
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageCms, ImageDraw

from lms.media.images import IMAGE_WIDTHS, inspect_image, make_image_variants, variant_widths
from lms.media.processing import MediaProcessingError

GPS_IFD = 0x8825
ORIENTATION = 0x0112
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def phone_photo(path: Path, size=(1600, 1200), orientation=6, **save) -> Path:
    """Save a JPEG as a phone would: stored landscape, EXIF orientation, GPS position, ICC profile."""
    picture = Image.new("RGB", size, "white")
    # Mark the stored top edge red, so the upright result can be checked.
    ImageDraw.Draw(picture).rectangle((0, 0, size[0], size[1] // 10), fill="red")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 51.0, 0.0)}
    picture.save(path, exif=exif, icc_profile=SRGB_ICC, quality=90, **save)
    return path


def webp_chunks(path: Path) -> list[bytes]:
    """List the RIFF chunk names of a WebP file (EXIF, XMP and ICCP would carry metadata)."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        name, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        chunks.append(name)
        offset += 8 + size + (size & 1)
    return chunks


def png_header_only(width: int, height: int) -> bytes:
    """Return a tiny PNG that claims a huge size: the classic decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def test_variants_are_upright_metadata_free_webp(tmp_path):
    source = phone_photo(tmp_path / "photo.jpg")
    assert Image.open(source).getexif().get_ifd(GPS_IFD)  # the source really carries a location
    out = tmp_path / "out"
    out.mkdir()

    variants = make_image_variants(source, out, "abc123")

    assert [v.width for v in variants] == [320, 640, 1200]
    for variant in variants:
        assert variant.path == out / f"abc123-{variant.width}.webp"
        assert variant.mime == "image/webp" and variant.size_bytes == variant.path.stat().st_size
        with Image.open(variant.path) as image:
            assert image.format == "WEBP"
            assert image.size == (variant.width, variant.height)
            # Orientation 6 means "turn clockwise": the stored top (red) must end up on the right.
            assert variant.height > variant.width
            assert image.convert("RGB").getpixel((variant.width - 2, variant.height // 2))[1] < 60
            assert image.convert("RGB").getpixel((2, variant.height // 2)) == pytest.approx((255, 255, 255), abs=8)
            assert not image.getexif()
            assert not image.getexif().get_ifd(GPS_IFD)
            assert "exif" not in image.info and "xmp" not in image.info and "icc_profile" not in image.info
        assert not {b"EXIF", b"XMP ", b"ICCP"} & set(webp_chunks(variant.path))
        assert b"PhoneMaker" not in variant.path.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted(v.path.name for v in variants)


def test_inspect_reports_the_upright_size(tmp_path):
    assert inspect_image(phone_photo(tmp_path / "p.jpg")) == (1200, 1600)
    assert inspect_image(phone_photo(tmp_path / "l.jpg", orientation=1)) == (1600, 1200)


def test_variants_are_never_wider_than_the_source(tmp_path):
    small = tmp_path / "small.png"
    Image.new("RGB", (200, 150), "navy").save(small)
    [only] = make_image_variants(small, tmp_path, "small")
    assert (only.width, only.height) == (200, 150)

    big = tmp_path / "big.jpg"
    Image.new("RGB", (3000, 2000), "olive").save(big)
    assert [v.width for v in make_image_variants(big, tmp_path, "big")] == list(IMAGE_WIDTHS)


def test_widths_chosen_for_each_source():
    assert variant_widths(4032) == [320, 640, 1280]
    assert variant_widths(1280) == [320, 640, 1280]
    assert variant_widths(640) == [320, 640]
    assert variant_widths(700) == [320, 640]  # too close to 640 to be worth a file
    assert variant_widths(1000) == [320, 640, 1000]  # full detail for high-density screens
    assert variant_widths(100) == [100]


def test_transparent_png_keeps_its_alpha_and_opaque_png_drops_it(tmp_path):
    logo = tmp_path / "logo.png"
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((50, 50, 350, 250), fill=(200, 0, 0, 255))
    image.save(logo)
    [small, medium] = make_image_variants(logo, tmp_path, "logo")
    with Image.open(medium.path) as webp:
        assert webp.mode == "RGBA" and webp.getpixel((0, 0))[3] == 0 and webp.width == 400

    opaque = tmp_path / "opaque.png"
    Image.new("RGBA", (330, 200), (10, 20, 30, 255)).save(opaque)
    with Image.open(make_image_variants(opaque, tmp_path, "opaque")[0].path) as webp:
        assert webp.mode == "RGB"

    palette = tmp_path / "palette.png"
    Image.new("P", (330, 200), 0).save(palette, transparency=0)
    with Image.open(make_image_variants(palette, tmp_path, "palette")[0].path) as webp:
        assert webp.mode == "RGBA"


def test_iphone_heic_photo_works(tmp_path):
    heic = tmp_path / "IMG_0001.HEIC"
    picture = Image.new("RGB", (1008, 756), "orange")
    pillow_heif.from_pillow(picture).save(heic, quality=60)
    assert inspect_image(heic) == (1008, 756)
    variants = make_image_variants(heic, tmp_path, "heic")
    assert [v.width for v in variants] == [320, 640, 1008]
    with Image.open(variants[0].path) as webp:
        assert webp.format == "WEBP" and webp.getpixel((10, 10)) == pytest.approx((255, 165, 0), abs=10)


def test_webp_input_loses_its_location_too(tmp_path):
    source = tmp_path / "in.webp"
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 30.0)}
    Image.new("RGB", (500, 500), "green").save(source, exif=exif)
    assert b"EXIF" in webp_chunks(source)
    [a, b] = make_image_variants(source, tmp_path, "w")
    assert (a.width, b.width) == (320, 500)
    assert not {b"EXIF", b"XMP ", b"ICCP"} & set(webp_chunks(b.path))


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (12_000, 11_000)])
def test_decompression_bomb_is_refused(tmp_path, width, height):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(width, height))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(MediaProcessingError, match="too large"):
            inspect_image(bomb)
        with pytest.raises(MediaProcessingError, match="too large"):
            make_image_variants(bomb, tmp_path, "bomb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png"]


def test_truncated_photo_is_refused_and_leaves_no_file(tmp_path):
    data = phone_photo(tmp_path / "p.jpg", progressive=True).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    (tmp_path / "p.jpg").unlink()
    with pytest.raises(MediaProcessingError, match="damaged or incomplete"):
        inspect_image(cut)
    with pytest.raises(MediaProcessingError, match="damaged or incomplete"):
        make_image_variants(cut, tmp_path, "cut")
    assert [p.name for p in tmp_path.iterdir()] == ["cut.jpg"]


@pytest.mark.parametrize(
    "content",
    [b"<html><body>not a picture</body></html>", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", bytes(range(256)) * 8],
)
def test_non_images_are_refused(tmp_path, content):
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(content)
    with pytest.raises(MediaProcessingError, match="not a JPEG, PNG, WebP or HEIC image"):
        inspect_image(fake)


def test_unsafe_stem_is_refused(tmp_path):
    source = tmp_path / "p.png"
    Image.new("RGB", (10, 10)).save(source)
    for stem in ("../evil", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="unsafe"):
            make_image_variants(source, tmp_path, stem)



def test_16_bit_greyscale_png_keeps_its_tones(tmp_path):
    source = tmp_path / "scan.png"
    Image.new("I;16", (400, 300), 32768).save(source)
    [_, variant] = make_image_variants(source, tmp_path, "scan")
    with Image.open(variant.path) as webp:
        assert webp.convert("L").getpixel((5, 5)) == pytest.approx(128, abs=3)


def test_a_photo_original_is_never_given_out_with_its_metadata(client, auth, app, tmp_path):
    import io

    from lms.core.extensions import db
    from lms.media import services
    from tests.factories import make_course, make_trainee

    course = make_course()
    photo = phone_photo(tmp_path / "IMG_0042.jpg")
    assert b"PhoneMaker" in photo.read_bytes()
    asset = services.ingest_file(photo, owner_id=None, course_id=course.id, filename="IMG_0042.jpg", purpose="image")
    services.process_asset(asset)
    db.session.commit()
    trainee = make_trainee(enrolled_in=course)
    auth.login(trainee.phone)
    response = client.get(f"/media/{asset.public_id}/original")
    assert response.status_code == 200 and response.mimetype == "image/webp"
    served = tmp_path / "served.webp"
    served.write_bytes(response.get_data())
    assert not {b"EXIF", b"XMP ", b"ICCP"} & set(webp_chunks(served))
    assert b"PhoneMaker" not in response.get_data()
    with Image.open(io.BytesIO(response.get_data())) as picture:
        assert picture.height > picture.width  # upright: the EXIF orientation was applied, then dropped
