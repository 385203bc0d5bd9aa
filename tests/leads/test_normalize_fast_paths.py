"""normalize.py's regex and `str.translate` paths give what its per-character definitions gave.

The per-character definitions (a `unicodedata` call or a `str` predicate per character) are
kept here, verbatim as they were, and compared with the functions over every code point and
over mixed strings: the faster code changes no result. The tables they read (unicode_ranges)
are derived again from `unicodedata`, so a committed table that went stale fails here.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberFormat

from leedz.leads import normalize, unicode_ranges
from leedz.leads.normalize import InvalidPhone, PhoneProblem, UnknownCountry

EVERY_CODE_POINT = "".join(map(chr, range(sys.maxunicode + 1)))  # surrogates included
ASCII = "".join(map(chr, range(128)))

# ---------------------------------------------------------------------------------------------
# The definitions before, one character at a time


def old_without_format_characters(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def old_trim_text(text: str) -> str:
    start, end = 0, len(text)
    while start < end and normalize._invisible(text[start]):
        start += 1
    while end > start and normalize._invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def old_ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


_ASCII_DIGIT = frozenset("0123456789")
_PHONE_PUNCTUATION = frozenset(".()[]/\u2212")


def old_phone_character(ch: str) -> bool:
    return (
        ch in _ASCII_DIGIT
        or ch == "+"
        or ch.isspace()
        or ch in _PHONE_PUNCTUATION
        or unicodedata.category(ch) == "Pd"
    )


def old_characters_problem(text: str) -> PhoneProblem | None:
    if any(ch.isalpha() for ch in text):
        return PhoneProblem.LETTERS
    if not all(old_phone_character(ch) for ch in text):
        return PhoneProblem.UNEXPECTED_CHARACTER
    return None


def old_significant(text: str) -> str:
    return "".join(ch for ch in text if ch in _ASCII_DIGIT or ch == "+")


def old_without_marks(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))


def old_alphanumeric_or_space(text: str) -> str:
    return "".join(ch if ch.isalnum() else " " for ch in text)


def old_normalize_text(text: str) -> str:
    text = old_without_format_characters(text).translate(normalize._ARABIC_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = old_without_marks(text)
    text = normalize._QURANIC_MARKS.sub("", text).translate(normalize._ARABIC_LETTERS)
    text = old_ascii_digits(text).casefold().translate(normalize._LATIN_LETTERS)
    text = normalize._APOSTROPHES.sub("", text)
    text = normalize._INITIALS.sub(lambda m: m.group(0).replace(".", ""), text)
    text = old_alphanumeric_or_space(text)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def old_name_key_of_text(text: str) -> str:
    after_forms, before_forms = normalize._LEGAL_FORM_AFTER, normalize._LEGAL_FORM_BEFORE
    words = text.split()
    while True:
        after = next(
            (f for f in after_forms if len(words) > len(f) and tuple(words[-len(f) :]) == f),
            None,
        )
        if after is not None:
            words = words[: -len(after)]
            continue
        before = next(
            (f for f in before_forms if len(words) > len(f) and tuple(words[: len(f)]) == f),
            None,
        )
        if before is None:
            return " ".join(words)
        words = words[len(before) :]


def old_normalize_phone(raw: str, *, country: str | None, default_country: str) -> str:
    """normalize_phone as it was, its unchanged helpers (regions, parsing) shared."""
    default_region = normalize._region(default_country)
    region = (
        normalize._region(country) if country is not None and country.strip() else (default_region)
    )
    text = unicodedata.normalize("NFKC", old_without_format_characters(raw))
    text = normalize._TEL_URI.sub("", old_ascii_digits(text).strip())
    if len(text) > normalize._PHONE_MAX_CHARS:
        raise InvalidPhone(PhoneProblem.TOO_LONG)
    text = normalize._EXTENSION.sub("", text)
    problem = old_characters_problem(text)
    if problem is not None:
        raise InvalidPhone(problem)
    significant = old_significant(text)
    digits = significant.lstrip("+")
    if not digits:
        raise InvalidPhone(PhoneProblem.EMPTY)
    if "+" in significant[1:]:
        raise InvalidPhone(PhoneProblem.UNEXPECTED_CHARACTER)
    if significant.startswith("+") or digits.startswith("00"):
        international = digits[2:] if not significant.startswith("+") else digits
        found = normalize._parse("+" + international, None)
    else:
        found = normalize._parse(digits, region)
        if isinstance(found, PhoneProblem) and not digits.startswith("0"):
            as_international = normalize._parse("+" + digits, None)
            if isinstance(as_international, PhoneNumber):
                found = as_international
    if isinstance(found, PhoneProblem):
        raise InvalidPhone(found)
    return phonenumbers.format_number(found, PhoneNumberFormat.E164)


# ---------------------------------------------------------------------------------------------
# Mixed strings: the characters the rules treat specially, among ordinary ones

_SPECIAL = (
    "\u200e\u200f\u061c\u202a\u202b\u202c\u2066\u2069\u200b\u200c\u200d\ufeff\u00ad"  # Cf
    "\u064b\u064e\u0650\u0651\u0652\u0670\u06d6\u06ed\u0301\u0308\u20dd"  # marks
    "\u0660\u0665\u0669\u06f0\u06f5\u06f9\uff10\uff15\u0966\U0001d7ce"  # digits
    "-\u2010\u2013\u2014\u2212\ufe63\uff0d\u058a"  # dashes, the minus sign
    " \t\n\u00a0\u2003\u3000\u2028"  # spaces
    ".()[]/+#;,:'\u2019\u060c\u061b\u066a\u00b4_*&@"  # punctuation, symbols
    "أإآٱؤئىةیکھـ"  # Arabic letters the name rules map
    "ÉéßøłæĳﻻﷲＡ"  # Latin letters, compatibility forms
)
_ORDINARY = "0123456789abcxyzABCXYZ مطعم الأمل شركة llc ltd co"


def mixed_strings(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = _SPECIAL + _ORDINARY
    return ["".join(rng.choices(pool, k=rng.randint(0, 24))) for _ in range(count)]


def phone_spellings(count: int, seed: int) -> list[str]:
    """Phone-like spellings: valid numbers (Saudi, Emirati, Egyptian) and random digits, in
    three scripts' digits, grouped, prefixed, with a few stray characters (letters, marks,
    symbols) to reach every refusal."""
    rng = random.Random(seed)
    digit_sets = ("0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹")
    valid = ("0501234567", "966551234567", "00971501234567", "0223456789", "01001234567")
    starts = ("", "", "", "+", "00", "0", "+966", "00971", "tel:", "\u200e+", "\u202a")
    groupings = " -.\u00a0\u2013\u2212"
    strays = "()/\u200f" + "x#a،@*٪ٔ" + "\u0301"
    out = []
    for _ in range(count):
        digits = rng.choice(digit_sets)
        if rng.random() < 0.5:
            ascii_body = rng.choice(valid)
            start = rng.choice(("", "+")) if ascii_body.startswith("9") else ""
        else:
            ascii_body = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 13)))
            start = rng.choice(starts)
        chars = [digits[int(d)] for d in ascii_body]
        for _ in range(rng.randint(0, 3)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(groupings))
        if rng.random() < 0.3:
            chars.insert(rng.randint(0, len(chars)), rng.choice(strays))
        chars = [start, *chars]
        tail = rng.choice(("", "", " ext. 12", " x7", " تحويلة 3"))
        out.append("".join(chars) + tail)
    return out


def outcome(function: object, raw: str, **kwargs: str | None) -> str:
    try:
        return str(function(raw, **kwargs))  # type: ignore[operator]
    except (InvalidPhone, UnknownCountry) as exc:
        return f"{type(exc).__name__}:{getattr(exc, 'reason', '')}"


# ---------------------------------------------------------------------------------------------
# The tables


@pytest.mark.parametrize("name", list(unicode_ranges.PREDICATES))
def test_each_table_is_what_unicodedata_gives_over_every_code_point(name: str) -> None:
    assert getattr(unicode_ranges, name) == unicode_ranges.derive(unicode_ranges.PREDICATES[name])


def test_a_character_class_matches_exactly_its_ranges() -> None:
    for name in unicode_ranges.PREDICATES:
        ranges = getattr(unicode_ranges, name)
        pattern = re.compile(f"[{unicode_ranges.character_class(ranges)}]")
        assert "".join(pattern.findall(EVERY_CODE_POINT)) == "".join(
            map(chr, unicode_ranges.code_points(ranges))
        )


# ---------------------------------------------------------------------------------------------
# Shared rules


def test_format_characters_are_removed_as_before() -> None:
    for text in [EVERY_CODE_POINT, ASCII, *mixed_strings(2000, seed=1)]:
        assert normalize._without_format_characters(text) == old_without_format_characters(text)


def test_text_is_trimmed_as_before() -> None:
    pairs = [a + b for a in ASCII for b in ASCII]
    spaced = [f"{a}{b} x {b}{a}" for a in ASCII for b in " \t\n\x1c\u00a0\u200f"]
    for text in [EVERY_CODE_POINT, ASCII, *pairs, *spaced, *mixed_strings(2000, seed=3)]:
        assert normalize.trim_text(text) == old_trim_text(text), repr(text)


def test_digits_become_ascii_as_before() -> None:
    for text in [EVERY_CODE_POINT, ASCII, *mixed_strings(2000, seed=2)]:
        assert normalize._ascii_digits(text) == old_ascii_digits(text)


# ---------------------------------------------------------------------------------------------
# Phones


def test_the_phone_characters_are_those_of_before_over_every_code_point() -> None:
    found = "".join(normalize._PHONE_CHARACTER.findall(EVERY_CODE_POINT))
    assert found == "".join(ch for ch in EVERY_CODE_POINT if old_phone_character(ch))


def test_no_phone_character_can_be_part_of_an_extension() -> None:
    """Why normalize_phone looks for an extension only in a text with other characters: each
    of _EXTENSION's forms needs one of these characters, which no phone character matches,
    case-insensitively as _EXTENSION compares."""
    needed = "extnsio" + "تحويلةهداخليفرعي" + "#;="
    assert "ext|extn|extension|x|تحويلة|تحويله|داخلي|فرعي" in normalize._EXTENSION.pattern
    phone_characters = normalize._PHONE_CHARACTER.findall(EVERY_CODE_POINT)
    for literal in needed:
        pattern = re.compile(re.escape(literal), re.IGNORECASE)
        assert not any(pattern.fullmatch(ch) for ch in phone_characters), literal


def test_no_phone_character_is_a_letter() -> None:
    """Why a text of phone characters needs no letter check."""
    assert not any(ch.isalpha() for ch in normalize._PHONE_CHARACTER.findall(EVERY_CODE_POINT))


@pytest.mark.parametrize("seed", range(4))
def test_a_phones_characters_are_judged_as_before(seed: int) -> None:
    texts = [
        *mixed_strings(2000, seed=seed),
        *phone_spellings(2000, seed=seed),
        *EVERY_CODE_POINT[seed::4][:50_000],
    ]
    for text in texts:
        assert normalize._characters_problem(text) == old_characters_problem(text), repr(text)


def test_the_significant_characters_are_those_of_before() -> None:
    for text in [EVERY_CODE_POINT, ASCII, *mixed_strings(2000, seed=5)]:
        assert normalize._NOT_SIGNIFICANT.sub("", text) == old_significant(text)


@pytest.mark.parametrize(("country", "default"), [(None, "SA"), ("AE", "SA"), ("EG", "EG")])
def test_normalize_phone_answers_as_before(country: str | None, default: str) -> None:
    for raw in [*phone_spellings(3000, seed=6), *mixed_strings(500, seed=7)]:
        new = outcome(normalize.normalize_phone, raw, country=country, default_country=default)
        old = outcome(old_normalize_phone, raw, country=country, default_country=default)
        assert new == old, repr(raw)


# ---------------------------------------------------------------------------------------------
# Text and names


def test_marks_are_removed_as_before_over_every_code_point() -> None:
    assert normalize._MARK.sub("", EVERY_CODE_POINT) == old_without_marks(EVERY_CODE_POINT)


def test_what_is_not_alphanumeric_becomes_a_space_as_before_over_every_code_point() -> None:
    assert normalize._NOT_ALPHANUMERIC.sub(" ", EVERY_CODE_POINT) == old_alphanumeric_or_space(
        EVERY_CODE_POINT
    )


def test_normalize_text_answers_as_before() -> None:
    pieces = [EVERY_CODE_POINT[i : i + 40] for i in range(0, len(EVERY_CODE_POINT), 40)]
    for text in [*pieces, *mixed_strings(20_000, seed=8)]:
        assert normalize.normalize_text.__wrapped__(text) == old_normalize_text(text), repr(text)


def test_name_key_of_text_answers_as_before() -> None:
    rng = random.Random(9)
    words = [
        *{w for form in normalize._LEGAL_FORM_AFTER + normalize._LEGAL_FORM_BEFORE for w in form},
        "مطعم",
        "الامل",
        "alamal",
        "trading",
        "group",
        "و",
        "fz",
    ]
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 7))) for _ in range(20_000)]
    for text in [*texts, "", "llc", "شركة", "co co co", "شركة الامل ذ م م"]:
        assert normalize.name_key_of_text(text) == old_name_key_of_text(text), repr(text)
