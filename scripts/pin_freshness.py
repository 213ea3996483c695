"""Which pinned requirements are behind the newest patch release of their own series.

`make audit` prints this when no advisory service can be reached: security fixes ship as patch
releases, so a pin that is the newest patch of its series has every fix published for that series
(not those that only reached a newer series). It reads PyPI's project JSON
(https://pypi.org/pypi/NAME/json), which some mirrors serve where the per-release JSON that
pip-audit needs is missing. Exit 0 when every pin is current, 1 when one is behind, 2 when PyPI
could not be asked.

    .venv/bin/python scripts/pin_freshness.py requirements.txt [more files]
"""

import json
import re
import sys
import urllib.request

from packaging.version import InvalidVersion, Version

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def pins(paths: list[str]) -> list[tuple[str, Version]]:
    found = []
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                match = PIN.match(line.strip())
                if match:
                    found.append((match[1], Version(match[2])))
    return found


def newest_patch(name: str, pinned: Version) -> Version:
    url = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (fixed https URL)
        releases = json.load(response)["releases"]
    series = []
    for text, files in releases.items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if files and not version.is_prerelease and version.release[:2] == pinned.release[:2]:
            series.append(version)
    return max(series, default=pinned)


def main(paths: list[str]) -> int:
    behind = []
    for name, pinned in pins(paths):
        try:
            newest = newest_patch(name, pinned)
        except Exception as exc:  # noqa: BLE001 (any failure: this check could not be made)
            print(f"pin freshness: cannot ask PyPI about {name}: {exc}")
            return 2
        if newest > pinned:
            behind.append(f"{name} {pinned} -> {newest}")
    if behind:
        print("pin freshness: behind the newest patch release of their series: " + "; ".join(behind))
        return 1
    print(f"pin freshness: all {len(pins(paths))} pins are the newest patch release of their series")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["requirements.txt"]))
