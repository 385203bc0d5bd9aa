"""The Unicode character classes normalize.py matches with one regex or `str.translate` call
instead of a `unicodedata` call per character, as code point ranges.

Derived from `unicodedata` over every code point, once, and written here (`python -m
leedz.leads.unicode_ranges` prints this module's tables): deriving them at import time walks
1,114,112 code points, a quarter to half a second of every process's start. On a Python whose
`unicodedata` is another Unicode version they are derived at import time all the same, so the
answer is always the running Python's. tests/leads/test_normalize_fast_paths.py derives them
again and compares, and compares every function that uses them with its per-character
definition over every code point.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable, Iterator

UNICODE_VERSION = "14.0.0"

# Ranges as "FIRST-LAST" (hex, both included) or "ONE", separated by spaces.
FORMAT = (  # category Cf: direction marks, embeddings, isolates, zero-width spaces, the BOM
    "AD 600-605 61C 6DD 70F 890-891 8E2 180E 200B-200F 202A-202E 2060-2064 2066-206F FEFF "
    "FFF9-FFFB 110BD 110CD 13430-13438 1BCA0-1BCA3 1D173-1D17A E0001 E0020-E007F"
)
MARK = (  # categories Mn, Mc, Me: combining marks (harakat, accents once decomposed)
    "300-36F 483-489 591-5BD 5BF 5C1-5C2 5C4-5C5 5C7 610-61A 64B-65F 670 6D6-6DC 6DF-6E4 "
    "6E7-6E8 6EA-6ED 711 730-74A 7A6-7B0 7EB-7F3 7FD 816-819 81B-823 825-827 829-82D "
    "859-85B 898-89F 8CA-8E1 8E3-903 93A-93C 93E-94F 951-957 962-963 981-983 9BC 9BE-9C4 "
    "9C7-9C8 9CB-9CD 9D7 9E2-9E3 9FE A01-A03 A3C A3E-A42 A47-A48 A4B-A4D A51 A70-A71 A75 "
    "A81-A83 ABC ABE-AC5 AC7-AC9 ACB-ACD AE2-AE3 AFA-AFF B01-B03 B3C B3E-B44 B47-B48 "
    "B4B-B4D B55-B57 B62-B63 B82 BBE-BC2 BC6-BC8 BCA-BCD BD7 C00-C04 C3C C3E-C44 C46-C48 "
    "C4A-C4D C55-C56 C62-C63 C81-C83 CBC CBE-CC4 CC6-CC8 CCA-CCD CD5-CD6 CE2-CE3 D00-D03 "
    "D3B-D3C D3E-D44 D46-D48 D4A-D4D D57 D62-D63 D81-D83 DCA DCF-DD4 DD6 DD8-DDF DF2-DF3 "
    "E31 E34-E3A E47-E4E EB1 EB4-EBC EC8-ECD F18-F19 F35 F37 F39 F3E-F3F F71-F84 F86-F87 "
    "F8D-F97 F99-FBC FC6 102B-103E 1056-1059 105E-1060 1062-1064 1067-106D 1071-1074 "
    "1082-108D 108F 109A-109D 135D-135F 1712-1715 1732-1734 1752-1753 1772-1773 17B4-17D3 "
    "17DD 180B-180D 180F 1885-1886 18A9 1920-192B 1930-193B 1A17-1A1B 1A55-1A5E 1A60-1A7C "
    "1A7F 1AB0-1ACE 1B00-1B04 1B34-1B44 1B6B-1B73 1B80-1B82 1BA1-1BAD 1BE6-1BF3 1C24-1C37 "
    "1CD0-1CD2 1CD4-1CE8 1CED 1CF4 1CF7-1CF9 1DC0-1DFF 20D0-20F0 2CEF-2CF1 2D7F 2DE0-2DFF "
    "302A-302F 3099-309A A66F-A672 A674-A67D A69E-A69F A6F0-A6F1 A802 A806 A80B A823-A827 "
    "A82C A880-A881 A8B4-A8C5 A8E0-A8F1 A8FF A926-A92D A947-A953 A980-A983 A9B3-A9C0 A9E5 "
    "AA29-AA36 AA43 AA4C-AA4D AA7B-AA7D AAB0 AAB2-AAB4 AAB7-AAB8 AABE-AABF AAC1 AAEB-AAEF "
    "AAF5-AAF6 ABE3-ABEA ABEC-ABED FB1E FE00-FE0F FE20-FE2F 101FD 102E0 10376-1037A "
    "10A01-10A03 10A05-10A06 10A0C-10A0F 10A38-10A3A 10A3F 10AE5-10AE6 10D24-10D27 "
    "10EAB-10EAC 10F46-10F50 10F82-10F85 11000-11002 11038-11046 11070 11073-11074 "
    "1107F-11082 110B0-110BA 110C2 11100-11102 11127-11134 11145-11146 11173 11180-11182 "
    "111B3-111C0 111C9-111CC 111CE-111CF 1122C-11237 1123E 112DF-112EA 11300-11303 "
    "1133B-1133C 1133E-11344 11347-11348 1134B-1134D 11357 11362-11363 11366-1136C "
    "11370-11374 11435-11446 1145E 114B0-114C3 115AF-115B5 115B8-115C0 115DC-115DD "
    "11630-11640 116AB-116B7 1171D-1172B 1182C-1183A 11930-11935 11937-11938 1193B-1193E "
    "11940 11942-11943 119D1-119D7 119DA-119E0 119E4 11A01-11A0A 11A33-11A39 11A3B-11A3E "
    "11A47 11A51-11A5B 11A8A-11A99 11C2F-11C36 11C38-11C3F 11C92-11CA7 11CA9-11CB6 "
    "11D31-11D36 11D3A 11D3C-11D3D 11D3F-11D45 11D47 11D8A-11D8E 11D90-11D91 11D93-11D97 "
    "11EF3-11EF6 16AF0-16AF4 16B30-16B36 16F4F 16F51-16F87 16F8F-16F92 16FE4 16FF0-16FF1 "
    "1BC9D-1BC9E 1CF00-1CF2D 1CF30-1CF46 1D165-1D169 1D16D-1D172 1D17B-1D182 1D185-1D18B "
    "1D1AA-1D1AD 1D242-1D244 1DA00-1DA36 1DA3B-1DA6C 1DA75 1DA84 1DA9B-1DA9F 1DAA1-1DAAF "
    "1E000-1E006 1E008-1E018 1E01B-1E021 1E023-1E024 1E026-1E02A 1E130-1E136 1E2AE "
    "1E2EC-1E2EF 1E8D0-1E8D6 1E944-1E94A E0100-E01EF"
)
DASH = (  # category Pd: hyphens and dashes of every script
    "2D 58A 5BE 1400 1806 2010-2015 2E17 2E1A 2E3A-2E3B 2E40 2E5D 301C 3030 30A0 FE31-FE32 "
    "FE58 FE63 FF0D 10EAD"
)
DECIMAL = (  # str.isdecimal (category Nd): the decimal digits of every script, in runs of ten
    "30-39 660-669 6F0-6F9 7C0-7C9 966-96F 9E6-9EF A66-A6F AE6-AEF B66-B6F BE6-BEF C66-C6F "
    "CE6-CEF D66-D6F DE6-DEF E50-E59 ED0-ED9 F20-F29 1040-1049 1090-1099 17E0-17E9 "
    "1810-1819 1946-194F 19D0-19D9 1A80-1A89 1A90-1A99 1B50-1B59 1BB0-1BB9 1C40-1C49 "
    "1C50-1C59 A620-A629 A8D0-A8D9 A900-A909 A9D0-A9D9 A9F0-A9F9 AA50-AA59 ABF0-ABF9 "
    "FF10-FF19 104A0-104A9 10D30-10D39 11066-1106F 110F0-110F9 11136-1113F 111D0-111D9 "
    "112F0-112F9 11450-11459 114D0-114D9 11650-11659 116C0-116C9 11730-11739 118E0-118E9 "
    "11950-11959 11C50-11C59 11D50-11D59 11DA0-11DA9 16A60-16A69 16AC0-16AC9 16B50-16B59 "
    "1D7CE-1D7FF 1E140-1E149 1E2F0-1E2F9 1E950-1E959 1FBF0-1FBF9"
)

PREDICATES: dict[str, Callable[[str], bool]] = {
    "FORMAT": lambda ch: unicodedata.category(ch) == "Cf",
    "MARK": lambda ch: unicodedata.category(ch).startswith("M"),
    "DASH": lambda ch: unicodedata.category(ch) == "Pd",
    "DECIMAL": str.isdecimal,
}


def derive(predicate: Callable[[str], bool]) -> str:
    """The ranges of the code points for which `predicate` holds, in this module's notation;
    walks every code point (slow: for the tests, the generator and another Unicode version)."""
    ranges: list[str] = []
    start: int | None = None
    for cp in range(sys.maxunicode + 2):
        inside = cp <= sys.maxunicode and predicate(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            last = cp - 1
            ranges.append(f"{start:X}" if start == last else f"{start:X}-{last:X}")
            start = None
    return " ".join(ranges)


def spans(ranges: str) -> Iterator[tuple[int, int]]:
    """(first, last) code point of each range."""
    for piece in ranges.split():
        first, _, last = piece.partition("-")
        yield int(first, 16), int(last or first, 16)


def code_points(ranges: str) -> Iterator[int]:
    for first, last in spans(ranges):
        yield from range(first, last + 1)


def character_class(ranges: str) -> str:
    """The ranges as the inside of a regex character class (`[...]`), every code point
    escaped as `\\UXXXXXXXX`, which `re` reads in a str pattern."""
    return "".join(
        f"\\U{first:08x}" if first == last else f"\\U{first:08x}-\\U{last:08x}"
        for first, last in spans(ranges)
    )


if unicodedata.unidata_version != UNICODE_VERSION:  # another Python's Unicode: its own tables
    FORMAT, MARK, DASH, DECIMAL = (derive(p) for p in PREDICATES.values())


def _source_of_tables() -> str:  # pragma: no cover - run by hand when Python's Unicode changes
    lines = [f'UNICODE_VERSION = "{unicodedata.unidata_version}"']
    for name, predicate in PREDICATES.items():
        words, line, out = derive(predicate).split(), "", []
        for word in words:
            if len(line) + len(word) + 1 > 86:
                out.append(f'    "{line}"')
                line = ""
            line += word + " "
        out.append(f'    "{line.rstrip()}"')
        lines.append(f"{name} = (\n" + "\n".join(out) + "\n)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(_source_of_tables() + "\n")
