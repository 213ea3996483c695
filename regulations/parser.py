"""Read a Chinese local regulation (法规) and find what it requires of which government body.

Pure Python (standard library only), so it can be tested and reused without Django.
Read it top to bottom:

1. Errors and reading a file        — ``RegulationFormatError``, ``read_regulation_file``
2. Chinese numerals                 — ``chinese_numeral_to_int``, ``int_to_chinese_numeral``,
                                      and the citation ``article_label`` / ``citation`` (第X条第Y款)
3. Cleaning                         — PDF debris: stray spaces, ASCII punctuation, page breaks
4. Structure                        — ``parse_regulation``: title, preamble, 章, 条, 款, 项
5. Clauses                          — ``extract_clauses`` (应当 / 不得) and ``extract_remits`` (负责)
6. Resolution                       — ``Registry``: the subject as written -> registry codes

The rules follow the drafting pattern of Chinese regulations, not one particular text: the word
lists they use are module constants near the code that reads them, so another regulation of the
same form (with a registry naming its bodies) needs no code change.

Nothing here raises on odd input except ``RegulationFormatError`` (from ``parse_regulation`` and
``read_regulation_file``); the extraction functions accept whatever ``parse_regulation`` returned.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ExtractedClause",
    "ParsedArticle",
    "ParsedChapter",
    "ParsedItem",
    "ParsedParagraph",
    "ParsedRegulation",
    "Registry",
    "RegulationFormatError",
    "Remit",
    "Resolution",
    "article_label",
    "chinese_numeral_to_int",
    "citation",
    "clean_text",
    "decode_text",
    "extract_clauses",
    "extract_remits",
    "int_to_chinese_numeral",
    "parse_regulation",
    "read_regulation_file",
    "split_sentences",
]


# ---------------------------------------------------------------------------------------------
# 1. Errors and reading a file
# ---------------------------------------------------------------------------------------------


class RegulationFormatError(ValueError):
    """The input is not a regulation text this parser can read; ``args[0]`` is a message in Chinese."""


MSG_EMPTY = "文件为空"
MSG_NOT_UTF8 = "文件不是 UTF-8 编码的文本"
MSG_BINARY = "文件不是 UTF-8 编码的文本（含有二进制内容）"
MSG_HTML = "文件看起来是 HTML 网页，不是法规文本"
MSG_NO_ARTICLES = "未找到任何条文（第X条）"


def read_regulation_file(path: str | os.PathLike[str]) -> str:
    """The text of a regulation file: strict UTF-8, a leading BOM allowed."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RegulationFormatError(f"无法读取文件：{path}（{exc.strerror or exc}）") from exc
    return decode_text(data)


def decode_text(data: bytes) -> str:
    """The text of a plain-text regulation file: strict UTF-8, a leading BOM allowed."""
    if not data.strip():
        raise RegulationFormatError(MSG_EMPTY)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegulationFormatError(MSG_NOT_UTF8) from exc
    if "\x00" in text:  # e.g. UTF-16 without a BOM, or a binary file that happens to decode
        raise RegulationFormatError(MSG_BINARY)
    return text


# ---------------------------------------------------------------------------------------------
# 2. Chinese numerals
# ---------------------------------------------------------------------------------------------

_DIGIT_VALUES = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_DIGIT_VALUES.update({str(d): d for d in range(10)})
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_DIGIT_CHARS = "零一二三四五六七八九"
# Characters a numeral in a label (第X条, 第X章, （X）) may be written with.
NUMERAL_CHARS = "零〇○一二两三四五六七八九十百千万亿0123456789"


def chinese_numeral_to_int(s: str) -> int:
    """一 -> 1, 十二 -> 12, 一百零二 -> 102, 二〇二四 -> 2024, "35" -> 35.

    A surrounding 第…条/章/款/项/节 is ignored. Raises ValueError when ``s`` is not a numeral.
    """
    text = re.sub(r"\s+", "", s or "")
    text = re.sub(r"^第", "", text)
    text = re.sub(r"[条章款项节编]$", "", text)
    if not text or any(ch not in NUMERAL_CHARS for ch in text):
        raise ValueError(f"not a numeral: {s!r}")
    done = 0  # completed 亿 groups
    wan = 0  # completed 万 group inside the current 亿 group
    section = 0  # below 10000
    digit: int | None = None
    for ch in text:
        if ch in _DIGIT_VALUES:
            value = _DIGIT_VALUES[ch]
            digit = value if digit is None else digit * 10 + value  # 二〇二四, "35"
        elif ch in _SMALL_UNITS:
            section += (1 if digit is None else digit) * _SMALL_UNITS[ch]
            digit = None
        elif ch == "万":
            wan = ((section + (digit or 0)) or 1) * 10_000
            section, digit = 0, None
        else:  # 亿
            done = ((done + wan + section + (digit or 0)) or 1) * 100_000_000
            wan, section, digit = 0, 0, None
    return done + wan + section + (digit or 0)


def _below_ten_thousand(n: int, leading: bool) -> str:
    parts: list[str] = []
    gap = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            gap = gap or bool(parts)
            continue
        if gap:
            parts.append("零")
            gap = False
        parts.append(_DIGIT_CHARS[d] + unit)
    text = "".join(parts)
    if leading and text.startswith("一十"):  # 十二, but 一百一十 and 一万零一十
        text = text[1:]
    return text


