"""Site photos of a month's report and project documents (issue 26): upload through the pages (a phone's
camera form too), EXIF time and position, the three photo checks, the access matrix for files, hostile
uploads refused, served images without EXIF, documents on the project page."""

import datetime
import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from projects.domain.choices import ReviewStatus
from projects.evidence import reads
from projects.models import MonthlyReport, ProjectDocument, ReportPhoto

YEAR = timezone.localdate().year
JANUARY = datetime.date(YEAR, 1, 1)
MONTH = f"{YEAR}-01"
# 正定县's position, and a point about 2 km from it; 石家庄's station is ~15 km away.
ZHENGDING_POS = (Decimal("38.146000"), Decimal("114.570000"))
NEAR = (38.16, 114.58)
FAR = (38.04, 114.48)


@pytest.fixture(autouse=True)
def evidence_root(settings, tmp_path):
    """Every test stores its files under its own temporary directory, never in the repository."""
    root = tmp_path / "evidence"
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "evidence": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    settings.PHOTO_MAX_DISTANCE_KM = 5
    return root


def _dms(value):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return (float(degrees), float(minutes), float(seconds))


def jpeg(color=(200, 30, 30), *, taken=None, position=None, size=(64, 48), exif_extra=True):
    """A JPEG with EXIF: DateTimeOriginal (a naive local time) and a GPS position when given."""
    image = Image.new("RGB", size, color)
    image.putpixel((1, 1), (color[0] ^ 255, 0, 0))
    exif = Image.Exif()
    if taken:
        exif[0x0132] = f"{taken:%Y:%m:%d %H:%M:%S}"
        exif.get_ifd(0x8769)[36867] = f"{taken:%Y:%m:%d %H:%M:%S}"
    if position:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if position[0] >= 0 else "S"), _dms(abs(position[0]))
        gps[3], gps[4] = ("E" if position[1] >= 0 else "W"), _dms(abs(position[1]))
    if exif_extra:
        exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def png(size=(32, 32)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def docx(*, macro=False, main="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>'))
        archive.writestr("word/document.xml", "<w:document/>")
        if macro:
            archive.writestr("word/vbaProject.bin", b"\x00" * 16)
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def photos_url(project, month=MONTH):
    return reverse("report_photos", args=[project.pk, month])


def upload_photo(client, project, data, *, name="site.jpg", month=MONTH, follow=True, **extra):
    return client.post(photos_url(project, month), {"photos": SimpleUploadedFile(name, data, "image/jpeg")},
                       follow=follow, **extra)


def editor_photo(client, users, project, data, **kwargs):
    client.force_login(users["county_editor"])
    upload_photo(client, project, data, **kwargs)
    return ReportPhoto.objects.filter(project=project).latest("pk")


# --- Upload through the page ------------------------------------------------------------------------------


def test_county_editor_uploads_photo_with_exif_time_and_position(client, users, projects, evidence_root):
    project = projects["zhengding"]
    client.force_login(users["county_editor"])
    taken = datetime.datetime(YEAR, 1, 15, 10, 30)
    response = upload_photo(client, project, jpeg(taken=taken, position=NEAR))
    assert response.status_code == 200
    photo = ReportPhoto.objects.get(project=project)
    assert photo.month == JANUARY
    assert timezone.localtime(photo.taken_at).replace(tzinfo=None) == taken
    assert abs(float(photo.latitude) - NEAR[0]) < 1e-4 and abs(float(photo.longitude) - NEAR[1]) < 1e-4
    assert photo.uploaded_by == users["county_editor"] and photo.uploaded_at is not None
    assert len(photo.content_hash) == 64
    assert (evidence_root / photo.file_name).exists() and (evidence_root / photo.thumbnail_name).exists()
    page = response.content.decode()
    assert reverse("evidence_photo_thumbnail", args=[photo.pk]) in page
    assert "已上传 1 张照片" in page


def test_photos_page_offers_the_phone_camera(client, users, projects):
    client.force_login(users["county_editor"])
    page = client.get(photos_url(projects["zhengding"])).content.decode()
    assert 'accept="image/*" capture="environment"' in page
    assert 'enctype="multipart/form-data"' in page and "csrfmiddlewaretoken" in page


def test_phone_capture_several_photos_at_once(client, users, projects):
    """A phone's camera sends image.jpg (iOS names every capture so), several in one form."""
    project = projects["zhengding"]
    client.force_login(users["county_editor"])
    files = [SimpleUploadedFile("image.jpg", jpeg((i * 40, 90, 90), taken=datetime.datetime(YEAR, 1, 3, 9)), "image/jpeg")
             for i in range(3)]
    response = client.post(photos_url(project), {"photos": files}, follow=True,
                           HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
    assert response.status_code == 200
    assert ReportPhoto.objects.filter(project=project, month=JANUARY).count() == 3


def test_upload_needs_csrf(users, projects):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["county_editor"])
    response = upload_photo(client, projects["zhengding"], jpeg(), follow=False)
    assert response.status_code == 403
    assert not ReportPhoto.objects.exists()


def test_no_photos_for_a_future_month_and_no_made_up_months(client, users, projects):
    client.force_login(users["county_editor"])
    future = (timezone.localdate().replace(day=1) + datetime.timedelta(days=32)).strftime("%Y-%m")
    response = upload_photo(client, projects["zhengding"], jpeg(), month=future)
    assert "不能为未来的月份上传照片" in response.content.decode()
    assert not ReportPhoto.objects.exists()
    for month in ("2026-13", "2026-1", "latest"):
        assert client.get(photos_url(projects["zhengding"], month)).status_code == 404


# --- The checks -------------------------------------------------------------------------------------------


def _warnings(photo):
    """{code: warning} of a photo, as the pages read them."""
    return {warning.code: warning for read in reads.photos_of_month(photo.project, photo.month)
            if read.pk == photo.pk for warning in read.warnings}


def test_photo_taken_outside_the_reported_month_warns(client, users, projects):
    photo = editor_photo(client, users, projects["zhengding"], jpeg(taken=datetime.datetime(YEAR - 1, 11, 20, 8)))
    warnings = _warnings(photo)
    assert set(warnings) == {"outside_month"}
    assert f"{YEAR - 1}-11-20" in warnings["outside_month"].message and MONTH in warnings["outside_month"].message
    inside = editor_photo(client, users, projects["zhengding"], jpeg((1, 2, 3), taken=datetime.datetime(YEAR, 1, 31, 23)))
    assert _warnings(inside) == {}


def test_photo_far_from_the_project_warns_when_both_positions_are_known(client, users, projects):
    project = projects["zhengding"]
    far = editor_photo(client, users, project, jpeg(position=FAR))
    assert _warnings(far) == {}  # the project has no position yet: nothing to compare
    project.latitude, project.longitude = ZHENGDING_POS
    project.save()
    warnings = _warnings(far)
    assert set(warnings) == {"too_far"} and "5" in warnings["too_far"].message
    near = editor_photo(client, users, project, jpeg((5, 5, 5), position=NEAR))
    assert _warnings(near) == {}
    no_gps = editor_photo(client, users, project, jpeg((9, 9, 9)))
    assert _warnings(no_gps) == {}


def test_same_image_as_an_earlier_month_warns(client, users, projects):
    project = projects["zhengding"]
    picture = jpeg((30, 60, 90), taken=datetime.datetime(YEAR, 1, 10, 9))
    first = editor_photo(client, users, project, picture)
    assert _warnings(first) == {}
    # The same pixels in February, even with its EXIF changed: the hash is of the picture.
    february = f"{YEAR}-02"
    if datetime.date(YEAR, 2, 1) > timezone.localdate():
        pytest.skip("February is still in the future")
    again = editor_photo(client, users, project, jpeg((30, 60, 90), taken=datetime.datetime(YEAR, 2, 10, 9), exif_extra=False),
                         month=february)
    assert again.content_hash == first.content_hash
    warnings = _warnings(again)
    assert set(warnings) == {"duplicate"} and MONTH in warnings["duplicate"].message
    assert _warnings(first) == {}  # the earlier month's own photo is not the copy


def test_warnings_are_codes_worded_in_the_readers_language(client, users, projects):
    """A warning is a code with parameters; its words come from the catalogue at read time (the English
    catalogue carries each text; the compiled .mo is the lead's to build)."""
    from pathlib import Path

    from django.conf import settings

    from projects.evidence.checks import PHOTO_WARNING_TEXTS

    photo = editor_photo(client, users, projects["zhengding"], jpeg(taken=datetime.datetime(YEAR - 1, 6, 1, 8)))
    warning = _warnings(photo)["outside_month"]
    assert warning.params == {"taken": f"{YEAR - 1}-06-01 08:00", "month": MONTH}
    catalogue = (Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    for text in PHOTO_WARNING_TEXTS.values():
        entry = catalogue.split(f'msgid "{text}"', 1)
        assert len(entry) == 2 and 'msgstr ""' not in entry[1].split("\n", 1)[1][:10], text


def test_photos_by_report_reads_a_page_in_a_fixed_number_of_queries(client, users, projects, django_assert_num_queries):
    for index in range(3):
        editor_photo(client, users, projects["zhengding"], jpeg((index, 0, 0), taken=datetime.datetime(YEAR - 1, 5, 1)))
    client.force_login(users["city_coordinator"])
    upload_photo(client, projects["qiaoxi"], jpeg((0, 0, 1)))
    reports = list(MonthlyReport.objects.filter(project__in=projects.values()).values_list("pk", flat=True))
    with django_assert_num_queries(3):
        found = reads.photos_by_report(reports)
        codes = [warning.code for photos in found.values() for photo in photos for warning in photo.warnings]
    by_project = {MonthlyReport.objects.get(pk=pk).project_id: len(photos) for pk, photos in found.items()}
    assert by_project == {projects["zhengding"].pk: 3, projects["qiaoxi"].pk: 1, projects["nangong"].pk: 0}
    assert codes.count("outside_month") == 3


def test_review_partial_renders_thumbnails_and_warnings(client, users, projects):
    from django.template.loader import render_to_string

    photo = editor_photo(client, users, projects["zhengding"], jpeg(taken=datetime.datetime(YEAR - 1, 6, 1, 8)))
    report = MonthlyReport.objects.get(project=projects["zhengding"], month=JANUARY)
    html = render_to_string("projects/evidence/_report_photos.html", {
        "report": report, "project": report.project, "month": report.month, "photos": reads.photos_by_report([report.pk])[report.pk]})
    assert reverse("evidence_photo_thumbnail", args=[photo.pk]) in html
    assert "⚠" in html and photos_url(projects["zhengding"]) in html


# --- Access to files --------------------------------------------------------------------------------------

ROLES = {  # role: (may see 正定县's files, may upload there)
    "county_editor": (True, True),
    "city_coordinator": (True, True),
    "province_admin": (True, True),
    "leader": (True, False),
    "other_county_editor": (False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix_for_files_and_pages(client, users, projects, role):
    project = projects["zhengding"]
    photo = editor_photo(client, users, project, jpeg(position=NEAR))
    client.force_login(users["county_editor"])
    client.post(reverse("project_documents", args=[project.pk]),
                {"kind": "approval", "document": SimpleUploadedFile("批复.pdf", PDF, "application/pdf")})
    document = ProjectDocument.objects.get(project=project)
    client.logout()
    client.force_login(users[role])
    may_see, may_upload = ROLES[role]
    urls = [reverse("evidence_photo", args=[photo.pk]), reverse("evidence_photo_thumbnail", args=[photo.pk]),
            reverse("evidence_document", args=[document.pk]), photos_url(project)]
    for url in urls:
        assert client.get(url).status_code == (200 if may_see else 404), url
    page = client.get(photos_url(project)).content.decode() if may_see else ""
    assert ('capture="environment"' in page) == may_upload
    response = upload_photo(client, project, jpeg((1, 1, 1)), follow=False)
    assert response.status_code == (302 if may_upload else 403 if may_see else 404)
    response = client.post(reverse("project_documents", args=[project.pk]),
                           {"kind": "other", "document": SimpleUploadedFile("a.pdf", PDF, "application/pdf")})
    assert response.status_code == (302 if may_upload else 403 if may_see else 404)
    assert ReportPhoto.objects.count() == (2 if may_upload else 1)


def test_another_regions_file_answers_like_a_missing_one(client, users, projects):
    photo = editor_photo(client, users, projects["zhengding"], jpeg())
    client.force_login(users["other_county_editor"])
    hidden_url, missing_url = reverse("evidence_photo", args=[photo.pk]), reverse("evidence_photo", args=[photo.pk + 1000])
    hidden, missing = client.get(hidden_url), client.get(missing_url)
    assert hidden.status_code == missing.status_code == 404
    # The 404 page may name the address asked for and carries a fresh CSRF token; otherwise the same.
    def page(response, url):
        return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content.replace(url.encode(), b""))

    assert page(hidden, hidden_url) == page(missing, missing_url)


def test_anonymous_is_sent_to_log_in(client, users, projects):
    photo = editor_photo(client, users, projects["zhengding"], jpeg())
    client.logout()
    for url in (reverse("evidence_photo", args=[photo.pk]), photos_url(projects["zhengding"])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_no_public_media_url(client, users, projects, evidence_root):
    photo = editor_photo(client, users, projects["zhengding"], jpeg())
    assert client.get(f"/media/evidence/{photo.file_name}").status_code == 404
    assert client.get(f"/media/{photo.file_name}").status_code == 404


def test_served_image_has_no_exif(client, users, projects):
    photo = editor_photo(client, users, projects["zhengding"], jpeg(taken=datetime.datetime(YEAR, 1, 5, 8), position=NEAR))
    response = client.get(reverse("evidence_photo", args=[photo.pk]))
    assert response["Content-Type"] == "image/jpeg" and response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)
    served = Image.open(io.BytesIO(body))
    assert dict(served.getexif()) == {} and b"Exif" not in body and b"PhoneMaker" not in body
    assert photo.latitude is not None  # kept as a field, not in the file


# --- Hostile files ----------------------------------------------------------------------------------------


def _refused(client, project, name, data, message):
    response = upload_photo(client, project, data, name=name)
    assert not ReportPhoto.objects.exists()
    assert message in response.content.decode(), response.content.decode()[:2000]


def test_hostile_photos_are_refused_with_a_clear_message(client, users, projects, settings):
    project = projects["zhengding"]
    client.force_login(users["county_editor"])
    _refused(client, project, "site.jpg", b"<html><script>alert(1)</script></html>", "不是可识别的图片")
    _refused(client, project, "site.png", jpeg(), "内容与扩展名不符")
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as archive:
        archive.writestr("payload.html", "<html></html>")
    _refused(client, project, "site.jpg", jpeg() + zip_buffer.getvalue(), "夹带了其他数据")
    _refused(client, project, "site.jpg", jpeg() + b"<script>alert(1)</script>", "夹带了其他数据")
    _refused(client, project, "site.jpg", jpeg()[:-40], "不是完整的图片")
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # ~10 KB that would decode to 100 megapixels
    _refused(client, project, "bomb.png", bomb.getvalue(), "像素过多")
    settings.EVIDENCE_MAX_PHOTO_BYTES = 100
    _refused(client, project, "big.jpg", jpeg(), "超过大小上限")


def test_hostile_documents_are_refused(client, users, projects):
    project = projects["zhengding"]
    client.force_login(users["county_editor"])

    def post(name, data):
        return client.post(reverse("project_documents", args=[project.pk]),
                           {"kind": "contract", "document": SimpleUploadedFile(name, data)}, follow=True).content.decode()

    assert "不是 PDF 文件" in post("批复.pdf", b"MZ\x90\x00 this is an executable")
    assert "不是 PDF 文件" in post("批复.pdf", jpeg())
    assert "含有脚本" in post("合同.pdf", PDF.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"))
    assert "含宏" in post("合同.docm", docx())
    assert "含有宏" in post("合同.docx", docx(macro=True))
    assert "含有宏" in post("合同.docx", docx(main="application/vnd.ms-word.document.macroEnabled.main+xml"))
    assert "内容与扩展名不符" in post("合同.xlsx", docx())
    assert "不是有效的 Office 文件" in post("合同.docx", PDF)
    assert "只接受" in post("run.exe", b"MZ")
    assert not ProjectDocument.objects.exists()


# --- Documents on the project page -----------------------------------------------------------------------


def test_documents_on_the_project_page(client, users, projects):
    project = projects["zhengding"]
    client.force_login(users["county_editor"])
    page = client.get(reverse("project_detail", args=[project.pk])).content.decode()
    assert 'id="documents"' in page and reverse("project_documents", args=[project.pk]) in page
    for kind, name, data in (("approval", "立项批复.pdf", PDF), ("contract", "合同.docx", docx()),
                             ("rectification", "整改照片.jpg", jpeg(position=NEAR))):
        response = client.post(reverse("project_documents", args=[project.pk]),
                               {"kind": kind, "document": SimpleUploadedFile(name, data)}, follow=True)
        assert response.status_code == 200
    page = response.content.decode()
    for name in ("立项批复.pdf", "合同.docx", "整改照片.jpg"):
        assert name in page
    assert "批复" in page and "整改材料" in page
    image = ProjectDocument.objects.get(kind="rectification")
    body = b"".join(client.get(reverse("evidence_document", args=[image.pk])).streaming_content)
    assert b"Exif" not in body and Image.open(io.BytesIO(body)).format == "JPEG"
    pdf = client.get(reverse("evidence_document", args=[ProjectDocument.objects.get(kind="approval").pk]))
    assert pdf["Content-Type"] == "application/pdf" and "attachment" in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content) == PDF
    client.force_login(users["leader"])
    page = client.get(reverse("project_detail", args=[project.pk])).content.decode()
    assert "立项批复.pdf" in page and reverse("project_documents", args=[project.pk]) not in page


def test_the_report_page_links_each_row_to_its_photos_and_the_review_page_shows_them(client, users, projects):
    """The monthly report page counts each row's photos of the month and links to its photos page; the
    review page shows the report's thumbnails with their warnings (issue 26)."""
    project = projects["zhengding"]
    editor_photo(client, users, project, jpeg())
    url = photos_url(project, MONTH)
    page = client.get(reverse("monthly_report"), {"month": MONTH}).content.decode()
    assert url in page and "（1）" in page
    MonthlyReport.objects.update_or_create(project=project, month=JANUARY, defaults={
        "completed_investment": 1, "review_status": ReviewStatus.SUBMITTED})
    client.force_login(users["city_coordinator"])
    review = client.get(reverse("report_review"), {"month": MONTH, "status": "all"}).content.decode()
    assert "evidence-photos" in review and url in review
