"""Mail providers whose addresses anyone can open: a domain in common there says nothing.

The one place this list lives (docs/merges.md, "Duplicate suggestions"). Two leads that both
write from `@gmail.com` are not the same business; two that write from `@alamal.com.sa` may be.
Listed: the free web-mail services our customers' leads use, under every country suffix for the
big ones (`hotmail.co.uk`, `yahoo.fr`, `outlook.sa`), and the mail domains of Gulf and Egyptian
internet providers, which hand one address to every subscriber. Compared on the registrable
domain (`mail.alamal.com.sa` is `alamal.com.sa`), lower case, ASCII (punycode).
"""

from __future__ import annotations

from typing import Final

FREE_MAIL_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        # Web mail
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "windowslive.com",
        "yahoo.com",
        "ymail.com",
        "rocketmail.com",
        "maktoob.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.net",
        "mail.com",
        "zoho.com",
        "zohomail.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "tutanota.com",
        "fastmail.com",
        "hushmail.com",
        "inbox.com",
        # Internet providers' subscriber mail
        "emirates.net.ae",
        "eim.ae",
        "batelco.com.bh",
        "omantel.net.om",
        "qatar.net.qa",
        "qualitynet.net",
        "link.net",
        "tedata.net.eg",
    }
)

FREE_MAIL_ON_EVERY_SUFFIX: Final[frozenset[str]] = frozenset(
    {"gmail", "googlemail", "hotmail", "outlook", "yahoo", "ymail", "aol", "gmx", "yandex"}
)
"""Provider names free under any public suffix: `hotmail.fr`, `yahoo.co.uk`, `outlook.sa`."""


def is_free_mail(domain: str) -> bool:
    """True for a registrable domain (lower case, ASCII) of a free mail provider."""
    domain = domain.lower().rstrip(".")
    return domain in FREE_MAIL_DOMAINS or domain.split(".", 1)[0] in FREE_MAIL_ON_EVERY_SUFFIX
