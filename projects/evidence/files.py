"""What an uploaded file is, told from its bytes, never from its name or the browser's word: the checks that
refuse hostile files, the EXIF a photo carries, and the clean copies that are stored and served.

- Images (JPEG, PNG, WebP): decoded by Pillow under a pixel limit (no decompression bomb), refused when
  bytes follow the image's end (an image with a ZIP or HTML appended: a polyglot) or markup hides in it,
  then re-encoded, so that the served file carries no EXIF (no position leaks) and nothing but pixels.
- PDF: must start as a PDF; active content (JavaScript, launch actions) and embedded files refused.
- Office (docx, xlsx): a ZIP within size limits whose [Content_Types].xml names the right main part, and
  no macros (vbaProject, macro-enabled types); .docm/.xlsm refused by name and by content.
A file whose content is not what its extension says is refused.
"""

import datetime
import hashlib
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from decimal import Decimal

from defusedxml import ElementTree
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
IMAGE_EXTENSIONS = {"jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "png": "png", "webp": "webp"}
OFFICE_TYPES = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}
MACRO_EXTENSIONS = {"docm", "xlsm", "dotm", "xltm", "xlsb", "pptm", "doc", "xls"}
# Markup or script inside an image is never a photograph's business (an image that a browser could be
# talked into reading as HTML); case-insensitive.
MARKUP = re.compile(rb"<\s*(?:script|html|body|iframe|svg|!doctype)|<\?php|javascript:", re.IGNORECASE)
PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, DATETIME_DIGITIZED, DATETIME, OFFSET_TIME_ORIGINAL = 36867, 36868, 306, 36881


@dataclass
class CleanImage:
    """An image as it is stored: re-encoded bytes, a thumbnail, and what its EXIF said."""

    data: bytes
    thumbnail: bytes
    format: str
    content_hash: str
    width: int
    height: int
    taken_at: datetime.datetime | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None

    @property
    def content_type(self):
        return IMAGE_TYPES[self.format]


def extension_of(name):
    return name.rsplit(".", 1)[-1].lower() if "." in (name or "") else ""


def read_upload(upload, *, limit):
    """The upload's bytes, refused above `limit` bytes (before reading more than that)."""
    if upload.size is not None and upload.size > limit:
        raise ValidationError(_("文件“%(name)s”超过大小上限 %(limit)s MB"), code="too_large",
                              params={"name": upload.name, "limit": f"{limit / 2**20:g}"})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(_("文件“%(name)s”超过大小上限 %(limit)s MB"), code="too_large",
                              params={"name": upload.name, "limit": f"{limit / 2**20:g}"})
    if not data:
        raise ValidationError(_("文件“%(name)s”是空的"), code="empty", params={"name": upload.name})
    return data


def sniff_image(data):
    """The image format the bytes begin with, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_end(data, kind):
    """Where the image's own bytes end (what follows is not part of it), or None when it has no end."""
    if kind == "png":
        position = 8
        while position + 12 <= len(data):
            length = int.from_bytes(data[position:position + 4], "big")
            chunk = data[position + 4:position + 8]
            position += 12 + length
            if chunk == b"IEND":
                return position
        return None
    if kind == "webp":
        return 8 + int.from_bytes(data[4:8], "little")
    return _jpeg_end(data)


def _jpeg_end(data):
    """The end of a JPEG's EOI marker, walking its segments (an EXIF thumbnail's own EOI inside a segment
    is skipped) and the entropy-coded scans (where 0xFF is followed by 0x00 or a restart marker)."""
    position, size = 2, len(data)
    while position + 2 <= size:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD9:
            return position + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        if position + 4 > size:
            return None
        length = int.from_bytes(data[position + 2:position + 4], "big")
        position += 2 + length
        if marker == 0xDA:  # a scan: its coded data runs to the next real marker
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= size:
                    return None
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                elif following == 0xFF:
                    position += 1
                else:
                    break
    return None


def _refuse(name, message, code):
    raise ValidationError(message, code=code, params={"name": name})


def clean_image(data, *, name, keep_format=False):
    """Check an image's bytes and re-encode them (see the module's docstring). Photos are stored as JPEG;
    `keep_format` keeps PNG or WebP (a document that is an image). Raises ValidationError."""
    kind = sniff_image(data)
    extension = extension_of(name)
    if kind is None:
        _refuse(name, _("“%(name)s”不是可识别的图片（支持 JPEG、PNG、WebP）"), "not_image")
    if extension and IMAGE_EXTENSIONS.get(extension) != kind:
        _refuse(name, _("“%(name)s”的内容与扩展名不符"), "type_mismatch")
    end = image_end(data, kind)
    if end is None or end > len(data):
        _refuse(name, _("“%(name)s”不是完整的图片"), "truncated")
    if data[end:].strip(b"\x00"):
        _refuse(name, _("“%(name)s”在图片之后夹带了其他数据，已拒收"), "polyglot")
    if MARKUP.search(data):
        _refuse(name, _("“%(name)s”含有网页或脚本内容，已拒收"), "polyglot")
    limit = settings.EVIDENCE_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format.lower() != kind:
                raise UnidentifiedImageError(name)
            if image.width * image.height > limit:
                raise Image.DecompressionBombError(name)
            exif = image.getexif()
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_("“%(name)s”的像素过多（上限 %(limit)s 万像素），已拒收"), code="bomb",
                              params={"name": name, "limit": f"{limit / 10000:,.0f}"}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        _refuse(name, _("“%(name)s”无法作为图片读取"), "unreadable")
    taken_at, latitude, longitude = exif_facts(exif)
    image = ImageOps.exif_transpose(image)
    pixels = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    content_hash = hashlib.sha256(f"{pixels.mode}{pixels.size}".encode() + pixels.tobytes()).hexdigest()
    out_format = kind if keep_format else "jpeg"
    largest = settings.EVIDENCE_IMAGE_MAX_EDGE
    stored = pixels.copy()
    stored.thumbnail((largest, largest), Image.Resampling.LANCZOS)
    thumbnail = pixels.copy()
    thumbnail.thumbnail((settings.EVIDENCE_THUMBNAIL_EDGE,) * 2, Image.Resampling.LANCZOS)
    return CleanImage(
        data=_encode(stored, out_format), thumbnail=_encode(thumbnail, "jpeg"), format=out_format,
        content_hash=content_hash, width=stored.width, height=stored.height,
        taken_at=taken_at, latitude=latitude, longitude=longitude,
    )


