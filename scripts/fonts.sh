#!/usr/bin/env bash
# The PDF reports embed a subset of WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei, TrueType) and the
# browser tests render Chinese with it. Installed from Debian's packages when missing (as root);
# otherwise says what to install. reports/fonts.py finds the file (fc-match, or REPORT_FONT_FILE).
set -u
if fc-list 2>/dev/null | grep -qi "wqy-zenhei"; then exit 0; fi
for f in /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; do [ -f "$f" ] && exit 0; done
if [ -n "${REPORT_FONT_FILE:-}" ] && [ -f "$REPORT_FONT_FILE" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing fonts-wqy-zenhei (the PDF reports' font)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  apt-get install -y -qq fonts-wqy-zenhei >/dev/null || echo "could not install fonts-wqy-zenhei: PDF reports will refuse to render"
else
  echo "missing fonts-wqy-zenhei: install it (apt-get install fonts-wqy-zenhei) or set REPORT_FONT_FILE; PDF reports need it"
fi
exit 0
