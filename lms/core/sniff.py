"""Decide what an upload is from its first bytes, never from its name or the browser's MIME type."""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass
from pathlib import Path

SNIFF_BYTES = 4096
# The PDF spec lets readers skip junk before the header; Acrobat looks this far.
PDF_HEADER_WINDOW = 1024


class MediaKind(enum.StrEnum):
    VIDEO = "video"
    IMAGE = "image"
    DOCUMENT = "document"


@dataclass(frozen=True)
class SniffedType:
    kind: MediaKind
    mime: str
    extension: str


class UnsupportedFileType(ValueError):
    """The upload is not a video, PDF or image we accept; str(exc) says why in English."""


MP4 = SniffedType(MediaKind.VIDEO, "video/mp4", "mp4")
MOV = SniffedType(MediaKind.VIDEO, "video/quicktime", "mov")
WEBM = SniffedType(MediaKind.VIDEO, "video/webm", "webm")
THREE_GP = SniffedType(MediaKind.VIDEO, "video/3gpp", "3gp")
PDF = SniffedType(MediaKind.DOCUMENT, "application/pdf", "pdf")
JPEG = SniffedType(MediaKind.IMAGE, "image/jpeg", "jpg")
PNG = SniffedType(MediaKind.IMAGE, "image/png", "png")
WEBP = SniffedType(MediaKind.IMAGE, "image/webp", "webp")
HEIC = SniffedType(MediaKind.IMAGE, "image/heic", "heic")

EMPTY = "empty file"
HTML = "this looks like a web page (HTML), not a video, PDF or image"
SVG = "SVG images are not accepted"
XML = "XML files are not accepted"
SCRIPT = "scripts and programs are not accepted"
ARCHIVE = "ZIP archives and Office documents are not accepted; export the document as PDF"
GIF = "GIF images are not accepted; use JPEG, PNG or WebP"
AVIF = "AVIF images are not accepted; use JPEG, PNG, WebP or HEIC"
MATROSKA = "MKV (Matroska) videos are not accepted; use MP4, MOV, 3GP or WebM"
AUDIO = "audio-only files are not accepted; upload a video"
UNSUPPORTED = "unsupported file type"

HEIF_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
# Generic HEIF brands: the codec brand among the compatible ones tells HEIC from AVIF.
HEIF_GENERIC_BRANDS = {b"mif1", b"msf1", b"mif2", b"miaf"}
AVIF_BRANDS = {b"avif", b"avis", b"avio"}
MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42",
    b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"NDAS", b"NDSC", b"NDSH",
    b"NDSM", b"NDSP", b"NDSS", b"NDXC", b"NDXH", b"NDXM", b"NDXP", b"NDXS", b"f4v ", b"hvc1", b"XAVC",
    b"FACE", b"CAEP",
}
AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
QUICKTIME_BRAND = b"qt  "
# Old QuickTime files have no ftyp box and open straight on one of these atoms.
QUICKTIME_FIRST_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
QUICKTIME_MEDIA_ATOMS = {b"moov", b"mdat"}
# Real ftyp boxes are tiny; text that happens to read "ftyp" at offset 4 gives an absurd size.
FTYP_SIZES = (16, 1024)
MAX_PADDING_ATOM_SIZE = 1 << 24

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
EBML_DOCTYPE_ID = 0x4282

# Tags a browser would render as a page (after the WHATWG MIME sniffing list), wherever they appear in a prefix.
MARKUP = re.compile(
    rb"<(?:!doctype|html|head|body|script|iframe|h1|div|font|table|a|style|title|b|br|p|!--|svg|\?xml|\?php"
    rb"|object|embed|meta|img|form|link|math|base)(?=[\s>/])",
    re.IGNORECASE,
)
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
TEXT_BYTES = bytes([9, 10, 12, 13, 27, *range(0x20, 0x100)])
TEXT_PROBE_BYTES = 512


def sniff_file(path: str | Path) -> SniffedType:
    """Identify a stored upload from its first SNIFF_BYTES bytes."""
    with open(path, "rb") as upload:
        return sniff_bytes(upload.read(SNIFF_BYTES))


def sniff_bytes(head: bytes) -> SniffedType:
    """Identify an upload from its first bytes; raise UnsupportedFileType with a reason otherwise."""
    head = head[:SNIFF_BYTES]
    if not head:
        raise UnsupportedFileType(EMPTY)
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(EBML_MAGIC):
        return _sniff_ebml(head)
    if head[4:8] == b"ftyp" and FTYP_SIZES[0] <= struct.unpack(">I", head[:4])[0] <= FTYP_SIZES[1]:
        return _sniff_ftyp(head)
    if head.startswith(b"%PDF-"):
        return PDF
    _reject_text(head)
    _reject_known_binary(head)
    if head[4:8] in QUICKTIME_FIRST_ATOMS and _is_quicktime_atom_chain(head):
        return MOV
    pdf_at = head.find(b"%PDF-", 0, PDF_HEADER_WINDOW + len(b"%PDF-"))
    if pdf_at > 0 and not MARKUP.search(head[:pdf_at]):
        return PDF
    raise UnsupportedFileType(UNSUPPORTED)