def _encode(image, kind):
    """Encode pixels afresh: no EXIF, no ICC-borne text, no comments — nothing but the picture."""
    buffer = io.BytesIO()
    if kind == "jpeg":
        if image.mode != "RGB":
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.getchannel("A") if "A" in image.mode else None)
            image = background
        image.save(buffer, "JPEG", quality=85, optimize=True)
    else:
        image.save(buffer, kind.upper())
    return buffer.getvalue()


def exif_facts(exif):
    """(taken_at, latitude, longitude) from an image's EXIF; None for what is missing or unreadable.
    A time without its offset is the site's local time (a phone's clock)."""
    taken_at = latitude = longitude = None
    try:
        sub = exif.get_ifd(EXIF_IFD)
        text = sub.get(DATETIME_ORIGINAL) or sub.get(DATETIME_DIGITIZED) or exif.get(DATETIME)
        if text:
            naive = datetime.datetime.strptime(str(text).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
            offset = str(sub.get(OFFSET_TIME_ORIGINAL) or "").strip("\x00 ")
            if re.fullmatch(r"[+-]\d\d:\d\d", offset):
                taken_at = datetime.datetime.fromisoformat(naive.isoformat() + offset)
            else:
                taken_at = timezone.make_aware(naive, timezone.get_default_timezone())
    except (ValueError, TypeError, OverflowError):
        taken_at = None
    try:
        gps = exif.get_ifd(GPS_IFD)
        if gps.get(2) and gps.get(4):
            latitude = _degrees(gps[2], gps.get(1), "S")
            longitude = _degrees(gps[4], gps.get(3), "W")
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                latitude = longitude = None
    except (ValueError, TypeError, ZeroDivisionError, IndexError, ArithmeticError):
        latitude = longitude = None
    return taken_at, latitude, longitude


def _degrees(parts, ref, negative):
    degrees, minutes, seconds = (float(part) for part in parts)
    value = degrees + minutes / 60 + seconds / 3600
    if str(ref or "").strip("\x00 ").upper() == negative:
        value = -value
    return Decimal(f"{value:.6f}")


def clean_pdf(data, *, name):
    """A PDF is what starts as one and carries no active content or embedded files."""
    if not data.startswith(b"%PDF-"):
        _refuse(name, _("“%(name)s”不是 PDF 文件（文件内容与扩展名不符）"), "not_pdf")
    if b"%%EOF" not in data[-2048:]:
        _refuse(name, _("“%(name)s”不是完整的 PDF 文件"), "truncated")
    if PDF_ACTIVE.search(data):
        _refuse(name, _("“%(name)s”含有脚本、启动动作或嵌入文件，已拒收"), "active_pdf")
    return "application/pdf"


def clean_office(data, *, name, extension):
    """A docx or xlsx: a ZIP within the unpacked limit whose main part is of the right type, no macros."""
    content_type, main_type = OFFICE_TYPES[extension]
    if not data.startswith(b"PK\x03\x04"):
        _refuse(name, _("“%(name)s”不是有效的 Office 文件（文件内容与扩展名不符）"), "not_office")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > settings.EVIDENCE_MAX_UNPACKED_BYTES:
                _refuse(name, _("“%(name)s”解压后过大，已拒收"), "zip_bomb")
            names = {member.filename.lower() for member in members}
            if any(item.endswith("vbaproject.bin") or item.endswith(".bin") and "vba" in item for item in names):
                _refuse(name, _("“%(name)s”含有宏，已拒收（请另存为不含宏的 docx/xlsx）"), "macro")
            types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except ValidationError:
        raise
    except Exception:  # a broken archive, a missing or hostile [Content_Types].xml (defusedxml)
        _refuse(name, _("“%(name)s”不是有效的 Office 文件"), "not_office")
    declared = {element.get("ContentType", "") for element in types.iter() if element.get("ContentType")}
    if any("macroenabled" in item.lower() or "vba" in item.lower() for item in declared):
        _refuse(name, _("“%(name)s”含有宏，已拒收（请另存为不含宏的 docx/xlsx）"), "macro")
    if main_type not in declared:
        _refuse(name, _("“%(name)s”的内容与扩展名不符"), "type_mismatch")
    return content_type
