"""Upload types are decided from the bytes: a renamed web page never becomes a 'photo'."""

import io
import struct

import av
import pillow_heif
import pytest
from PIL import Image

from lms.core.sniff import (
    SNIFF_BYTES,
    MediaKind,
    SniffedType,
    UnsupportedFileType,
    sniff_bytes,
    sniff_file,
)


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    """Build an ISO-BMFF ftyp box followed by the start of an mdat."""
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00\x00\x10\x00mdat" + bytes(64)


def ebml(doctype: bytes) -> bytes:
    """Build an EBML header (the start of a WebM/Matroska file) with the given DocType."""
    fields = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
        + b"\x42\x87\x81\x04\x42\x85\x81\x02"
    )
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(fields)]) + fields + b"\x18\x53\x80\x67" + bytes(32)


def atom(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


PDF_BODY = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


@pytest.mark.parametrize(
    ("head", "mime", "extension"),
    [
        (ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4", "mp4"),
        (ftyp(b"mp42", b"mp42", b"isom"), "video/mp4", "mp4"),
        (ftyp(b"M4V ", b"M4V ", b"M4A ", b"mp42"), "video/mp4", "mp4"),
        (ftyp(b"dash", b"iso6", b"avc1"), "video/mp4", "mp4"),
        (ftyp(b"XYZ1", b"abcd", b"mp42"), "video/mp4", "mp4"),
        (ftyp(b"qt  ", b"qt  "), "video/quicktime", "mov"),
        (ftyp(b"3gp4", b"isom", b"3gp4"), "video/3gpp", "3gp"),
        (ftyp(b"3gp5"), "video/3gpp", "3gp"),
        (ftyp(b"3gp6", b"3gp6", b"isom"), "video/3gpp", "3gp"),
        (ftyp(b"3g2a", b"3g2a"), "video/3gpp", "3gp"),
        (ftyp(b"heic", b"mif1", b"heic"), "image/heic", "heic"),
        (ftyp(b"heix", b"mif1", b"heix"), "image/heic", "heic"),
        (ftyp(b"hevc", b"msf1", b"hevc"), "image/heic", "heic"),
        (ftyp(b"heim"), "image/heic", "heic"),
        (ftyp(b"heis"), "image/heic", "heic"),
        (ftyp(b"mif1", b"mif1", b"heic", b"miaf"), "image/heic", "heic"),
        (ftyp(b"msf1", b"msf1", b"hevc"), "image/heic", "heic"),
        (atom(b"wide") + atom(b"mdat", bytes(100)), "video/quicktime", "mov"),
        (atom(b"moov", atom(b"mvhd", bytes(100))), "video/quicktime", "mov"),
        (atom(b"free", bytes(16)) + atom(b"mdat", bytes(100)), "video/quicktime", "mov"),
        (b"\x00\x10\x00\x00mdat" + bytes(100), "video/quicktime", "mov"),
        (ebml(b"webm"), "video/webm", "webm"),
        (PDF_BODY, "application/pdf", "pdf"),
        (bytes([0, 1, 2, 200, 13, 10]) * 20 + PDF_BODY, "application/pdf", "pdf"),
        (b"Content-Type: application/pdf\r\n\r\n" + PDF_BODY, "application/pdf", "pdf"),
        (b"\xef\xbb\xbf" + PDF_BODY + b"BT (see <a href=x>) Tj ET", "application/pdf", "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg", "jpg"),
        (b"\xff\xd8\xff\xe1\x1c\x45Exif\x00\x00", "image/jpeg", "jpg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "image/webp", "webp"),
    ],
)
def test_accepted_types_are_recognised_from_their_bytes(head, mime, extension):
    sniffed = sniff_bytes(head)
    assert (sniffed.mime, sniffed.extension) == (mime, extension)
    assert sniffed.kind == {"video": MediaKind.VIDEO, "image": MediaKind.IMAGE,
                            "application": MediaKind.DOCUMENT}[mime.split("/")[0]]


HTML_REASON = "this looks like a web page (HTML), not a video, PDF or image"


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"", "empty file"),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script>", HTML_REASON),
        (b"\xef\xbb\xbf\r\n  <HTML><HEAD><TITLE>x</TITLE>", HTML_REASON),
        ("\ufeff<html><body>hi</body></html>".encode("utf-16-le"), HTML_REASON),
        (b"<script>fetch('/admin')</script>", HTML_REASON),
        (b"<!-- a comment --><p>hi</p>", HTML_REASON),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG images are not accepted"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE svg><svg xmlns="http://www.w3.org/2000/svg"></svg>',
         "SVG images are not accepted"),
        (b'<?xml version="1.0"?>\n<catalog><book/></catalog>', "XML files are not accepted"),
        (b"<!doctype html><html><body><svg onload=alert(1)></svg>", HTML_REASON),
        (b"#!/bin/sh\nrm -rf /\n", "scripts and programs are not accepted"),
        (b"<?php system($_GET['c']); ?>", "scripts and programs are not accepted"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(40), "scripts and programs are not accepted"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml", "ZIP archives and Office documents are not accepted; "
                                                              "export the document as PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(40), "ZIP archives and Office documents are not accepted; "
                                                       "export the document as PDF"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "GIF images are not accepted; use JPEG, PNG or WebP"),
        (ebml(b"matroska"), "MKV (Matroska) videos are not accepted; use MP4, MOV, 3GP or WebM"),
        (ftyp(b"avif", b"avif", b"mif1", b"miaf"), "AVIF images are not accepted; use JPEG, PNG, WebP or HEIC"),
        (ftyp(b"mif1", b"mif1", b"avif"), "AVIF images are not accepted; use JPEG, PNG, WebP or HEIC"),
        (ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio-only files are not accepted; upload a video"),
        # Polyglots that open as text: a browser would sniff them as a page.
        (b"Hello teacher! <script>steal()</script>\n" + PDF_BODY, HTML_REASON),
        (b"<html><body>" + PDF_BODY, HTML_REASON),
        (b"<htmftyp" + b"isom" * 10, HTML_REASON),
        (b"abcdftypisom" + bytes(40), "unsupported file type"),
        (b"I'm free to say hello <b>world</b>", HTML_REASON),
        (b"Just some notes, nothing else.\n", "unsupported file type"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", "unsupported file type"),
        (b"\x1a\x45\xdf\xa3", "unsupported file type"),
        (bytes(range(256)) * 4, "unsupported file type"),
    ],
)
def test_everything_else_is_refused_with_a_reason(head, reason):
    with pytest.raises(UnsupportedFileType) as refused:
        sniff_bytes(head)
    assert str(refused.value) == reason
    assert isinstance(refused.value, ValueError)


def test_pdf_header_must_be_near_the_start():
    assert sniff_bytes(bytes([1, 2, 3, 250]) * 250 + PDF_BODY).extension == "pdf"
    with pytest.raises(UnsupportedFileType):
        sniff_bytes(bytes([1, 2, 3, 250]) * 300 + PDF_BODY)


def test_only_the_first_bytes_are_considered():
    assert SNIFF_BYTES == 4096
    with pytest.raises(UnsupportedFileType, match="web page"):
        sniff_bytes(b"<html>" + b" " * SNIFF_BYTES + b"\x89PNG\r\n\x1a\n")


def _image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", (16, 16), "teal")
    if fmt == "HEIF":
        pillow_heif.from_pillow(picture).save(buffer, quality=50)
    else:
        picture.save(buffer, format=fmt)
    return buffer.getvalue()


def _video_bytes(tmp_path, container_format: str, codec: str, suffix: str) -> bytes:
    path = tmp_path / f"clip.{suffix}"
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(2):
            out.mux(stream.encode(av.VideoFrame(64, 64, "yuv420p")))
        out.mux(stream.encode(None))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("maker", "expected"),
    [
        (lambda tmp: _image_bytes("JPEG"), "jpg"),
        (lambda tmp: _image_bytes("PNG"), "png"),
        (lambda tmp: _image_bytes("WEBP"), "webp"),
        (lambda tmp: _image_bytes("HEIF"), "heic"),
        (lambda tmp: _image_bytes("PDF"), "pdf"),
        (lambda tmp: _video_bytes(tmp, "mp4", "libx264", "mp4"), "mp4"),
        (lambda tmp: _video_bytes(tmp, "mov", "libx264", "mov"), "mov"),
        (lambda tmp: _video_bytes(tmp, "3gp", "libx264", "3gp"), "3gp"),
        (lambda tmp: _video_bytes(tmp, "webm", "libvpx-vp9", "webm"), "webm"),
    ],
)
def test_files_from_real_encoders_are_recognised(tmp_path, maker, expected):
    assert sniff_bytes(maker(tmp_path)).extension == expected


def test_the_name_is_ignored(tmp_path):
    page = tmp_path / "lesson.png"
    page.write_bytes(b"<!doctype html><title>Bank login</title>")
    with pytest.raises(UnsupportedFileType, match="web page"):
        sniff_file(page)
    for name in ("photo.pdf", "photo.mp4", "photo"):
        (tmp_path / name).write_bytes(_image_bytes("PNG"))
        assert sniff_file(tmp_path / name) == SniffedType(MediaKind.IMAGE, "image/png", "png")


def test_sniff_file_reads_an_empty_file(tmp_path):
    empty = tmp_path / "video.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedFileType, match="empty file"):
        sniff_file(empty)
