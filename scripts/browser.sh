#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work on a
# closed network) and need a CJK font so that Chinese renders as Chinese in screenshots.
set -u
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qiE "wqy|noto sans cjk|noto serif cjk" || missing+=(fonts-wqy-zenhei)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "${missing[@]}" >/dev/null || echo "could not install ${missing[*]}"
  else
    echo "missing ${missing[*]}: install them with apt-get (the browser tests fail without them)"
  fi
fi
exit 0
