"""Lineage: each duty of an amended text matched to the duty of the text it amends.

Pure Python (standard library only) and knows nothing of obligations: it takes the clauses of
two versions as `Duty` values and says, for each, what became of it:

- unchanged: the same words (after whitespace), in the same place in the order of the text, under
  the article the rest of its old article went to (the article may be renumbered);
- moved: the same words, taken out of the order or into another article;
- reworded: the same duty in other words (most of the character pairs shared);
- split: one old duty whose parts are several new ones; merged: several old duties in one new;
- new: a duty with no old counterpart; repealed: an old duty with no new counterpart.

Read `match()` top to bottom: exact text first, then the closest rewording, then the parts of a
split or a merger, the rest new or repealed. `diff()` marks the differences of two texts token by
token (a CJK character, or a run of Latin letters or digits) for display; `score()` measures a
matching against a hand-made expected lineage (precision and recall).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

UNCHANGED = "unchanged"
MOVED = "moved"
REWORDED = "reworded"
SPLIT = "split"
MERGED = "merged"
NEW = "new"
REPEALED = "repealed"

KINDS = (UNCHANGED, MOVED, REWORDED, SPLIT, MERGED, NEW, REPEALED)
LABELS = {
    UNCHANGED: "未变",
    MOVED: "移动",
    REWORDED: "文字修改",
    SPLIT: "拆分",
    MERGED: "合并",
    NEW: "新增",
    REPEALED: "删除",
}
# The kinds whose duty is still the old one, word for word: its obligation keeps its state.
SAME_WORDS = (UNCHANGED, MOVED)
# The kinds whose words changed: the obligation goes back to its body for review (待复核).
CHANGED_WORDS = (REWORDED, SPLIT, MERGED)

REWORDED_MIN = 0.5  # Dice coefficient of character bigrams for "the same duty in other words"
PART_MIN = 0.7  # share of a part's bigrams found in the whole, for a split or a merger
PART_SHORTER = 0.85  # a part is at most this share of the whole's length

_SPACE_RE = re.compile(r"\s+")
_TOKEN_RE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?|\s+|.", re.S)


@dataclass(frozen=True)
class Duty:
    """One clause of a version: `key` is the caller's (a primary key, a position)."""

    key: object
    article: int
    paragraph: int
    ordinal: int
    text: str
    citation: str = ""

    @property
    def position(self) -> tuple[int, int, int]:
        return (self.article, self.paragraph, self.ordinal)

    @property
    def ref(self) -> str:
        """Article.paragraph.ordinal, the form of an expected lineage list."""
        return f"{self.article}.{self.paragraph}.{self.ordinal}"


@dataclass
class Link:
    kind: str
    old: Duty | None
    new: Duty | None
    score: float = 1.0

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def as_tuple(self) -> tuple[str, str | None, str | None]:
        return (self.kind, self.old.ref if self.old else None, self.new.ref if self.new else None)


@dataclass
class Lineage:
    links: list[Link] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counted = Counter(link.kind for link in self.links)
        return {kind: counted.get(kind, 0) for kind in KINDS}

    def for_old(self, key) -> list[Link]:
        return [link for link in self.links if link.old is not None and link.old.key == key]

    def for_new(self, key) -> list[Link]:
        return [link for link in self.links if link.new is not None and link.new.key == key]


def normalise(text: str) -> str:
    return _SPACE_RE.sub("", text)


def _bigrams(text: str) -> Counter:
    text = normalise(text)
    return Counter(text[i : i + 2] for i in range(len(text) - 1)) or Counter([text])


def dice(a: Counter, b: Counter) -> float:
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


def contained(part: Counter, whole: Counter) -> float:
    size = sum(part.values())
    return sum((part & whole).values()) / size if size else 0.0


def _in_order(pairs: list[tuple[int, int]]) -> set[int]:
    """Indexes (into `pairs`, sorted by old position) of a longest run increasing in new position."""
    tails: list[int] = []
    tail_index: list[int] = []
    previous = [-1] * len(pairs)
    for i, (_, new_pos) in enumerate(pairs):
        j = bisect_left(tails, new_pos)
        if j == len(tails):
            tails.append(new_pos)
            tail_index.append(i)
        else:
            tails[j] = new_pos
            tail_index[j] = i
        previous[i] = tail_index[j - 1] if j else -1
    keep = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        keep.add(i)
        i = previous[i]
    return keep


