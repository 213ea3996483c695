"""Measure the parser on regulations checked by hand: a text, and beside it the duties it holds.

Each text ``NAME.txt`` of a corpus folder may have a ``NAME.duties`` file written by hand::

    # comment
    registry 县级以上人民政府 = P-GOV P-LOCAL     (a phrase of the text's registry and its codes)
    duty 24 1 P-GOV P-LOCAL 人民法院              (article, paragraph, the bodies bound)

A body is a registry code, or the name as the text writes it when the registry lacks the body (the
parser then proposes it). Only duties of named public bodies are listed: an open class
("有关部门"), an enterprise, a principle or a bare prohibition is not a duty.

The score pairs each expected duty with a clause the parser calls a duty: first one of the same
article, paragraph and bodies, then one of the same article and paragraph, then one of the same
article. Recall and precision count the pairs; "bodies" and "款" are the shares of pairs whose
bodies, and whose paragraph, are right. Pure Python, like the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .parser import DUTY, SHALL, Registry, extract_clauses, parse_regulation, read_regulation_file

DUTIES_SUFFIX = ".duties"


class DutiesFileError(ValueError):
    """A ``.duties`` line this reader does not understand; ``args[0]`` names the file and line."""


@dataclass(frozen=True)
class Duty:
    article: int
    paragraph: int
    bodies: tuple[str, ...]


@dataclass
class HandChecked:
    """A text with its registry and the duties found in it by hand."""

    name: str
    text_path: Path
    registry: dict[str, list[str]] = field(default_factory=dict)
    duties: list[Duty] = field(default_factory=list)


def read_duties(path: Path) -> HandChecked:
    checked = HandChecked(path.stem, path.with_suffix(".txt"))
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        if word == "registry" and "=" in rest:
            phrase, _, codes = rest.partition("=")
            checked.registry[phrase.strip()] = codes.split()
        elif word == "duty" and len(rest.split()) >= 3 and all(p.isdigit() for p in rest.split()[:2]):
            article, paragraph, *bodies = rest.split()
            checked.duties.append(Duty(int(article), int(paragraph), tuple(bodies)))
        else:
            raise DutiesFileError(f"{path.name}:{number}: {raw!r}")
    return checked


def hand_checked_texts(folder: Path) -> list[HandChecked]:
    return [read_duties(path) for path in sorted(folder.glob(f"*{DUTIES_SUFFIX}"))]


@dataclass
class Score:
    name: str
    shall_in_text: int  # 应当 as written (a PDF space inside it allowed)
    shall_clauses: int  # clauses the parser found with 应当
    expected: int
    found: int  # clauses the parser calls duties
    paired: int
    bodies_right: int
    paragraph_right: int
    missed: list[Duty] = field(default_factory=list)
    extra: list[Duty] = field(default_factory=list)
    wrong: list[tuple[Duty, Duty]] = field(default_factory=list)  # (expected, found) paired but not equal

    @property
    def recall(self) -> float:
        return self.paired / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.paired / self.found if self.found else 1.0

    @property
    def bodies(self) -> float:
        return self.bodies_right / self.paired if self.paired else 1.0

    @property
    def paragraphs(self) -> float:
        return self.paragraph_right / self.paired if self.paired else 1.0


def found_duties(text: str, registry: Registry) -> tuple[list[Duty], int]:
    """The parser's duties in a text, and how many of its clauses hold 应当."""
    clauses = extract_clauses(parse_regulation(text), registry)
    duties = [
        # the bodies bound: the registry's, then those proposed from the subject (not the cooperating)
        Duty(c.article, c.paragraph, tuple(c.departments) + tuple(registry.resolve(c.subject).unresolved))
        for c in clauses
        if c.kind == DUTY
    ]
    return duties, sum(1 for c in clauses if SHALL in c.text)


def score(checked: HandChecked) -> Score:
    text = read_regulation_file(checked.text_path)
    found, shall_clauses = found_duties(text, Registry(checked.registry))
    expected = list(checked.duties)
    left = list(found)
    pairs: list[tuple[Duty, Duty]] = []
    for rule in (
        lambda e, f: e == f,
        lambda e, f: (e.article, e.paragraph) == (f.article, f.paragraph),
        lambda e, f: e.article == f.article,
    ):
        unpaired = []
        for duty in expected:
            match = next((f for f in left if rule(duty, f)), None)
            if match is None:
                unpaired.append(duty)
            else:
                left.remove(match)
                pairs.append((duty, match))
        expected = unpaired
    return Score(
        name=checked.name,
        shall_in_text=text.replace(" ", "").replace("\u3000", "").count(SHALL),
        shall_clauses=shall_clauses,
        expected=len(checked.duties),
        found=len(found),
        paired=len(pairs),
        bodies_right=sum(1 for e, f in pairs if set(e.bodies) == set(f.bodies)),
        paragraph_right=sum(1 for e, f in pairs if e.paragraph == f.paragraph),
        missed=expected,
        extra=left,
        wrong=[(e, f) for e, f in pairs if e.paragraph != f.paragraph or set(e.bodies) != set(f.bodies)],
    )