def _sniff_ftyp(head: bytes) -> SniffedType:
    box = head[: struct.unpack(">I", head[:4])[0]]
    major = box[8:12]
    compatible = [box[i : i + 4] for i in range(16, len(box) - 3, 4)]
    if major in AVIF_BRANDS:
        raise UnsupportedFileType(AVIF)
    if major in HEIF_IMAGE_BRANDS:
        return HEIC
    if major in HEIF_GENERIC_BRANDS:
        if any(brand in HEIF_IMAGE_BRANDS for brand in compatible):
            return HEIC
        if any(brand in AVIF_BRANDS for brand in compatible):
            raise UnsupportedFileType(AVIF)
        return HEIC
    if major == QUICKTIME_BRAND:
        return MOV
    if major.startswith(b"3g"):
        return THREE_GP
    if major in MP4_BRANDS:
        return MP4
    if major in AUDIO_BRANDS:
        raise UnsupportedFileType(AUDIO)
    # An unfamiliar major brand: trust the first compatible brand we know.
    for brand in compatible:
        if brand == QUICKTIME_BRAND:
            return MOV
        if brand.startswith(b"3g"):
            return THREE_GP
        if brand in MP4_BRANDS:
            return MP4
        if brand in HEIF_IMAGE_BRANDS:
            return HEIC
        if brand in AVIF_BRANDS:
            raise UnsupportedFileType(AVIF)
    raise UnsupportedFileType(UNSUPPORTED)


def _is_quicktime_atom_chain(head: bytes) -> bool:
    """Check that the head walks like QuickTime atoms (sane sizes, reaching moov or mdat)."""
    offset = 0
    while offset + 8 <= len(head):
        size, kind = struct.unpack(">I4s", head[offset : offset + 8])
        if kind not in QUICKTIME_FIRST_ATOMS:
            return False
        if kind in QUICKTIME_MEDIA_ATOMS:
            return True
        # Padding atoms are small; text that happens to spell "free" at offset 4 gives a huge size.
        if size < 8 or size > MAX_PADDING_ATOM_SIZE:
            return False
        offset += size
    # Padding running past what we read: nothing contradicts QuickTime, decoding will tell.
    return True


def _sniff_ebml(head: bytes) -> SniffedType:
    doctype = _ebml_doctype(head)
    if doctype == b"webm":
        return WEBM
    if doctype == b"matroska":
        raise UnsupportedFileType(MATROSKA)
    raise UnsupportedFileType(UNSUPPORTED)


def _ebml_doctype(head: bytes) -> bytes | None:
    """Return the DocType string of the EBML header, or None if it cannot be read."""
    try:
        position = len(EBML_MAGIC)
        header_size, position = _read_vint(head, position, keep_marker=False)
        end = min(len(head), position + header_size)
        while position < end:
            element_id, position = _read_vint(head, position, keep_marker=True)
            size, position = _read_vint(head, position, keep_marker=False)
            if element_id == EBML_DOCTYPE_ID:
                return head[position : position + size].rstrip(b"\x00")
            position += size
    except IndexError:
        return None
    return None


def _read_vint(data: bytes, position: int, *, keep_marker: bool) -> tuple[int, int]:
    """Decode an EBML variable-length integer; return (value, position after it)."""
    first = data[position]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise IndexError("invalid EBML length")
    if position + length > len(data):
        raise IndexError("EBML integer cut off")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[position + 1 : position + length]:
        value = value << 8 | byte
    return value, position + length


def _reject_text(head: bytes) -> None:
    """Refuse markup and scripts, the uploads a browser could be tricked into running."""
    text = head
    for bom in TEXT_BOMS:
        if text.startswith(bom):
            text = text[len(bom) :]
            if bom != TEXT_BOMS[0]:
                # UTF-16: drop the zero bytes so "<\0h\0" reads as "<h".
                text = text.replace(b"\x00", b"")
            break
    text = text.lstrip(b" \t\r\n\x0c")
    lowered = text[:SNIFF_BYTES].lower()
    if text.startswith(b"#!") or lowered.startswith(b"<?php"):
        raise UnsupportedFileType(SCRIPT)
    if text.startswith(b"<"):
        if b"<svg" in lowered and b"<html" not in lowered and b"<!doctype html" not in lowered:
            raise UnsupportedFileType(SVG)
        if lowered.startswith(b"<?xml") and not MARKUP.search(text[5:]):
            raise UnsupportedFileType(XML)
        raise UnsupportedFileType(HTML)
    # Text-first polyglots ("hello <script>…", even with a %PDF- further on) are pages in disguise;
    # markup inside the PDF itself is the document's business.
    prefix = text.split(b"%PDF-", 1)[0]
    if _looks_like_text(text[:TEXT_PROBE_BYTES]) and MARKUP.search(prefix):
        raise UnsupportedFileType(HTML)


def _looks_like_text(prefix: bytes) -> bool:
    """Tell text (ASCII or UTF-8) from binary by the absence of control bytes."""
    return bool(prefix) and not prefix.translate(None, TEXT_BYTES)


def _reject_known_binary(head: bytes) -> None:
    """Name the common wrong uploads so the person knows what to send instead."""
    if head.startswith((b"GIF87a", b"GIF89a")):
        raise UnsupportedFileType(GIF)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
        raise UnsupportedFileType(ARCHIVE)
    if head.startswith((b"MZ", b"\x7fELF")):
        raise UnsupportedFileType(SCRIPT)
