"""The PDF's font: WenQuanYi Zen Hei, TrueType outlines that reportlab
can subset and embed, shipped by Debian's fonts-wqy-zenhei (the set-up installs it: scripts/fonts.sh,
called by `make run` and `make test`).

The file is found, not assumed: REPORT_FONT_FILE if set, else fontconfig's answer (`fc-match`),
else the usual Debian paths. Without it the PDF cannot embed a CJK font, and says so clearly.
"""

import functools
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "WenQuanYiZenHei"
FAMILY = "WenQuanYi Zen Hei"
# Faces of wqy-zenhei.ttc: 0 Zen Hei, 1 Zen Hei Mono, 2 Zen Hei Sharp. One face only: each face
# registered parses the 17 MB file again (about 40 MB of memory per export).
FACE = 0
KNOWN_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/local/share/fonts/wqy-zenhei.ttc",
)


class FontMissing(RuntimeError):
    pass


def _fc_match() -> Path | None:
    fc_match = shutil.which("fc-match")
    if not fc_match:
        return None
    try:
        found = subprocess.run(  # noqa: S603 (a fixed command, no shell)
            [fc_match, "-f", "%{file}", FAMILY], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(found) if found else None
    # fontconfig answers with its best substitute when the family is missing: take only ours.
    return path if path and path.name.startswith("wqy-zenhei") and path.is_file() else None


@functools.cache
def font_file() -> Path:
    configured = settings.REPORT_FONT_FILE
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(f"REPORT_FONT_FILE 指向的字体文件不存在：{configured}")
        return path
    path = _fc_match() or next((Path(p) for p in KNOWN_PATHS if Path(p).is_file()), None)
    if path is None:
        raise FontMissing(
            "找不到 PDF 报告所需的中文字体（文泉驿正黑，Debian 软件包 fonts-wqy-zenhei）："
            "请运行 bash scripts/fonts.sh 安装，或以 REPORT_FONT_FILE 指定 wqy-zenhei.ttc 的路径"
        )
    return path


@functools.cache
def register_fonts() -> Path:
    """Register the face with reportlab once per process; returns the file used."""
    path = font_file()
    pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=FACE))
    return path
