"""Snippets are inert HTML: hostile markup loses everything active, and cleaning is idempotent."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import pytest

from leedz.kit import sanitize
from leedz.kit.sanitize import sanitize_snippet

XSS_PAYLOADS = [
    "<script>alert(1)</script>hi",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x OnErRoR=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x73;cript:alert(1)">x</a>',
    '<a href="java&#115;cript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="javascript&#58;alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav\nascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="DATA:text/html,<script>alert(1)</script>">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="VbScRiPt:msgbox(1)">x</a>',
    '<a href="https://ok.example/" onclick="alert(1)">ok</a>',
    '<a href="https://ok.example/" ONCLICK="alert(1)">ok</a>',
    '<p onmouseover="alert(1)">p</p>',
    "<b onfocus=alert(1) tabindex=1 autofocus>b</b>",
    "<svg onload=alert(1)><circle/></svg>after",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math href=javascript:alert(1)>x</math>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<div style="background:url(javascript:alert(1))">d</div>',
    '<b style="x:expression(alert(1))">b</b>',
    '<style>@import "javascript:alert(1)";</style>',
    "<!--<script>alert(1)</script>-->c",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '"><script>alert(1)</script>',
    "'\"><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<xmp><script>alert(1)</script></xmp>",
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<template><script>alert(1)</script></template>",
    "<plaintext><script>alert(1)</script>",
    "<body onload=alert(1)>",
    "<frameset onload=alert(1)>",
    "<form><button formaction=javascript:alert(1)>x",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<video><source onerror="alert(1)">',
    "<select><option><script>alert(1)</script>",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<link rel=stylesheet href=javascript:alert(1)>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "<<script>alert(1)//<</script>",
    '<a href="https://x.example" rel="opener" target="_blank">x</a>',
    '<a href="/relative" onmouseover=alert(1)>r</a>',
    '<a href="//evil.example/">protocol-relative</a>',
    "<isindex type=image src=1 onerror=alert(1)>",
    "<marquee onstart=alert(1)>m</marquee>",
    '<p id="x" class="y" title="z" data-a="b">attrs</p>',
]

ALLOWED_TAGS = {"b", "strong", "i", "em", "p", "br", "ul", "ol", "li", "a"}
ALLOWED_SCHEMES = ("http:", "https:", "mailto:")


class _Markup(HTMLParser):
    """Every start tag and attribute, as a browser-grade parser reads the output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def markup_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.tags


class TestHostileMarkup:
    @pytest.mark.parametrize("payload", XSS_PAYLOADS)
    def test_nothing_active_survives(self, payload: str) -> None:
        clean = sanitize_snippet(payload)
        assert "<script" not in clean.lower()
        assert not re.search(r"\son\w+\s*=", clean, re.IGNORECASE)
        assert "javascript:" not in clean.lower()
        assert "vbscript:" not in clean.lower()
        assert "data:" not in clean.lower()
        for tag, attrs in markup_of(clean):
            assert tag in ALLOWED_TAGS, clean
            for name, value in attrs:
                if tag == "a" and name == "href":
                    assert value is not None
                    assert value.lower().startswith(ALLOWED_SCHEMES), clean
                elif tag == "a" and name == "rel":
                    assert value == "noopener noreferrer nofollow"
                else:
                    pytest.fail(f"attribute {name!r} on <{tag}> survived: {clean!r}")

    @pytest.mark.parametrize("payload", XSS_PAYLOADS)
    def test_is_idempotent(self, payload: str) -> None:
        once = sanitize_snippet(payload)
        assert sanitize_snippet(once) == once

    def test_is_idempotent_on_tag_soup(self) -> None:
        """Random soups include nestings one nh3 pass does not settle (see sanitize_snippet)."""
        pieces = [
            "<a>", '<a href="https://x.example/">', "</a>", "<li>", "</li>", "<ul>", "</ul>",
            "<ol>", "<p>", "</p>", "<b>", "</b>", "<i>", "<table>", "</table>", "<td>", "<tr>",
            "<caption>", "<dd>", "<listing>", "<button>", "<h1>", "<nobr>", "<plaintext>",
            "<math>", "<svg>", "<select>", "<textarea>", "<template>", "<form>", "<br>", "x",
            "&amp;", "&lt;", "<", ">", '"', "مرحبا", "<script>", "<img src=x onerror=alert(1)>",
        ]  # fmt: skip
        rng = random.Random(20261124)
        for _ in range(3000):
            soup = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
            once = sanitize_snippet(soup)
            assert sanitize_snippet(once) == once, soup

    def test_markup_that_never_settles_keeps_only_its_text(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # One pass leaves an <li> inside an <li>, which the next parse splits apart.
        soup = "</template><li>&amp;<listing><li><li><i></td>"
        monkeypatch.setattr(sanitize, "_MAX_PASSES", 0)
        once = sanitize_snippet(soup)
        assert once == "&amp;"
        assert sanitize_snippet(once) == once


class TestBenignMarkup:
    @pytest.mark.parametrize(
        ("snippet", "expected"),
        [
            ("<p>Open <b>daily</b>, <i>9-5</i></p>", "<p>Open <b>daily</b>, <i>9-5</i></p>"),
            ("<strong>s</strong><em>e</em><br>", "<strong>s</strong><em>e</em><br>"),
            (
                "<ul><li>a<li>b</ul><ol><li>c</ol>",
                "<ul><li>a</li><li>b</li></ul><ol><li>c</li></ol>",
            ),
            (
                '<a href="https://example.com/menu?a=1&b=2">menu</a>',
                '<a href="https://example.com/menu?a=1&amp;b=2"'
                ' rel="noopener noreferrer nofollow">menu</a>',
            ),
            (
                '<a href="mailto:info@example.com">mail</a>',
                '<a href="mailto:info@example.com" rel="noopener noreferrer nofollow">mail</a>',
            ),
            ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
            ("plain text, no markup", "plain text, no markup"),
        ],
    )
    def test_is_kept(self, snippet: str, expected: str) -> None:
        assert sanitize_snippet(snippet) == expected
        assert sanitize_snippet(expected) == expected

    def test_arabic_text_is_kept(self) -> None:
        snippet = "<p>مطعم <b>البيك</b> — الرياض، حي العليا. ☎ ٠١١٢٣٤٥٦٧٨</p>"
        assert sanitize_snippet(snippet) == snippet

    def test_entities_stay_text(self) -> None:
        snippet = "&lt;script&gt;alert(1)&lt;/script&gt;"
        assert sanitize_snippet(snippet) == snippet
