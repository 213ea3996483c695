"""The evidence bundle: a ZIP of a selection's evidence files with the manifest inside.

Each file is read once: copied to a temporary file while its digest is computed with the algorithm
recorded at upload. Only a file whose digest still matches is packed; one that changed, vanished or
never had a digest is listed in the manifest with the reason and left out.
"""

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass

from django.core.files.storage import default_storage

from obligations.audit import new_hasher
from obligations.models import Evidence

from . import asof
from .columns import EVIDENCE_COLUMNS, evidence_values
from .csv import BOM, _line

CHUNK = 1024 * 1024
UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class BundleResult:
    packed: int = 0
    mismatched: int = 0
    missing: int = 0
    unverifiable: int = 0
    not_files: int = 0


def _arcname(row: asof.EvidenceRow) -> str:
    name = UNSAFE.sub("_", row.reference).strip(" .") or "file"
    return f"材料/{row.evidence_id}_{name[:120]}"


def _check_and_copy(row: asof.EvidenceRow, tmp) -> tuple[str, bool]:
    """(status text, ok): copies the stored file into `tmp`, hashing on the way."""
    if not row.digest:
        return "未登记摘要，无法校验，未打包", False
    try:
        source = default_storage.open(row.file_path, "rb")
    except (FileNotFoundError, OSError):
        return "文件缺失，未打包", False
    hasher = new_hasher(row.algorithm.replace("-", "").lower())
    with source:
        while chunk := source.read(CHUNK):
            hasher.update(chunk)
            tmp.write(chunk)
    actual = hasher.hexdigest()
    if actual != row.digest.lower():
        return f"摘要不符（现为 {actual}），文件可能已被篡改，未打包", False
    return "摘要一致，已打包", True


def write(ctx: asof.ReportContext, out, progress=None) -> BundleResult:
    result = BundleResult()
    header = [title for title, _, _, _ in EVIDENCE_COLUMNS] + ["校验结果", "包内文件"]
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf,
        tempfile.TemporaryFile() as manifest,
    ):
        manifest.write((BOM + _line(header)).encode("utf-8"))
        for done, row in enumerate(asof.iter_evidence_rows(ctx), start=1):
            arcname = ""
            if row.kind != Evidence.Kind.FILE or not row.file_path:
                status = "非文件材料（链接或发文字号），无需打包"
                result.not_files += 1
            else:
                with tempfile.NamedTemporaryFile() as tmp:
                    status, ok = _check_and_copy(row, tmp)
                    tmp.flush()
                    if ok:
                        arcname = _arcname(row)
                        zf.write(tmp.name, arcname)
                        result.packed += 1
                    elif status.startswith("摘要不符"):
                        result.mismatched += 1
                    elif status.startswith("文件缺失"):
                        result.missing += 1
                    else:
                        result.unverifiable += 1
            manifest.write(_line([*evidence_values(row), status, arcname]).encode("utf-8"))
            if progress and done % 100 == 0:
                progress(done)
        manifest.seek(0)
        with zf.open("佐证材料清单.csv", "w") as target:
            shutil.copyfileobj(manifest, target, CHUNK)
        lines = [ctx.title, ""] + [f"{label}：{value}" for label, value in ctx.header_lines()]
        lines += [
            "",
            f"已打包 {result.packed} 个文件；摘要不符 {result.mismatched} 个；文件缺失 {result.missing} 个；"
            f"未登记摘要 {result.unverifiable} 个；非文件材料 {result.not_files} 项。",
            "每个文件打包前均按登记时的算法重新计算摘要，与登记值一致者方才打包；不一致者仅在清单中标注。",
        ]
        zf.writestr("说明.txt", "\r\n".join(lines).encode("utf-8"))
    return result