def _positive_to_chinese(n: int, leading: bool = True) -> str:
    for big, name in ((100_000_000, "亿"), (10_000, "万")):
        if n >= big:
            high, low = divmod(n, big)
            text = _positive_to_chinese(high, leading) + name
            if low:
                text += ("零" if low < big // 10 else "") + _positive_to_chinese(low, leading=False)
            return text
    return _below_ten_thousand(n, leading)


def int_to_chinese_numeral(n: int) -> str:
    """1 -> 一, 12 -> 十二, 102 -> 一百零二, 110 -> 一百一十, 0 -> 零."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"not a non-negative integer: {n!r}")
    return "零" if n == 0 else _positive_to_chinese(n)


def article_label(number: int) -> str:
    """3 -> 第三条."""
    return f"第{int_to_chinese_numeral(number)}条"


def citation(article: str, paragraph: int) -> str:
    """("第三条", 2) -> 第三条第二款: the one way a 款 is cited, on every page, message and report."""
    return f"{article}第{int_to_chinese_numeral(paragraph)}款"


# ---------------------------------------------------------------------------------------------
# 3. Cleaning
# ---------------------------------------------------------------------------------------------
# Text copied out of a PDF carries line-wrap debris: spaces inside words ("适 用", "应 当"), after
# punctuation ("领导, 建立"), and ASCII punctuation next to Chinese text. The rule: whitespace is
# dropped unless it separates two ASCII characters ("IPv6 网络" -> "IPv6网络", "Wi-Fi 6" stays);
# ASCII , ; : ? ! ( ) next to a Chinese character become full-width.

_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")  # \x0c: a PDF page break
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ud800-\udfff]")
_FULLWIDTH_ALNUM = {
    ord(c): ord(c) - 0xFEE0
    for c in "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ"
}
_WHITESPACE = re.compile(r"\s+")
_ASCII_TO_FULLWIDTH = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
_PAREN_PAIR = re.compile(r"\(([^()]*)\)")
_LONE_PUNCT_NEAR_WIDE = re.compile(r"(?<=[^\x00-\x7f])[,;:?!()]|[,;:?!()](?=[^\x00-\x7f])")


def _normalise_input(text: str) -> str:
    """Once per document: one kind of line break, no invisible characters, ASCII digits/letters."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    return text.translate(_FULLWIDTH_ALNUM)


def _squeeze_whitespace(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        before = text[m.start() - 1] if m.start() > 0 else ""
        after = text[m.end()] if m.end() < len(text) else ""
        return " " if before and after and before.isascii() and after.isascii() else ""

    return _WHITESPACE.sub(replace, text)


def _widen_paren_pair(m: re.Match[str]) -> str:
    whole, inner = m.group(0), m.group(1)
    s, start, end = m.string, m.start(), m.end()
    wide_outside = (start > 0 and not s[start - 1].isascii()) or (end < len(s) and not s[end].isascii())
    return f"（{inner}）" if not inner.isascii() or wide_outside else whole


def clean_text(text: str) -> str:
    """Remove PDF debris from one line or paragraph (see the comment above)."""
    text = _squeeze_whitespace(_normalise_input(text))
    text = _PAREN_PAIR.sub(_widen_paren_pair, text)
    text = _LONE_PUNCT_NEAR_WIDE.sub(lambda m: _ASCII_TO_FULLWIDTH[m.group(0)], text)
    return _squeeze_whitespace(text).strip()


# A block "ends a sentence" when its last character (after closing quotes/brackets that follow
# one) is one of these; a block that does not is continued by the next block (a page break).
BLOCK_TERMINATORS = "。；：！？;:!?.．…"
CLOSING_MARKS = "”’」』）)】》〕\"'"


def _ends_sentence(text: str) -> bool:
    text = text.rstrip()
    stripped = text.rstrip(CLOSING_MARKS)
    return bool(stripped) and stripped[-1] in BLOCK_TERMINATORS


# ---------------------------------------------------------------------------------------------
# 4. Structure: title, preamble, chapters (章), articles (条), paragraphs (款), items (项)
# ---------------------------------------------------------------------------------------------


@dataclass
class ParsedItem:
    """A 项: a line starting （一） inside an article; it belongs to the paragraph before it.

    A list written without marks (lines after a lead-in ending "：") has items with an empty label.
    """

    number: int
    label: str  # "（一）", or "" when the text has no mark
    text: str


@dataclass
class ParsedParagraph:
    """A 款. Paragraph 1's text does not repeat the "第X条" label."""

    number: int
    text: str
    items: list[ParsedItem] = field(default_factory=list)

    @property
    def full_text(self) -> str:
        """The paragraph with its items, one per line."""
        lines = [self.text] if self.text else []
        lines += [f"{item.label}{item.text}" for item in self.items]
        return "\n".join(lines)


@dataclass
class ParsedArticle:
    number: int
    label: str  # "第二十四条"
    chapter_number: int | None
    paragraphs: list[ParsedParagraph]

    @property
    def text(self) -> str:
        return "\n".join(p.full_text for p in self.paragraphs)


@dataclass
class ParsedChapter:
    number: int
    label: str  # "第一章"
    title: str  # "总则"


@dataclass
class ParsedRegulation:
    title: str
    preamble: str
    chapters: list[ParsedChapter]
    articles: list[ParsedArticle]

    def article(self, number: int) -> ParsedArticle | None:
        return next((a for a in self.articles if a.number == number), None)


_NUM = f"[{NUMERAL_CHARS}]"
_LABEL_NUMERAL = rf"({_NUM}(?:\s*{_NUM}){{0,9}})"  # at most ten characters: 第一千九百九十九条
ARTICLE_RE = re.compile(rf"第\s*{_LABEL_NUMERAL}\s*条(\s*)")
HEADING_RE = re.compile(rf"第\s*{_LABEL_NUMERAL}\s*([章节编])(.*)")
ITEM_RE = re.compile(r"[（(]\s*([零〇一二两三四五六七八九十百]{1,6})\s*[）)]")
TOC_MARKERS = {"目录", "目次"}
# A heading's title is short and is not a sentence.
MAX_HEADING_TITLE = 40
HEADING_FORBIDDEN = "。；，！？;,!?：:"
MAX_TITLE = 200
HTML_START_RE = re.compile(r"\s*<(?:!doctype\s+html|html[\s>]|\?xml|head[\s>]|body[\s>])", re.IGNORECASE)
HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
HTML_TAG_LIMIT = 5  # this many tags and the "text" is a web page


@dataclass
class _ItemDraft:
    number: int
    pieces: list[str]  # raw lines, joined and cleaned at the end
    marked: bool = True


@dataclass
class _ParagraphDraft:
    pieces: list[str] = field(default_factory=list)
    items: list[_ItemDraft] = field(default_factory=list)

    def is_blank(self) -> bool:
        return not any(p.strip() for p in self.pieces) and not self.items


@dataclass
class _ArticleBuilder:
    """An article while its lines are read: paragraphs of raw line pieces, cleaned in ``build``."""

    number: int
    chapter_number: int | None
    paragraphs: list[_ParagraphDraft] = field(default_factory=list)

    def new_paragraph(self, text: str) -> None:
        self.paragraphs.append(_ParagraphDraft([text] if text else []))

    def add_text(self, text: str, *, continuation: bool) -> None:
        """A continuation goes on the last item or paragraph; other text opens a new paragraph
        (unless paragraph 1 is still blank: "第一条" alone on its line)."""
        paragraph = self.paragraphs[-1]
        if continuation and paragraph.items:
            paragraph.items[-1].pieces.append(text)
        elif continuation or paragraph.is_blank():
            paragraph.pieces.append(text)
        else:
            self.new_paragraph(text)

    def add_item(self, number: int, text: str, *, marked: bool = True) -> None:
        self.paragraphs[-1].items.append(_ItemDraft(number, [text], marked))

    def next_item_number(self) -> int:
        return len(self.paragraphs[-1].items) + 1

    def build(self) -> ParsedArticle:
        paragraphs = []
        for index, draft in enumerate(self.paragraphs, start=1):
            items = [
                ParsedItem(
                    item.number,
                    f"（{int_to_chinese_numeral(item.number)}）" if item.marked else "",
                    clean_text(" ".join(item.pieces)),
                )
                for item in draft.items
            ]
            paragraphs.append(ParsedParagraph(index, clean_text(" ".join(draft.pieces)), items))
        return ParsedArticle(
            number=self.number,
            label=article_label(self.number),
            chapter_number=self.chapter_number,
            paragraphs=paragraphs,
        )


def _numeral(text: str) -> int | None:
    try:
        return chinese_numeral_to_int(text)
    except ValueError:
        return None


def _heading(line: str) -> tuple[str, int, str] | None:
    """("章" | "节" | "编", number, title) when the line is a heading such as "第一章 总 则"."""
    m = HEADING_RE.fullmatch(line)
    if not m:
        return None
    number = _numeral(m.group(1))
    title = clean_text(m.group(3))
    if number is None or len(title) > MAX_HEADING_TITLE or any(c in HEADING_FORBIDDEN for c in title):
        return None
    return m.group(2), number, title


def _article_start(line: str, last_number: int, previous_unfinished: bool) -> tuple[int, str] | None:
    """(number, rest of the line) when the line opens an article.

    "第十五条规定的…" at the start of a wrapped line is a cross-reference, not an article: an
    article label must be the next number, or be followed by a space and not cut a sentence.
    """
    m = ARTICLE_RE.match(line)
    if not m:
        return None
    number = _numeral(m.group(1))
    if number is None or number <= last_number:
        return None
    spaced = bool(m.group(2)) or m.end() == len(line)
    if number == last_number + 1:
        accepted = spaced or not previous_unfinished
    else:  # a gap in the numbering (an excerpt, a repealed article): only on clear evidence
        accepted = spaced and not previous_unfinished
    return (number, line[m.end() :]) if accepted else None


def _check_input(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError("parse_regulation expects str; use read_regulation_file for bytes")
    if not text.strip():
        raise RegulationFormatError(MSG_EMPTY)
    if HTML_START_RE.match(text):
        raise RegulationFormatError(MSG_HTML)
    tags = 0
    for _ in HTML_TAG_RE.finditer(text):
        tags += 1
        if tags >= HTML_TAG_LIMIT:
            raise RegulationFormatError(MSG_HTML)


def _opens_list(line: str) -> bool:
    """A lead-in such as "…履行下列职责：": the lines after it are the items (项) of its paragraph."""
    return line.rstrip().rstrip(CLOSING_MARKS).endswith(("：", ":"))


def _closes_list(line: str) -> bool:
    """The last item of a list ends the sentence with "。" (the others with "；")."""
    return line.rstrip().rstrip(CLOSING_MARKS).endswith(("。", "．", ".", "！", "？", "!", "?"))


def _split_front_matter(front: list[tuple[str, bool]]) -> tuple[str, str]:
    """(title, preamble) from the cleaned lines before the first article.

    The title is the first "#" heading line; without any, the first line when it looks like a title.
    The rest (the "（…通过…批准）" note) is the preamble; a line that does not end a sentence or a
    bracket is continued by the next one.
    """
    title_index = next((i for i, (text, hashed) in enumerate(front) if hashed and len(text) <= MAX_TITLE), None)
    if title_index is None and front:
        first = front[0][0]
        if len(first) <= MAX_TITLE // 2 and first[0] not in "（(" and not _ends_sentence(first):
            title_index = 0
    title = front[title_index][0] if title_index is not None else ""
    pieces: list[str] = []
    for i, (text, _) in enumerate(front):
        if i == title_index:
            continue
        if pieces and not (_ends_sentence(pieces[-1]) or pieces[-1][-1] in CLOSING_MARKS):
            pieces[-1] = clean_text(pieces[-1] + " " + text)
        else:
            pieces.append(text)
    return title, "\n".join(pieces)


def parse_regulation(text: str) -> ParsedRegulation:
    """The structure of a regulation text. Raises RegulationFormatError when it is not one."""
    _check_input(text)
    front: list[tuple[str, bool]] = []  # cleaned lines before the first article, and whether "#"
    front_chapter: ParsedChapter | None = None  # the last chapter heading before the first article
    chapters: list[ParsedChapter] = []
    articles: list[ParsedArticle] = []
    article: _ArticleBuilder | None = None
    chapter_number: int | None = None
    unfinished = False  # the previous block does not end a sentence: the next one continues it
    in_list = False  # the previous block is a lead-in ("…下列职责：") or an item not ending the list

    for raw in _normalise_input(text).split("\n"):
        line = raw.strip()
        hashed = line.startswith("#")
        line = line.lstrip("#").strip()
        if not line:
            continue
        compact = _WHITESPACE.sub("", line)

        if article is None and compact in TOC_MARKERS:
            continue
        heading = _heading(line)
        if heading is not None:
            kind, number, title = heading
            expected_chapter = (chapters[-1].number if chapters else 0) + 1
            if article is None or not unfinished or (kind == "章" and number == expected_chapter):
                if kind == "章":
                    parsed = ParsedChapter(number, f"第{int_to_chinese_numeral(number)}章", title)
                    if article is None:
                        front_chapter = parsed  # a table of contents line unless articles follow
                    elif all(c.number != number for c in chapters):
                        chapters.append(parsed)
                        chapter_number = number
                unfinished = in_list = False  # sections (节) and parts (编) are not kept
                continue

        start = _article_start(line, article.number if article else 0, unfinished and article is not None)
        if start is not None:
            if article is not None:
                articles.append(article.build())
            elif front_chapter is not None:
                chapters.append(front_chapter)
                chapter_number = front_chapter.number
            number, rest = start
            article = _ArticleBuilder(number, chapter_number)
            article.new_paragraph(rest)
            unfinished = bool(rest.strip()) and not _ends_sentence(rest)
            in_list = _opens_list(rest)
            continue

        if article is None:
            cleaned = clean_text(line)
            if cleaned:
                front.append((cleaned, hashed))
            continue

        item = ITEM_RE.match(line)
        item_number = _numeral(item.group(1)) if item else None
        if item and item_number and not unfinished:
            article.add_item(item_number, line[item.end() :])
            in_list = not _closes_list(line)
        elif in_list and not unfinished:
            # A list whose items lost their （一）（二） marks: each line up to the one ending "。".
            article.add_item(article.next_item_number(), line, marked=False)
            in_list = not _closes_list(line)
        else:
            article.add_text(line, continuation=unfinished)
            in_list = not _closes_list(line) if unfinished and in_list else _opens_list(line)
        unfinished = not _ends_sentence(line)

    if article is not None:
        articles.append(article.build())
    if not articles:
        raise RegulationFormatError(MSG_NO_ARTICLES)
    title, preamble = _split_front_matter(front)
    return ParsedRegulation(title=title, preamble=preamble, chapters=chapters, articles=articles)


# ---------------------------------------------------------------------------------------------
# 5. Clauses: 应当 (shall), 不得 (shall not), 负责 (is responsible for)
# ---------------------------------------------------------------------------------------------

# Sentences end at these (and any closing marks right after). "：" does not end a sentence.
SENTENCE_TERMINATORS = "。；！？;!?"
SHALL = "应当"
MUST_NOT = "不得"
REMIT_VERB = "负责"
# 应当 that is not the modal verb: 应 closes a word (相应, 对应, 适应, 供应 …) and 当 opens the next
# (当地, 当前, 当年 …), or 应当事人 ("at the request of a party").
NOT_SHALL_RE = re.compile(r"(?<=[相对响反适供感效呼答照回])应当(?=[地前今代年日天时场局下即])|应当事人")
# 不得 that is not "shall not": 不得不 (have to), 舍不得, 怪不得 …
NOT_MUST_NOT_RE = re.compile(r"不得不|(?<=[舍怪恨巴顾免])不得")
# 负责人 is a person, "直接负责的主管人员" a relative clause: neither is a remit.
NOT_REMIT_RE = re.compile(r"负责(?=[人的])")

# Kinds of clause.
DUTY = "duty"  # a government body must act
THIRD_PARTY = "third_party"  # an enterprise, unit or person must act
PRINCIPLE = "principle"  # no actor: "数字经济发展应当遵循…的原则"
GENERAL = "general"  # a broad class: "各行业主管部门", "国家机关…等", "有关部门"
PROHIBITION = "prohibition"  # a 不得 sentence without 应当

# Nouns that make a fragment of a subject look like a government body. Leftover text holding one
# of them that matches no registry phrase is reported as unresolved, never guessed.
GOVERNMENT_NOUNS = ("部门", "政府", "机关", "委员会", "管委会", "办公室", "法院", "检察院", "局")
# Nouns of actors that are not government bodies (the subject of a third-party clause).
THIRD_PARTY_NOUNS = (
    "单位",
    "企业",
    "个人",
    "组织",
    "所有人",
    "管理人",
    "使用人",
    "经营者",
    "运营者",
    "机构",
    "协会",
    "商会",
    "学会",
    "联盟",
    "团体",
    "学校",
    "院校",
    "医院",
    "公民",
    "法人",
    "主体",
    "平台",
    "人员",
    "居民",
    "村民",
    "业主",
    "消费者",
    "从业者",
    "开发者",
    "服务提供者",
    "责任人",
    "当事人",
)
# Any actor at all. A subject with none of these and no registry match states a principle.
ACTOR_NOUNS = GOVERNMENT_NOUNS + THIRD_PARTY_NOUNS + ("政府", "部门", "机关")
# A subject starting with (or, for 各级/国家机关, containing) one of these names a broad class.
GENERAL_PREFIXES = ("各级", "各行业", "各有关", "各相关", "各部门", "各单位", "各类", "国家机关", "一切")
GENERAL_ANYWHERE = ("各级", "国家机关")
# A subject that is only one of these (after place prefixes such as 市/省/本市) names a class too.
GENERAL_EXACT = (
    "有关部门",
    "相关部门",
    "有关主管部门",
    "相关主管部门",
    "主管部门",
    "行业主管部门",
    "有关机关",
    "相关机关",
    "有关单位",
    "相关单位",
    "政府部门",
    "政府有关部门",
    "政府相关部门",
    "有关方面",
    "行政机关",
    "有关行政机关",
)
GENERAL_PLACE_PREFIXES = ("本市", "本省", "全市", "全省", "市", "省", "区", "县", "州")
# Conditions written after the actor and before 应当: "网信等部门发现…时，应当" -> "网信等部门".
# Cut only where the text before the marker ends with an actor (so 所在地, 存在 are not cut).
CONDITION_MARKERS = (
    "从事",
    "发现",
    "对于",
    "根据",
    "按照",
    "依照",
    "依据",
    "依法",
    "遵照",
    "为了",
    "接到",
    "收到",
    "在",
    "对",
)
# A subject that is only a condition ("发现问题时", "违反本条例规定的") leaves the actor out: the
# clause takes the subject of the clause before it in the same paragraph.
CONDITION_ENDINGS = ("时", "的", "后", "前", "期间")
# Adverbs between the subject and the modal: "…等部门也应当", "…不应当".
TRAILING_ADVERBS = ("必须", "同时", "首先", "分别", "各自", "共同", "也", "均", "都", "还", "亦", "并", "仍", "不")
# Verbs after 应当 that name the bodies taking part: "会同工信等部门…" (anywhere in the clause),
# "应当组织大数据等有关部门…" (only right after 应当: 组织 is also the noun "organisation").
COOPERATION_MARKERS = ("会同",)
LEAD_VERB_MARKERS = ("组织", "联合")
# Where the list of cooperating bodies stops at the latest.
PHRASE_BREAKS = "，,。；;：:！？!?"
MAX_SUBJECT = 300  # the subject column's length in the database


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, each keeping its terminator (and closing quotes after it)."""
    sentences: list[str] = []
    start = i = 0
    while i < len(text):
        if text[i] in SENTENCE_TERMINATORS:
            j = i + 1
            while j < len(text) and (text[j] in SENTENCE_TERMINATORS or text[j] in CLOSING_MARKS):
                j += 1
            sentences.append(text[start:j])
            start = i = j
        else:
            i += 1
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def _marker_positions(sentence: str, word: str, false_re: re.Pattern[str]) -> list[int]:
    false_starts = {m.start() for m in false_re.finditer(sentence)}
    return [m.start() for m in re.finditer(word, sentence) if m.start() not in false_starts]


@dataclass
class ExtractedClause:
    article: int
    paragraph: int
    ordinal: int  # 1-based within the paragraph
    text: str
    subject: str
    kind: str
    departments: list[str] = field(default_factory=list)  # responsible, in order of appearance
    cooperating: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


@dataclass
class Remit:
    """A standing responsibility: "市工业和信息化部门负责…" (第五条)."""

    article: int
    paragraph: int
    subject: str
    departments: list[str]
    text: str
    unresolved: list[str] = field(default_factory=list)


def _strip_trailing(text: str) -> str:
    text = text.strip().rstrip("，,、；;：: ")
    changed = True
    while changed and text:
        changed = False
        for adverb in TRAILING_ADVERBS:
            if text.endswith(adverb) and len(text) > len(adverb):
                text = text[: -len(adverb)].rstrip("，,、 ")
                changed = True
                break
    return text


def _ends_with_actor(text: str, registry: Registry) -> bool:
    text = text.rstrip("，,、 ")
    return text.endswith(ACTOR_NOUNS) or registry.ends_with_phrase(text)


def _has_actor(text: str, registry: Registry) -> bool:
    if any(noun in text for noun in ACTOR_NOUNS):
        return True
    resolution = registry.resolve(text)
    return bool(resolution.codes or resolution.unresolved)


def _cut_condition(text: str, registry: Registry) -> str:
    """ "任何单位、企业和个人从事数据处理活动" -> "任何单位、企业和个人"."""
    for marker_start in sorted({m.start() for marker in CONDITION_MARKERS for m in re.finditer(marker, text)}):
        if marker_start > 0 and _ends_with_actor(text[:marker_start], registry):
            return text[:marker_start]
    return text


def _subject_of(before_modal: str, registry: Registry) -> str:
    """The actor written before the modal verb, without conditions or leading clauses."""
    text = _strip_trailing(before_modal)
    parts = [p.strip() for p in re.split(r"[，,；;：:]", text) if p.strip()]
    if not parts:
        return ""
    chosen = next((p for p in reversed(parts) if _has_actor(p, registry)), parts[-1])
    return _strip_trailing(_cut_condition(chosen, registry))[:MAX_SUBJECT]


def _is_general(subject: str) -> bool:
    if subject.startswith(GENERAL_PREFIXES) or any(word in subject for word in GENERAL_ANYWHERE):
        return True
    bare = subject
    for prefix in GENERAL_PLACE_PREFIXES:
        if bare.startswith(prefix) and bare[len(prefix) :] in GENERAL_EXACT:
            bare = bare[len(prefix) :]
            break
    return bare in GENERAL_EXACT


def _classify(subject: str, resolution: Resolution) -> str:
    if not subject:
        return PRINCIPLE
    if _is_general(subject) and not (EVERY_LEVEL_GOVERNMENT in subject and resolution.codes):
        return GENERAL
    if resolution.codes or resolution.unresolved:
        return DUTY
    if any(noun in subject for noun in THIRD_PARTY_NOUNS):
        return THIRD_PARTY
    if any(noun in subject for noun in GOVERNMENT_NOUNS):
        return GENERAL  # "政府部门", "部门": a class of bodies, not one
    return PRINCIPLE


def _cooperating_text(after_modal: str) -> str | None:
    """The text naming the cooperating bodies, "" when there is none to resolve."""
    start = None
    for marker in COOPERATION_MARKERS:
        index = after_modal.find(marker)
        if index >= 0 and (start is None or index + len(marker) < start):
            start = index + len(marker)
    for marker in LEAD_VERB_MARKERS:
        if start is None and after_modal.startswith(marker):
            start = len(marker)
    if start is None:
        return None
    span = after_modal[start:]
    for i, ch in enumerate(span):
        if ch in PHRASE_BREAKS:
            span = span[:i]
            break
    return span


def _cooperating(after_modal: str, registry: Registry) -> Resolution:
    """Bodies after 会同 (or a leading 组织): up to the first 部门, else the leading body names."""
    span = _cooperating_text(after_modal)
    if not span:
        return Resolution()
    if "部门" in span:
        return registry.resolve(span[: span.index("部门") + 2])
    return registry.resolve(registry.leading_bodies(span))


def _segments(sentence: str, positions: list[int]) -> list[tuple[str, str, str]]:
    """(clause text, text before the modal, text after it) for each modal in a sentence.

    A second modal starts a new clause at the comma before it (or at the modal itself).
    """
    starts = [0]
    for previous, position in zip(positions, positions[1:], strict=False):
        comma = max(sentence.rfind("，", previous + 2, position), sentence.rfind(",", previous + 2, position))
        starts.append(comma + 1 if comma >= 0 else position)
    result = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(sentence)
        piece = sentence[start:end]
        local = positions[k] - start
        text = piece.strip().rstrip("，,").strip() if k + 1 < len(starts) else piece.strip()
        result.append((text, piece[:local], piece[local + 2 :]))
    return result


def _paragraph_sentences(paragraph: ParsedParagraph) -> Iterator[str]:
    yield from split_sentences(paragraph.text)
    for item in paragraph.items:
        yield from split_sentences(item.text)


def _clause(
    article: int,
    paragraph: int,
    ordinal: int,
    text: str,
    subject: str,
    kind: str | None,
    after_modal: str,
    registry: Registry,
) -> ExtractedClause:
    resolution = registry.resolve(subject)
    subject_kind = _classify(subject, resolution)
    responsible = list(resolution.codes) if subject_kind == DUTY else []
    unresolved = list(resolution.unresolved) if subject_kind == DUTY else []
    helpers = _cooperating(after_modal, registry)
    cooperating = [code for code in helpers.codes if code not in responsible]
    unresolved += [u for u in helpers.unresolved if u not in unresolved]
    return ExtractedClause(
        article=article,
        paragraph=paragraph,
        ordinal=ordinal,
        text=text,
        subject=subject,
        kind=kind or subject_kind,
        departments=responsible,
        cooperating=cooperating,
        unresolved=unresolved,
    )


def _omits_actor(subject: str, inside_sentence: bool, registry: Registry) -> bool:
    """Drafting leaves out a repeated subject: "…，发现…时，应当…", "。应当…"."""
    if not subject:
        return True
    if _has_actor(subject, registry):
        return False
    return inside_sentence or subject.startswith(CONDITION_MARKERS) or subject.endswith(CONDITION_ENDINGS)


def extract_clauses(reg: ParsedRegulation, registry: Registry) -> list[ExtractedClause]:
    """One clause per 应当 (and per 不得 sentence without 应当), in text order."""
    clauses: list[ExtractedClause] = []
    for article in reg.articles:
        for paragraph in article.paragraphs:
            ordinal = 0
            previous_subject = ""
            for sentence in _paragraph_sentences(paragraph):
                shall = _marker_positions(sentence, SHALL, NOT_SHALL_RE)
                if shall:
                    pieces = _segments(sentence, shall)
                    kind = None
                else:
                    must_not = _marker_positions(sentence, MUST_NOT, NOT_MUST_NOT_RE)
                    if not must_not:
                        continue
                    before, after = sentence[: must_not[0]], sentence[must_not[0] + 2 :]
                    pieces = [(sentence, before, after)]
                    kind = PROHIBITION
                for index, (text, before, after) in enumerate(pieces):
                    subject = _subject_of(before, registry)
                    if previous_subject and _omits_actor(subject, index > 0, registry):
                        subject = previous_subject
                    ordinal += 1
                    if paragraph.items and _opens_list(text) and paragraph.text.endswith(text):
                        text = _with_items(text, paragraph)
                    clauses.append(
                        _clause(article.number, paragraph.number, ordinal, text, subject, kind, after, registry)
                    )
                    previous_subject = subject
    return clauses


def _with_items(lead_in: str, paragraph: ParsedParagraph) -> str:
    """ "…应当履行下列职责：" says what is owed only with its items: those that are not clauses of
    their own (no 应当 / 不得 in them) become part of the lead-in's clause text."""
    own = [
        f"{item.label}{item.text}"
        for item in paragraph.items
        if not _marker_positions(item.text, SHALL, NOT_SHALL_RE)
        and not _marker_positions(item.text, MUST_NOT, NOT_MUST_NOT_RE)
    ]
    return "\n".join([lead_in, *own])


def extract_remits(reg: ParsedRegulation, registry: Registry) -> list[Remit]:
    """Standing responsibilities: sentences "X部门负责…" whose X is a government body."""
    remits: list[Remit] = []
    for article in reg.articles:
        for paragraph in article.paragraphs:
            for sentence in _paragraph_sentences(paragraph):
                positions = _marker_positions(sentence, REMIT_VERB, NOT_REMIT_RE)
                if not positions or SHALL in sentence[: positions[0]]:
                    continue
                subject = _subject_of(sentence[: positions[0]], registry)
                resolution = registry.resolve(subject)
                if _classify(subject, resolution) != DUTY:
                    continue
                remits.append(
                    Remit(
                        article.number,
                        paragraph.number,
                        subject,
                        list(resolution.codes),
                        sentence,
                        list(resolution.unresolved),
                    )
                )
    return remits


# ---------------------------------------------------------------------------------------------
# 6. Resolution: the subject as written -> registry codes
# ---------------------------------------------------------------------------------------------
# The subject is scanned left to right. At each position the longest registry phrase wins
# ("公安机关交通管理" over "公安", "交通运输" over "交通"); otherwise a separator or filler word is
# skipped; anything else is unknown text. A phrase that is only a field of work ("金融", "教育")
# names a body only inside a list that ends with a head noun ("金融、教育等部门"), and never when it
# is glued to unknown text ("金融机构", "电子商务企业"). A full name ("市人民政府") glued to unknown
# text after it ("市人民政府办公厅") is a different body: unresolved. A full name right before another
# body is its owner, not a second actor: "省人民政府发展改革部门" is the development department only.

# Words that join the bodies of a list.
SEPARATORS = ("及其", "以及", "或者", "、", "，", ",", "和", "及", "与", "或", "等", "并")
# Head nouns closing a list of fields of work: "…等部门", "公安机关".
HEAD_NOUNS = ("行政主管部门", "主管部门", "行政部门", "管理部门", "部门", "机关")
# Other words around body names that are neither a body nor unresolved: place prefixes, "有关".
FILLERS = HEAD_NOUNS + (
    "本市",
    "本省",
    "本级",
    "同级",
    "有关",
    "相关",
    "其他",
    "其",
    "各",
    "市",
    "区",
    "县",
    "省",
    "州",
    "乡",
    "镇",
)
# A phrase ending with one of these is a full body name, not just a field of work.
BODY_NAME_ENDINGS = GOVERNMENT_NOUNS + ("机关", "厅", "委", "办", "署", "支队", "院")

_BODY, _SEPARATOR, _FILLER, _OTHER = "body", "separator", "filler", "other"

# "经济与信息化" is one body: 与 inside a name reads as 和 (the registry's spelling), both in the
# registry's phrases and in the text; as a word between two bodies it separates them like 和.
_AND_FOR_YU = str.maketrans({"与": "和"})

# Lists of governments. Laws write the same governments many ways ("市、区县人民政府",
# "市和区、县（市）人民政府", "市、县（市、区）人民政府", "市、区人民政府", "各级人民政府"); they are
# read as the canonical names below, one per level, so a registry names each government once with
# "省人民政府" / "市人民政府" / "区县人民政府" / "乡镇人民政府" and every form resolves.
GOVERNMENT = "人民政府"
EVERY_LEVEL_GOVERNMENT = "各级人民政府"
CANONICAL_GOVERNMENTS = ("省人民政府", "市人民政府", "区县人民政府", "乡镇人民政府")
_LEVEL_WORDS = "自治区|自治州|县级市|县级|区县|乡镇|街道|省|市|州|区|县|旗|乡|镇"
_LEVEL_OF = {
    "自治区": "省",
    "省": "省",
    "自治州": "市",
    "市": "市",
    "州": "市",
    "乡镇": "乡镇",
    "街道": "乡镇",
    "乡": "乡镇",
    "镇": "乡镇",
}  # anything else (区, 县, 区县, 县级, 县级市, 旗) is the level below the city: 区县
# One level, with a note in brackets that belongs to it: "县（市）", "县（市、区）".
GOVERNMENT_LEVEL_RE = re.compile(rf"({_LEVEL_WORDS})(?:[（(][^（()）]{{1,8}}[）)])?")
# A list starts the text or follows a separator, so "历下区人民政府" and "浦东新区人民政府" are names.
GOVERNMENT_LIST_RE = re.compile(
    rf"{EVERY_LEVEL_GOVERNMENT}|(?<![^、，,和及与或；;])"
    rf"(?:{GOVERNMENT_LEVEL_RE.pattern}[、和及与]?)*?{GOVERNMENT_LEVEL_RE.pattern}{GOVERNMENT}"
)

# Public bodies missing from the registry are often named by their kind rather than with a
# government noun: "大数据管理机构", "社会保险经办机构", "市政府办公厅", "浦东新区", "市大数据中心".
# Such a name is an unresolved body (to be confirmed by the admin), never a third party.
PUBLIC_BODY_ENDINGS = ("管理机构", "经办机构", "监管机构", "执法机构", "主管机构", "办公厅", "新区")
# "中心" is a public body only with a place in front ("市大数据中心"); "数据中心" is a building.
PLACE_PREFIXES = ("市", "区", "县", "省", "州")
PLACED_BODY_ENDINGS = ("中心",)


def _is_full_name(phrase: str) -> bool:
    """A registry phrase that names a body by itself, not just its field of work."""
    return phrase.endswith(BODY_NAME_ENDINGS) or names_public_body(phrase)


def names_public_body(name: str) -> bool:
    return name.endswith(PUBLIC_BODY_ENDINGS) or (
        name.startswith(PLACE_PREFIXES) and name.endswith(PLACED_BODY_ENDINGS)
    )


@dataclass
class Resolution:
    codes: list[str] = field(default_factory=list)  # first appearance first; a group in registry order
    unresolved: list[str] = field(default_factory=list)  # fragments that look like a body but match nothing


@dataclass
class _Token:
    kind: str
    text: str
    codes: tuple[str, ...] = ()
    start: int = 0  # where the token starts in the text being read

    @property
    def is_head(self) -> bool:
        return (self.kind == _FILLER and self.text in HEAD_NOUNS) or (self.kind == _BODY and _is_full_name(self.text))


def _head_after(tokens: list[_Token]) -> list[bool]:
    """head_after[i]: some token from i on is a head noun (one more entry, False, for the end)."""
    flags = [False] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        flags[i] = flags[i + 1] or tokens[i].is_head
    return flags


def _longest_word_at(text: str, index: int, words: tuple[str, ...]) -> str:
    return max((w for w in words if text.startswith(w, index)), key=len, default="")


class Registry:
    """Registry phrases -> body codes. A phrase may name several bodies ("市、区县人民政府")."""

    def __init__(self, phrases: Mapping[str, list[str]]):
        self._codes: dict[str, tuple[str, ...]] = {
            p.translate(_AND_FOR_YU): tuple(codes) for p, codes in phrases.items() if p and codes
        }
        # A phrase with a list of governments in it ("设区的市、县（市、区）人民政府信息化主管部门", a
        # name the admin mapped) is matched against the text as the text is read: list written out.
        for phrase, codes in list(self._codes.items()):
            self._codes.setdefault(self._canonical(phrase)[0], codes)
        self._by_first_char: dict[str, list[str]] = {}
        for phrase in sorted(self._codes, key=lambda p: (-len(p), p)):
            self._by_first_char.setdefault(phrase[0], []).append(phrase)

    @classmethod
    def from_bodies(cls, bodies: Iterable[Mapping]) -> Registry:
        """From registry entries ``{"code", "name", "phrases"}``; bodies without phrases never match."""
        phrases: dict[str, list[str]] = {}
        for body in bodies:
            code = body["code"]
            for phrase in body.get("phrases") or ():
                cleaned = clean_text(str(phrase))
                if cleaned and code not in phrases.setdefault(cleaned, []):
                    phrases[cleaned].append(code)
        return cls(phrases)

    @property
    def phrases(self) -> dict[str, tuple[str, ...]]:
        return dict(self._codes)

    def _phrase_at(self, text: str, index: int) -> str:
        return next((p for p in self._by_first_char.get(text[index], ()) if text.startswith(p, index)), "")

    def ends_with_phrase(self, text: str) -> bool:
        text = text.translate(_AND_FOR_YU)
        return any(text.endswith(p) for p in self._codes)

    def _tokens(self, text: str, demote: bool = True) -> list[_Token]:
        tokens: list[_Token] = []
        i = 0
        while i < len(text):
            phrase = self._phrase_at(text, i)
            if phrase:
                tokens.append(_Token(_BODY, phrase, self._codes[phrase], i))
                i += len(phrase)
                continue
            word = _longest_word_at(text, i, SEPARATORS)
            kind = _SEPARATOR
            if not word:
                word, kind = _longest_word_at(text, i, FILLERS), _FILLER
            if word:
                tokens.append(_Token(kind, word, (), i))
                i += len(word)
                continue
            if tokens and tokens[-1].kind == _OTHER:
                tokens[-1] = _Token(_OTHER, tokens[-1].text + text[i], (), tokens[-1].start)
            else:
                tokens.append(_Token(_OTHER, text[i], (), i))
            i += 1
        return self._demote_glued_bodies(tokens) if demote else tokens

    @staticmethod
    def _demote_glued_bodies(tokens: list[_Token]) -> list[_Token]:
        """Turn phrases that are part of a longer unknown word into unknown text (see above)."""
        result = list(tokens)
        head_after = _head_after(tokens)
        for i, token in enumerate(tokens):
            if token.kind != _BODY:
                continue
            before = tokens[i - 1].kind if i > 0 else None
            after = tokens[i + 1].kind if i + 1 < len(tokens) else None
            full_name = _is_full_name(token.text)
            if full_name and after == _BODY:
                result[i] = _Token(_FILLER, token.text, (), token.start)  # the owner of the next body
                continue
            if full_name:
                glued = after == _OTHER
            else:
                glued = _OTHER in (before, after) or not head_after[i + 1]
            if glued:
                result[i] = _Token(_OTHER, token.text, (), token.start)
        merged: list[_Token] = []
        for token in result:
            if merged and token.kind == _OTHER and merged[-1].kind == _OTHER:
                merged[-1] = _Token(_OTHER, merged[-1].text + token.text, (), merged[-1].start)
            else:
                merged.append(token)
        return merged

    def resolve(self, subject: str) -> Resolution:
        text = clean_text(subject or "")
        canonical, origin = self._canonical(text)
        tokens = self._tokens(canonical)
        codes: list[str] = []
        for token in tokens:
            codes += [c for c in token.codes if c not in codes]
        return Resolution(codes, self._unresolved(tokens, text, origin))

    def _canonical(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        """The text with government lists written out (see GOVERNMENT_LIST_RE) and 与 read as 和,
        and for each of its characters the span of the original text it stands for."""
        out: list[str] = []
        origin: list[tuple[int, int]] = []
        position = 0
        for m in GOVERNMENT_LIST_RE.finditer(text):
            replacement = self._governments(m.group(0))
            out.append(text[position : m.start()])
            origin += [(i, i + 1) for i in range(position, m.start())]
            out.append(replacement)
            if replacement == m.group(0):
                origin += [(i, i + 1) for i in range(m.start(), m.end())]
            else:
                origin += [(m.start(), m.end())] * len(replacement)
            position = m.end()
        out.append(text[position:])
        origin += [(i, i + 1) for i in range(position, len(text))]
        return "".join(out).translate(_AND_FOR_YU), origin

    def _governments(self, written: str) -> str:
        """ "市和区、县（市）人民政府" -> "市人民政府、区县人民政府"; "各级人民政府" -> every level the
        registry names. A list the registry knows as written stays as written."""
        if written.translate(_AND_FOR_YU) in self._codes:
            return written
        if written == EVERY_LEVEL_GOVERNMENT:
            known = [name for name in CANONICAL_GOVERNMENTS if name in self._codes]
            return "、".join(known) if known else written
        names: list[str] = []
        for m in GOVERNMENT_LEVEL_RE.finditer(written[: -len(GOVERNMENT)]):
            name = _LEVEL_OF.get(m.group(1), "区县") + GOVERNMENT
            if name not in names:
                names.append(name)
        return "、".join(names)

    @staticmethod
    def _unresolved(tokens: list[_Token], original: str, origin: list[tuple[int, int]]) -> list[str]:
        """Runs of unknown text (with the fillers around them) that look like a body name, as written."""
        fragments: list[str] = []
        run: list[_Token] = []
        head_after = _head_after(tokens)

        def close(next_index: int) -> None:
            rest = tokens[next_index:]
            owner = bool(rest) and rest[0].kind == _BODY  # "县级以上人民政府" in "…人民政府大数据部门"
            if any(t.kind == _OTHER for t in run) and not owner:
                end = run[-1].start + len(run[-1].text) - 1
                fragment = original[origin[run[0].start][0] : origin[end][1]]
                in_list = bool(rest) and rest[0].kind == _SEPARATOR
                later_head = in_list and head_after[next_index]
                looks_like_body = (
                    any(n in fragment for n in GOVERNMENT_NOUNS)
                    or names_public_body(fragment)
                    or (later_head and not any(n in fragment for n in THIRD_PARTY_NOUNS))
                )
                if looks_like_body and fragment not in fragments:
                    fragments.append(fragment)
            run.clear()

        for i, token in enumerate(tokens):
            joins_words = (
                token.kind == _SEPARATOR
                and token.text == "和"
                and run
                and run[-1].kind == _OTHER
                and i + 1 < len(tokens)
                and tokens[i + 1].kind == _OTHER
            )
            if token.kind in (_BODY, _SEPARATOR) and not joins_words:
                close(i)
            else:
                run.append(token)
        close(len(tokens))
        return fragments

    def leading_bodies(self, text: str) -> str:
        """The body names at the start of ``text``: "人民法院建立…" -> "人民法院".

        A field of work glued to the verb text ("教育培训") is dropped when the result is resolved.
        """
        taken: list[_Token] = []
        for token in self._tokens(clean_text(text).translate(_AND_FOR_YU), demote=False):
            if token.kind == _OTHER:
                break
            taken.append(token)
        while taken and (taken[-1].kind == _SEPARATOR or (taken[-1].kind == _FILLER and not taken[-1].is_head)):
            taken.pop()
        return "".join(t.text for t in taken)