def match(old: list[Duty], new: list[Duty]) -> Lineage:
    old = sorted(old, key=lambda d: d.position)
    new = sorted(new, key=lambda d: d.position)
    old_pos = {id(d): i for i, d in enumerate(old)}
    new_pos = {id(d): i for i, d in enumerate(new)}
    pairs: dict[int, tuple[Duty, Duty, str, float]] = {}  # old index -> (old, new, kind, score)
    taken_new: set[int] = set()

    # 1. The same words: each old duty takes the nearest unmatched new duty with its text.
    by_text: dict[str, list[Duty]] = defaultdict(list)
    for duty in new:
        by_text[normalise(duty.text)].append(duty)
    for i, duty in enumerate(old):
        candidates = [d for d in by_text.get(normalise(duty.text), []) if new_pos[id(d)] not in taken_new]
        if candidates:
            best = min(candidates, key=lambda d: (abs(d.article - duty.article), abs(d.paragraph - duty.paragraph)))
            pairs[i] = (duty, best, "same", 1.0)
            taken_new.add(new_pos[id(best)])

    # 2. The same duty in other words: the closest pairs first, one to one.
    old_grams = [_bigrams(d.text) for d in old]
    new_grams = [_bigrams(d.text) for d in new]
    scored = []
    for i in range(len(old)):
        if i in pairs:
            continue
        for j in range(len(new)):
            if j in taken_new:
                continue
            score = dice(old_grams[i], new_grams[j])
            if score >= REWORDED_MIN:
                scored.append((-score, abs(new[j].article - old[i].article), i, j))
    for negative, _, i, j in sorted(scored):
        if i in pairs or j in taken_new:
            continue
        pairs[i] = (old[i], new[j], REWORDED, -negative)
        taken_new.add(j)

    # Where each old article went: the new article most of its matched duties are in.
    went: dict[int, Counter] = defaultdict(Counter)
    for o, n, _, _ in pairs.values():
        went[o.article][n.article] += 1
    article_map = {a: c.most_common(1)[0][0] for a, c in went.items()}
    same = sorted((i, new_pos[id(n)]) for i, (o, n, kind, _) in pairs.items() if kind == "same")
    keep = {same[k][0] for k in _in_order(same)}

    links: list[Link] = []
    for i, (o, n, kind, score) in sorted(pairs.items()):
        if kind == "same":
            kind = UNCHANGED if i in keep and article_map.get(o.article) == n.article else MOVED
        links.append(Link(kind, o, n, score))

    # 3. Splits: a new duty most of whose words are in a longer old duty.
    matched_old = {id(link.old) for link in links}
    kept_old = {old_pos[id(link.old)] for link in links if link.kind in SAME_WORDS}
    for j, duty in enumerate(new):
        if j in taken_new:
            continue
        best = _best_whole(new_grams[j], len(normalise(duty.text)), old, old_grams, kept_old)
        if best is None:
            continue
        i, share = best
        taken_new.add(j)
        for link in links:
            if link.old is old[i] and link.kind == REWORDED:
                link.kind = SPLIT
        links.append(Link(SPLIT, old[i], duty, share))
        matched_old.add(id(old[i]))

    # 4. Mergers: an old duty most of whose words are in a longer new duty.
    kept_new = {new_pos[id(link.new)] for link in links if link.kind in SAME_WORDS}
    for i, duty in enumerate(old):
        if id(duty) in matched_old:
            continue
        best = _best_whole(old_grams[i], len(normalise(duty.text)), new, new_grams, kept_new)
        if best is None:
            continue
        j, share = best
        for link in links:
            if link.new is new[j] and link.kind == REWORDED:
                link.kind = MERGED
        links.append(Link(MERGED, duty, new[j], share))
        matched_old.add(id(duty))
        taken_new.add(j)

    # 5. What is left is new or repealed.
    links += [Link(NEW, None, d, 0.0) for j, d in enumerate(new) if j not in taken_new]
    links += [Link(REPEALED, d, None, 0.0) for d in old if id(d) not in matched_old]
    links.sort(key=lambda link: (new_pos[id(link.new)] if link.new else len(new), old_pos.get(id(link.old), -1)))
    return Lineage(links)


