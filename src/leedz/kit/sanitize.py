"""HTML from the outside world (what agents scrape) reduced to a small, inert subset.

Snippets are shown in the web app as markup, so they are cleaned once, on the way in, with an
allow-list: a few text-level tags and links to http(s)/mailto. Everything else — scripts, event
handlers, styles, frames, SVG/MathML, forms — is removed; the content of the elements that are
code or hidden text (script, style, template, …) goes with them.
"""

from __future__ import annotations

import html

import nh3

_TAGS = frozenset({"b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "a"})
# "*" empty: nh3 otherwise keeps `title` and `lang` on every tag.
_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}, "*": set()}
_NO_ATTRIBUTES: dict[str, set[str]] = {"*": set()}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "noopener noreferrer nofollow"
# Dropped with their content: their text is code, or never visible, or a parser trap (the
# content of noscript/xmp/noembed is raw text that other parsers read as markup).
_DROPPED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "template",
        "iframe",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "noscript",
        "noembed",
        "noframes",
        "xmp",
        "textarea",
        "title",
        "select",
    }
)
# One pass always yields safe markup; a further pass is there only for idempotency (below).
_MAX_PASSES = 4


def _clean(html: str, tags: frozenset[str] = _TAGS) -> str:
    return nh3.clean(
        html,
        tags=set(tags),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes=_ATTRIBUTES if tags else _NO_ATTRIBUTES,
        url_schemes=set(_URL_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
        # A relative link in a scraped snippet has no base to resolve against here.
        url_relative="deny",
    )


def sanitize_snippet(text: str) -> str:
    """`text` as inert HTML: allowed tags only, links to http(s)/mailto only. Idempotent.

    Why more than one pass: nh3 (ammonia on html5ever) cleans the *tree* the HTML5 parser
    built, and that tree can hold nestings the serialized markup does not parse back to — a
    `<li>` or `<a>` left inside another once a `<table>` or `<listing>` between them was
    dropped, a `<ul>` inside a `<p>`. Parsing the output again reshapes it, so a second clean
    differs from the first (rare, but seen in random tag soups; every output is still safe).
    Cleaning until the output no longer changes makes the stored snippet — and the evidence hash
    computed over it — the same whether an agent sends raw or already-cleaned markup. Observed
    inputs settle by the second pass; should one still change after `_MAX_PASSES`, its text is
    kept without any markup, which re-parses to itself.
    """
    current = _clean(text)
    for _ in range(_MAX_PASSES):
        again = _clean(current)
        if again == current:
            return current
        current = again
    return _clean(current, tags=frozenset())


def plain_text(text: str) -> str:
    """`text` with every tag removed (script and style with their content), entities decoded:
    plain text, shown by clients as text, never as markup. A note that says `a < b` stays so."""
    return html.unescape(_clean(text, tags=frozenset())).strip()
