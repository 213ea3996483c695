"""A large regulation file is read by a real Celery worker while the page polls its progress:
under Redis (production) and under `make run`'s filesystem broker. The request only judges the
file's limits and queues it (settings.REGULATION_SYNC_MAX_BYTES set to 0 here: every file is
"large"). Data must be committed for the worker to see it: transaction=True."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from obligations.models import Obligation
from obligations.seeding import import_regulation
from regulations.models import Regulation, RegulationUpload
from tests import regulation_forms
from tests.test_amendments import TEXT_2016, TEXT_2024, read
from tests.test_celery_worker import filesystem_worker, redis_url, wait_for, worker  # noqa: F401 (fixtures)
from tests.test_import_forms import CONSTRUCTED

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def finished(upload_id):
    return lambda: RegulationUpload.objects.filter(pk=upload_id, status__in=["done", "failed"]).exists()


def test_a_worker_reads_a_large_amendment_pdf_and_the_page_shows_its_progress(cast, worker, settings):  # noqa: F811
    settings.REGULATION_SYNC_MAX_BYTES = 0
    regulation = import_regulation(read(TEXT_2016), code="sh-jcjc").regulation
    client = Client()
    client.force_login(cast["lena"])
    pdf = regulation_forms.to_pdf(read(TEXT_2024))
    preview_url = reverse("regulation-amend-preview", args=[regulation.pk])
    response = client.post(
        reverse("regulation-amend", args=[regulation.pk]),
        {"file": SimpleUploadedFile("shanghai-2024.pdf", pdf), "kind": "amended", "effective": "2025-03-01"},
    )
    assert response.status_code == 302 and response["Location"] == preview_url  # returned at once
    upload = RegulationUpload.objects.get()
    assert upload.total > 1  # the pages counted in the request, before any was parsed
    page = client.get(preview_url).content.decode()
    assert 'hx-get="/regulation/upload/status/"' in page and "vendor/htmx/htmx.min.js" in page

    wait_for(finished(upload.pk), 120, "the worker to read the PDF", worker)
    upload.refresh_from_db()
    assert upload.status == "done", upload.error
    assert upload.source_format == "pdf" and upload.done == upload.total and upload.data == b""
    assert client.get(reverse("regulation-upload-status"))["HX-Refresh"] == "true"
    page = client.get(preview_url).content.decode()
    assert "文字修改 6" in page and '<ins class="diff-ins">市场</ins>' in page and "hx-get" not in page
    assert "prepare_regulation_upload" in worker.log_path.read_text(errors="replace")

    # The confirmation of large work is the worker's too; the page then tells what it did.
    before = Obligation.objects.count()
    queued = client.post(reverse("regulation-amend-confirm", args=[regulation.pk]))
    assert queued["Location"] == preview_url
    wait_for(
        lambda: RegulationUpload.objects.filter(pk=upload.pk, stage="confirmed").exists(),
        120,
        "the worker to confirm the amendment",
        worker,
    )
    done = client.get(preview_url)
    assert done["Location"] == reverse("regulation-detail", args=[regulation.pk])
    assert "第2版（2024年修正）" in client.get(done["Location"]).content.decode()
    assert regulation.versions.count() == 2 and Obligation.objects.count() > before


def test_under_make_run_s_broker_a_worker_reads_a_new_regulation_docx(cast, filesystem_worker, settings):  # noqa: F811
    settings.REGULATION_SYNC_MAX_BYTES = 0
    client = Client()
    client.force_login(cast["lena"])
    docx = regulation_forms.to_docx(CONSTRUCTED.read_text(encoding="utf-8"))
    response = client.post(reverse("regulation-import"), {"file": SimpleUploadedFile("constructed.docx", docx)})
    assert response.status_code == 302
    upload = RegulationUpload.objects.get()
    page = client.get(reverse("regulation-import")).content.decode()
    assert "upload-status" in page and "确认导入" not in page

    wait_for(finished(upload.pk), 120, "the worker to read the .docx", filesystem_worker)
    upload.refresh_from_db()
    assert upload.status == "done", upload.error
    page = client.get(reverse("regulation-import")).content.decode()
    assert "预览：constructed.docx（Word（.docx））" in page and "确认导入" in page
    assert not Regulation.objects.exists()  # nothing written before the confirmation
    client.post(reverse("regulation-import"), {"confirm": "1"})
    assert Regulation.objects.get().title == "某市公共数据条例（构造样例）"
    assert not RegulationUpload.objects.exists()