def correct(lineage: Lineage, old: list[Duty], new: list[Duty], corrections: list[tuple]) -> Lineage:
    """The lineage with the lead's corrections: each (kind, old ref, new ref) replaces every link
    of that old duty and of that new duty; a duty left without a link is then new or repealed.
    ValueError (in Chinese) for a kind or a position the two texts do not have."""
    old_by_ref, new_by_ref = {d.ref: d for d in old}, {d.ref: d for d in new}
    fixed: list[Link] = []
    for row in corrections:
        kind, old_ref, new_ref = (list(row) + [None, None])[:3]
        if kind not in KINDS:
            raise ValueError(f"对应关系类型“{kind}”不对，应为 {'、'.join(KINDS)}")
        if (old_ref is None) != (kind == NEW) or (new_ref is None) != (kind == REPEALED):
            raise ValueError(f"“{LABELS[kind]}”的原位置和新位置填写不对：{old_ref} → {new_ref}")
        if old_ref is not None and old_ref not in old_by_ref:
            raise ValueError(f"原文本没有条款 {old_ref}")
        if new_ref is not None and new_ref not in new_by_ref:
            raise ValueError(f"新文本没有条款 {new_ref}")
        fixed.append(Link(kind, old_by_ref.get(old_ref), new_by_ref.get(new_ref), 1.0))
    touched_old = {link.old.ref for link in fixed if link.old}
    touched_new = {link.new.ref for link in fixed if link.new}
    kept = [
        link
        for link in lineage.links
        if link.kind not in (NEW, REPEALED)
        and not (link.old and link.old.ref in touched_old)
        and not (link.new and link.new.ref in touched_new)
    ]
    links = kept + fixed
    linked_old = {link.old.ref for link in links if link.old}
    linked_new = {link.new.ref for link in links if link.new}
    links += [Link(NEW, None, d, 0.0) for d in new if d.ref not in linked_new]
    links += [Link(REPEALED, d, None, 0.0) for d in old if d.ref not in linked_old]
    order = {d.ref: i for i, d in enumerate(sorted(new, key=lambda d: d.position))}
    links.sort(
        key=lambda link: (order[link.new.ref] if link.new else len(order), link.old.position if link.old else ())
    )
    return Lineage(links)


def _best_whole(
    part: Counter, length: int, wholes: list[Duty], grams: list[Counter], skip: set[int]
) -> tuple[int, float] | None:
    best = None
    for k, whole in enumerate(wholes):
        if k in skip or length > PART_SHORTER * len(normalise(whole.text)):
            continue
        share = contained(part, grams[k])
        if share >= PART_MIN and (best is None or share > best[1]):
            best = (k, share)
    return best


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """The two texts as runs of ("equal" | "delete" | "insert", text), token by token."""
    a, b = _TOKEN_RE.findall(old or ""), _TOKEN_RE.findall(new or "")
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("insert", "".join(b[j1:j2])))
    return runs


def diff_text(old: str, new: str) -> str:
    """The differences in plain text: 〔删：…〕 and 〔增：…〕 marks, for reports and the terminal."""
    parts = []
    for op, text in diff(old, new):
        parts.append(text if op == "equal" else f"〔{'删' if op == 'delete' else '增'}：{text}〕")
    return "".join(parts)


@dataclass
class Score:
    precision: float
    recall: float
    found: int
    expected: int
    correct: int
    missing: list[tuple] = field(default_factory=list)
    wrong: list[tuple] = field(default_factory=list)


def score(lineage: Lineage, expected: list[tuple[str, str | None, str | None]]) -> Score:
    """Precision and recall of the links (kind, old ref, new ref) against the expected list."""
    found = {link.as_tuple() for link in lineage.links}
    wanted = {tuple(e) for e in expected}
    correct = found & wanted
    return Score(
        precision=len(correct) / len(found) if found else 1.0,
        recall=len(correct) / len(wanted) if wanted else 1.0,
        found=len(found),
        expected=len(wanted),
        correct=len(correct),
        missing=sorted(wanted - found, key=str),
        wrong=sorted(found - wanted, key=str),
    )
