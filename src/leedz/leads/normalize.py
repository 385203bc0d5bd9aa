"""Lead identity keys and searchable text, normalized: pure functions, no I/O.

Phones become E.164 (`phonenumbers`), e-mail addresses the accounts' compared form, websites
their registrable domain (the Public Suffix List bundled in `publicsuffixlist`: nothing is
fetched, ever), names and free text a form that compares Arabic and Latin spelling variants as
equal. Every rule is written down in docs/normalization.md, the contract that the leads and the
resolution issues build on. Refusals are `ValueError` subclasses carrying a machine-readable
reason, so a pydantic validator turns them into a 422 on the field. A refused phone or website
is never repeated in the message (personal data on its way into a log); a refused address
carries email-validator's reason, which may quote the offending characters.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from enum import StrEnum
from urllib.parse import unquote

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult
from publicsuffixlist import PublicSuffixList
from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from leedz.kit import schemas
from leedz.leads import unicode_ranges
from leedz.leads.shared_hosts import SHARED_HOSTS, SHARED_ON_EVERY_SUFFIX

# ---------------------------------------------------------------------------------------------
# Shared by every rule

# Character classes matched by one regex (C speed) instead of a unicodedata call per character:
# a row of an import passes through these a dozen times. unicode_ranges derives them from
# unicodedata; tests/leads/test_normalize_fast_paths.py checks each against its per-character
# definition over every code point.
_FORMAT_CHARACTER = re.compile(f"[{unicode_ranges.character_class(unicode_ranges.FORMAT)}]")
_MARK = re.compile(f"[{unicode_ranges.character_class(unicode_ranges.MARK)}]")
_ASCII_DIGIT_OF = {
    cp: str(unicodedata.decimal(chr(cp)))
    for cp in unicode_ranges.code_points(unicode_ranges.DECIMAL)
}
_NOT_ALPHANUMERIC = re.compile(r"[\W_]")  # re's \w is str.isalnum() or "_"


def _without_format_characters(text: str) -> str:
    """Unicode format characters (category Cf) removed: the direction marks U+200E/U+200F,
    U+061C, embeddings and isolates U+202A–202E/U+2066–2069, zero-width spaces and joiners,
    the BOM, soft hyphens. Copying from an Arabic page leaves them around numbers and names."""
    if text.isascii():  # no ASCII character is a format character
        return text
    return _FORMAT_CHARACTER.sub("", text)


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def trim_text(text: str) -> str:
    """`text` without the whitespace and format characters (direction marks, embeddings,
    zero-width spaces, the BOM) at its ends: what a person sees of it. Text copied from an
    Arabic page often comes wrapped in U+200F or U+202B…U+202C, and a city or a name compared
    with them would differ from the same text without. Inner ones (a ZWNJ inside a Persian
    word) stay; a text of nothing else becomes empty."""
    if text.isascii():  # no format character, and str.strip() strips what str.isspace() is
        return text.strip()
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def _ascii_digits(text: str) -> str:
    """Every decimal digit (Arabic-Indic U+0660–0669, Persian U+06F0–06F9, fullwidth, any
    other script's) as its ASCII digit."""
    if text.isascii():  # ASCII's only decimal digits are 0-9 themselves
        return text
    return text.translate(_ASCII_DIGIT_OF)


# ---------------------------------------------------------------------------------------------
# Phones


class PhoneProblem(StrEnum):
    """Why a spelling is not a phone number."""

    EMPTY = "empty"
    LETTERS = "letters"
    UNEXPECTED_CHARACTER = "unexpected_character"
    INVALID_COUNTRY_CODE = "invalid_country_code"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_LENGTH = "invalid_length"
    UNASSIGNED = "unassigned"
    SHORT_CODE = "short_code"


_PHONE_PROBLEM_TEXT = {
    PhoneProblem.EMPTY: "no digits",
    PhoneProblem.LETTERS: "letters are not part of a phone number",
    PhoneProblem.UNEXPECTED_CHARACTER: "a character that is not a digit, a space, a dash, a dot, "
    "a bracket, a slash or a leading +",
    PhoneProblem.INVALID_COUNTRY_CODE: "no country has this calling code",
    PhoneProblem.TOO_SHORT: "too short for a number of its country",
    PhoneProblem.TOO_LONG: "too long for a number of its country",
    PhoneProblem.INVALID_LENGTH: "no number of its country has this length",
    PhoneProblem.UNASSIGNED: "the length is possible but no number is assigned in this range",
    PhoneProblem.SHORT_CODE: "a short code (a hotline dialled only inside its country) has no "
    "E.164 form",
}


class InvalidPhone(ValueError):
    """A spelling that is not a phone number of any country; `reason` says why."""

    def __init__(self, reason: PhoneProblem) -> None:
        super().__init__(f"not a phone number: {_PHONE_PROBLEM_TEXT[reason]}")
        self.reason = reason


class UnknownCountry(ValueError):
    """A `country` or `default_country` that is not an ISO 3166-1 alpha-2 code with a telephone
    numbering plan: the caller's field is wrong, not the phone."""

    def __init__(self, code: str) -> None:
        super().__init__(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        self.code = code


# Longest text worth reading as one phone: E.164 has 15 digits; room for spacing, "00", an
# extension. A longer text is several numbers (split_phones) or not a phone.
_PHONE_MAX_CHARS = 64
_EXTENSION = re.compile(
    r"(?:\s*[;,]?\s*(?:ext|extn|extension|x|تحويلة|تحويله|داخلي|فرعي)\.?|\s*#|;ext=)"
    r"\s*:?\s*\d{1,6}\s*$",
    re.IGNORECASE,
)
_TEL_URI = re.compile(r"^tel:(?=[+0-9])", re.IGNORECASE)  # RFC 3966, as in an href
# The characters a phone may hold: ASCII digits, "+", whitespace (re's \s is str.isspace()),
# dashes of any kind (category Pd) and . ( ) [ ] / U+2212 MINUS SIGN (a math symbol, not Pd).
_PHONE_CHARACTER = re.compile(
    f"[0-9+\\s.()\\[\\]/\u2212{unicode_ranges.character_class(unicode_ranges.DASH)}]"
)
# A text of them holds no extension: every _EXTENSION needs a letter, a "#" or a ";".
_PHONE_CHARACTERS = re.compile(f"{_PHONE_CHARACTER.pattern}*")
_NOT_SIGNIFICANT = re.compile(r"[^0-9+]")  # what a phone's digits and "+" are read without


def _region(code: str) -> str:
    region = code.strip().upper()
    if len(region) != 2 or region not in phonenumbers.SUPPORTED_REGIONS:
        raise UnknownCountry(code)
    return region


def _phone_text(raw: str) -> str:
    text = unicodedata.normalize("NFKC", _without_format_characters(raw))  # NBSP is a space
    text = _ascii_digits(text).strip()
    return _TEL_URI.sub("", text)


def _characters_problem(text: str) -> PhoneProblem | None:
    """Why `text` holds a character no phone has: a letter, else any other; None if it holds
    none. No phone character is a letter, so a text of phone characters has no letter."""
    if _PHONE_CHARACTERS.fullmatch(text):
        return None
    if any(ch.isalpha() for ch in text):
        return PhoneProblem.LETTERS
    return PhoneProblem.UNEXPECTED_CHARACTER


def _possibility(number: PhoneNumber) -> PhoneProblem:
    reason = phonenumbers.is_possible_number_with_reason(number)
    return {
        ValidationResult.INVALID_COUNTRY_CODE: PhoneProblem.INVALID_COUNTRY_CODE,
        ValidationResult.TOO_SHORT: PhoneProblem.TOO_SHORT,
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: PhoneProblem.TOO_SHORT,
        ValidationResult.TOO_LONG: PhoneProblem.TOO_LONG,
        ValidationResult.INVALID_LENGTH: PhoneProblem.INVALID_LENGTH,
    }.get(reason, PhoneProblem.UNASSIGNED)


def _parse(text: str, region: str | None) -> PhoneNumber | PhoneProblem:
    """The valid number `text` spells, or why it is not one."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return {
            NumberParseException.INVALID_COUNTRY_CODE: PhoneProblem.INVALID_COUNTRY_CODE,
            NumberParseException.TOO_LONG: PhoneProblem.TOO_LONG,
        }.get(exc.error_type, PhoneProblem.TOO_SHORT)
    if phonenumbers.is_valid_number(number):
        return number
    if region is not None and phonenumbers.is_valid_short_number_for_region(number, region):
        return PhoneProblem.SHORT_CODE
    return _possibility(number)


def normalize_phone(raw: str, *, country: str | None, default_country: str) -> str:
    """The E.164 form (`+966501234567`) of one phone number, however it is spelled.

    The country comes from the number (a leading `+`, or `00`, the international prefix),
    else `country` (the record's ISO 3166-1 alpha-2 code), else `default_country` (the
    tenant's). A national number that is not valid there but reads as a valid international
    number without its `+` (`966501234567` on a record from AE) is taken as that. A trunk `0`
    (`0501234567`, also `+966 (0)50…`) is dropped. Any script's digits count; spaces, NBSP,
    dashes, dots, brackets, slashes and format characters (direction marks) are ignored; a
    `tel:` prefix is dropped; a trailing extension (`ext. 12`, `x12`, `#12`, `تحويلة 12`) is
    dropped, since E.164 has none and the line identifies the business. Any other letter, and
    any number that `phonenumbers` does not call valid (its country's assigned ranges), raise
    `InvalidPhone`; so does a short code (Egypt's `19xxx` hotlines), which has no E.164 form.
    A `country` or `default_country` that is no country raises `UnknownCountry`.
    """
    default_region = _region(default_country)
    region = _region(country) if country is not None and country.strip() else default_region
    text = _phone_text(raw)
    if len(text) > _PHONE_MAX_CHARS:
        raise InvalidPhone(PhoneProblem.TOO_LONG)
    if not _PHONE_CHARACTERS.fullmatch(text):  # else it has no extension, nor a stray character
        text = _EXTENSION.sub("", text)
        problem = _characters_problem(text)
        if problem is not None:
            raise InvalidPhone(problem)
    significant = _NOT_SIGNIFICANT.sub("", text)
    digits = significant.lstrip("+")
    if not digits:
        raise InvalidPhone(PhoneProblem.EMPTY)
    if "+" in significant[1:]:
        raise InvalidPhone(PhoneProblem.UNEXPECTED_CHARACTER)
    if significant.startswith("+") or digits.startswith("00"):
        international = digits[2:] if not significant.startswith("+") else digits
        found = _parse("+" + international, None)
    else:
        found = _parse(digits, region)
        if isinstance(found, PhoneProblem) and not digits.startswith("0"):
            as_international = _parse("+" + digits, None)
            if isinstance(as_international, PhoneNumber):
                found = as_international
    if isinstance(found, PhoneProblem):
        raise InvalidPhone(found)
    return phonenumbers.format_number(found, PhoneNumberFormat.E164)


_CELL_SEPARATORS = re.compile(r"[;,|\n\r\u2028\u2029\u060c\u061b]")  # ، Arabic comma, ؛ semicolon
# A piece of a "/"-split with at least this many digits is a number of its own; shorter ones
# are an area code before a number (`02/2345 6789`) or the changed last digits of the number
# before (`0501234567/8`: 0501234567 and 0501234568).
_FULL_NUMBER_DIGITS = 7
_ABBREVIATED_DIGITS = 4


def _digit_count(text: str) -> int:
    return sum(1 for ch in text if ch.isdecimal())


def _with_last_digits(number: str, tail: str) -> str:
    """`number` with its last len(tail) digits replaced by tail's, formatting kept."""
    new = [ch for ch in tail if ch.isdecimal()]
    out = list(number)
    for i in range(len(out) - 1, -1, -1):
        if not new:
            break
        if out[i].isdecimal():
            out[i] = new.pop()
    return "".join(out)


def _split_slashes(part: str) -> list[str]:
    pieces = [p.strip() for p in re.split(r"[/\uff0f]", part) if p.strip()]
    numbers: list[str] = []
    prefix = ""
    for piece in pieces:
        count = _digit_count(piece)
        if count >= _FULL_NUMBER_DIGITS:
            numbers.append(f"{prefix} {piece}".strip())
            prefix = ""
        elif not numbers and not prefix and 0 < count <= _ABBREVIATED_DIGITS:
            prefix = piece
        elif numbers and not prefix and 0 < count <= _ABBREVIATED_DIGITS:
            numbers.append(_with_last_digits(numbers[-1], piece))
        else:
            return [part]
    return numbers if numbers and not prefix else [part]


def split_phones(cell: str) -> list[str]:
    """The phone spellings in one cell, in order, not yet normalized (`normalize_phone` each).

    Numbers are separated by `;` `,` `|` a line break, the Arabic comma `،` or semicolon `؛`.
    A `/` separates two numbers when the pieces on both sides have 7 digits or more; a piece
    of 1–4 digits before a number is its area code (`02/2345 6789` is one number), and after a
    number it replaces that number's last digits (`0501234567/8` is 0501234567 and 0501234568);
    anything else with a `/` is left whole for `normalize_phone` to judge. Dashes, dots and
    spaces never separate: they are how one number is grouped. Empty pieces are dropped.
    """
    spellings: list[str] = []
    for part in _CELL_SEPARATORS.split(cell):
        stripped = part.strip()
        if not _without_format_characters(stripped).strip():
            continue
        has_slash = "/" in stripped or "\uff0f" in stripped  # and the fullwidth solidus
        spellings.extend(_split_slashes(stripped) if has_slash else [stripped])
    return spellings


# ---------------------------------------------------------------------------------------------
# E-mail


class InvalidEmail(ValueError):
    """Not an e-mail address (email-validator's syntax rules); the message says why."""


_EMAIL_MAX_CHARS = 320
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)


def normalize_email(raw: str) -> str:
    """The compared form of an address: format characters (direction marks) and a `mailto:`
    prefix with its `?query` dropped, then the accounts' form (`kit.schemas.normalize_email`:
    NFKC, trimmed, lower-cased), validated by email-validator (syntax only, no DNS). Invalid
    raises `InvalidEmail`. Lower-casing the local part is a product decision shared with
    sign-in: `Info@` and `info@` are one mailbox for every provider our customers meet. An
    internationalized domain is stored in Unicode, also when given in punycode."""
    text = _without_format_characters(raw).strip()
    if _MAILTO.match(text):
        text = unquote(_MAILTO.sub("", text).split("?", 1)[0])
    address = schemas.normalize_email(text)
    if not address:
        raise InvalidEmail("an e-mail address must not be empty")
    if len(address) > _EMAIL_MAX_CHARS:
        raise InvalidEmail(f"an e-mail address has at most {_EMAIL_MAX_CHARS} characters")
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    local, domain = address.rsplit("@", 1)
    if "xn--" in domain:
        # A domain in punycode (as a `mailto:` link may carry it) is the same mailbox as its
        # Unicode spelling, which is the stored form: one address, one key.
        return f"{local}@{valid.domain}"
    return address


# ---------------------------------------------------------------------------------------------
# Websites and domains


class WebsiteProblem(StrEnum):
    """Why a website cannot be read."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_HTTP = "not_http"
    USER_INFO = "user_info"
    MALFORMED = "malformed"


_WEBSITE_PROBLEM_TEXT = {
    WebsiteProblem.EMPTY: "no website given",
    WebsiteProblem.TOO_LONG: f"longer than {schemas.URL_MAX_LENGTH} characters",
    WebsiteProblem.NOT_HTTP: "only http and https websites have a domain",
    WebsiteProblem.USER_INFO: "must not carry a user name or password",
    WebsiteProblem.MALFORMED: "not a web address",
}


class InvalidWebsite(ValueError):
    """A website that cannot be read as an http(s) address; `reason` says why."""

    def __init__(self, reason: WebsiteProblem) -> None:
        super().__init__(f"not a website: {_WEBSITE_PROBLEM_TEXT[reason]}")
        self.reason = reason


_HTTP_URL = TypeAdapter(AnyHttpUrl)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_NON_WEB_SCHEMES = frozenset(
    {"mailto", "tel", "sms", "whatsapp", "javascript", "data", "file", "ftp", "ws", "wss"}
)
_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_DOMAIN_MAX_CHARS = 253


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    """The list shipped inside the package (its ICANN and private sections); an unknown
    top-level domain is nobody's registrable domain."""
    return PublicSuffixList(accept_unknown=False)


def _host(website_or_url: str) -> str | None:  # noqa: C901 - one early return per malformed-URL case, read top to bottom
    """The host of a website, ASCII (IDN as punycode), lower case, without port or final dot;
    None for an IP address."""
    text = _without_format_characters(website_or_url).strip()
    if not text:
        raise InvalidWebsite(WebsiteProblem.EMPTY)
    if len(text) > schemas.URL_MAX_LENGTH:
        raise InvalidWebsite(WebsiteProblem.TOO_LONG)
    scheme = _SCHEME.match(text)
    named = scheme.group(1).lower() if scheme else ""
    if named not in {"http", "https"}:
        if named in _NON_WEB_SCHEMES or (scheme and text.startswith("//", scheme.end())):
            raise InvalidWebsite(WebsiteProblem.NOT_HTTP)
        # No scheme, or a host and port (`alamal.com.sa:8080`) that looks like one.
        text = "http:" + text if text.startswith("//") else "http://" + text
    try:
        url = _HTTP_URL.validate_python(text)
    except ValidationError as exc:
        raise InvalidWebsite(WebsiteProblem.MALFORMED) from exc
    if url.username is not None or url.password is not None:
        raise InvalidWebsite(WebsiteProblem.USER_INFO)
    host = (url.host or "").removesuffix(".")
    if not host:
        raise InvalidWebsite(WebsiteProblem.MALFORMED)
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return None
    if len(host) > _DOMAIN_MAX_CHARS or "" in host.split("."):
        raise InvalidWebsite(WebsiteProblem.MALFORMED)
    return host


def registrable_domain(website_or_url: str) -> str | None:
    """The registrable domain of a website: `shop.alamal.com.sa` → `alamal.com.sa`,
    `https://www.Example.CO.UK:8080/path?q` → `example.co.uk`.

    Read with the Public Suffix List bundled in `publicsuffixlist`, both its ICANN and its
    private sections (so `alamal.myshopify.com` stays the shop's own, and `is_shared_host`
    decides whether it may be an identity). A scheme-less website (`alamal.com.sa/contact`) is
    read as http; IDN come out as punycode (`xn--mgbh0fb.xn--mgberp4a5d4ar`), the form
    `kit.schemas.HttpUrlText` stores, and `domain_unicode` gives the readable one. None for an
    IP address, `localhost`, an unknown top-level domain or a bare public suffix (`com.sa`,
    `github.io`). A website that is not http(s), carries a user name or password (as
    `HttpUrlText` refuses), or does not parse raises `InvalidWebsite`.
    """
    host = _host(website_or_url)
    if host is None:
        return None
    domain = _public_suffixes().privatesuffix(host)
    if domain is None:
        return None
    if not all(_LDH_LABEL.match(label) for label in domain.split(".")):
        raise InvalidWebsite(WebsiteProblem.MALFORMED)
    return domain


def domain_unicode(domain: str) -> str:
    """A punycode domain as people read it (`xn--mgbh0fb.xn--mgberp4a5d4ar` → `مثال.السعودية`),
    for display and the search text; ASCII domains come back unchanged."""
    if "xn--" not in domain.lower():  # no punycode label: nothing to decode
        return domain
    try:
        return _HTTP_URL.validate_python(f"http://{domain}").unicode_host() or domain
    except ValidationError:
        return domain


def is_shared_host(domain_or_url: str) -> bool:
    """True when the host is, or is under, one of `shared_hosts.SHARED_HOSTS` (social
    networks, link-in-bio and messaging links, site builders, maps, shorteners, listing apps),
    or is `google.<any public suffix>`. Such a website says nothing about whose it is: it must
    never serve as an identity. An IP address is not a shared host (nor an identity: it has no
    registrable domain). Malformed input raises `InvalidWebsite` like `registrable_domain`."""
    host = _host(domain_or_url)
    if host is None:
        return False
    labels = host.split(".")
    if any(".".join(labels[i:]) in SHARED_HOSTS for i in range(len(labels))):
        return True
    domain = _public_suffixes().privatesuffix(host)
    return domain is not None and domain.split(".", 1)[0] in SHARED_ON_EVERY_SUFFIX


def identity_domain(website_or_url: str) -> str | None:
    """The registrable domain when it may identify a business: None for a shared host and
    wherever `registrable_domain` is None."""
    domain = registrable_domain(website_or_url)
    return None if domain is None or is_shared_host(domain) else domain


# ---------------------------------------------------------------------------------------------
# Text and names

# Letters written in several ways for one sound, mapped to one. Hamza on alef (أ إ آ, also ٱ
# wasla, ٲ ٳ ٵ), on waw (ؤ) and on yeh (ئ) drop the hamza: people type the seat without it
# (شاطئ, شاطى, شاطي). ة → ه and ى → ي as spelled interchangeably at word ends. Persian and Urdu
# keyboard forms of yeh, kaf and heh are the Arabic letters. Tatweel is removed.
_ARABIC_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ٵ": "ا",
        "ؤ": "و",
        "ئ": "ي",
        "ى": "ي",
        "ی": "ي",
        "ة": "ه",
        "ۃ": "ه",
        "ۀ": "ه",
        "ە": "ه",
        "ھ": "ه",
        "ہ": "ه",
        "ک": "ك",
        "ڪ": "ك",
        "ـ": None,
    }
)
# Latin letters that NFKD does not decompose.
_LATIN_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae"})
_QURANIC_MARKS = re.compile("[\u06d6-\u06ed]")
_APOSTROPHES = re.compile("['\u2018\u2019\u02bc\u02bb\u0060\u00b4\u2032]")
# Initials written with dots: L.L.C., U.A.E, ذ.م.م — one word once the dots go.
_INITIALS = re.compile(r"(?<![^\W\d_])[^\W\d_](?:\.[^\W\d_])+(?![^\W\d_])\.?")
# normalize_text and name_key remember their latest answers: a lead's name is normalized for
# its name key, its search text, its sort name and the resolution rules, by callers that do not
# share their results (an import normalized each name four times). Pure functions of a string.
_TEXT_CACHE = 4096


@functools.lru_cache(maxsize=_TEXT_CACHE)
def normalize_text(text: str) -> str:
    """The form in which names and free text are searched and compared.

    Arabic: the hamza forms of alef (أ إ آ ٱ) → ا, ؤ → و, ئ → ي, ى → ي, ة → ه, Persian yeh,
    kaf and heh → Arabic; tatweel, harakat and every other combining mark (U+064B–065F,
    U+0670), Quranic annotation signs (U+06D6–06ED) and format characters (direction marks)
    removed; presentation forms and ligatures (ﻻ, ﷲ) as their letters. Latin: NFKD with the
    accents removed, case-folded (ß → ss). Every script's digits → ASCII. Apostrophes vanish
    (McDonald's = McDonalds), dotted initials join (L.L.C. = LLC), and every other punctuation
    mark or symbol, Arabic ones (، ؛ ؟ ٪) included, is a space; runs of spaces collapse to one.
    The result holds only letters, ASCII digits and single spaces. Transliterations stay
    different (Al Amal ≠ الأمل): those records meet through a phone, an e-mail or a domain.
    """
    text = _without_format_characters(text).translate(_ARABIC_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = _MARK.sub("", text)
    text = _QURANIC_MARKS.sub("", text).translate(_ARABIC_LETTERS)
    text = _ascii_digits(text).casefold().translate(_LATIN_LETTERS)
    text = _APOSTROPHES.sub("", text)
    text = _INITIALS.sub(lambda m: m.group(0).replace(".", ""), text)
    text = _NOT_ALPHANUMERIC.sub(" ", text)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _words(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Phrases as normalize_text's words, longest first (`fz llc` before `llc`)."""
    forms = {tuple(normalize_text(p).split()) for p in phrases}
    return tuple(sorted(forms, key=lambda form: (-len(form), form)))


# The legal form of a business, not its name; written in normalize_text's output, so a spelling
# variant of the designator is stripped as well.
_LEGAL_FORM_AFTER = _words(
    (
        "LLC",
        "L.L.C.",
        "Ltd",
        "Limited",
        "Inc",
        "Incorporated",
        "Co",
        "Company",
        "Corp",
        "Corporation",
        "PLC",
        "W.L.L.",
        "FZE",
        "FZCO",
        "FZC",
        "FZ LLC",
        "FZ-LLC",
        "PJSC",
        "PSC",
        "JSC",
        "S.A.E.",
        "Est.",
        "Establishment",
        "ذ.م.م",
        "ش.م.م",
        "ش.م.ع",
        "ش.م.ك",
        "ش.م.ك.ع",
        "ش.ذ.م.م",
        "ذات مسؤولية محدودة",
        "وشركاه",
        "و شركاه",
    )
)
_LEGAL_FORM_BEFORE = _words(("شركة", "مؤسسة"))


def _by_word(
    forms: tuple[tuple[str, ...], ...], position: int
) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The forms by their word at `position` (-1: last, 0: first), longest first as in
    `forms`: only those can match at that end of a name, so a name's last word picks the few
    legal forms worth comparing instead of all of them."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for form in forms:
        if form:  # an empty form matches no name (it leaves no word)
            index.setdefault(form[position], []).append(form)
    return {word: tuple(found) for word, found in index.items()}


_LEGAL_FORM_AFTER_BY_LAST = _by_word(_LEGAL_FORM_AFTER, -1)
_LEGAL_FORM_BEFORE_BY_FIRST = _by_word(_LEGAL_FORM_BEFORE, 0)


@functools.lru_cache(maxsize=_TEXT_CACHE)
def name_key(name: str) -> str:
    """The form in which two business names are the same name (resolution's name rule):
    `normalize_text`, then the legal form stripped from the ends — `LLC`, `Ltd`, `Co.`, `W.L.L.`,
    `FZE`, `Est.`, `ذ.م.م`, `ش.م.م`, `وشركاه`, … after the name, `شركة` and `مؤسسة` before it —
    as often as they repeat, never down to nothing. Words that describe the business
    (`trading`, `group`, `مطعم`) stay: they tell two businesses apart. For equality only; search
    uses `normalize_text`, which keeps every word."""
    return name_key_of_text(normalize_text(name))


def name_key_of_text(text: str) -> str:
    """`name_key` of a name already in `normalize_text`'s form (a caller that has it spares
    the second pass)."""
    words = text.split()
    while True:
        after = next(
            (
                f
                for f in _LEGAL_FORM_AFTER_BY_LAST.get(words[-1] if words else "", ())
                if len(words) > len(f) and tuple(words[-len(f) :]) == f
            ),
            None,
        )
        if after is not None:
            words = words[: -len(after)]
            continue
        before = next(
            (
                f
                for f in _LEGAL_FORM_BEFORE_BY_FIRST.get(words[0] if words else "", ())
                if len(words) > len(f) and tuple(words[: len(f)]) == f
            ),
            None,
        )
        if before is None:
            return " ".join(words)
        words = words[len(before) :]
