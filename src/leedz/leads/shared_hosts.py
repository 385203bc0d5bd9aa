"""Hosts that many unrelated businesses share: a website on one of them is never an identity.

The one place this list lives (docs/normalization.md, "Shared hosts"); `normalize.is_shared_host`
reads it. An entry covers itself and every subdomain, and sits at the level of a registrable
domain or of a public suffix, never below: the identity key is the registrable domain, so if any
page under `google.com` is shared (Sites, Maps, Business Profiles), all of `google.com` is. A test
keeps every entry at that level.

Listed: platforms whose pages are not the business's own site (social networks, link-in-bio,
messaging links, maps, link shorteners, delivery and listing apps), and site builders where one
account publishes several sites under one registrable domain (`user.wixsite.com/site`,
`user.github.io/project`) or that small businesses use as a free first site. Not listed:
developer hosts whose Public Suffix List entry already makes each deployed site its own
registrable domain (`shop.netlify.app`, `shop.pages.dev`): one deployment, one owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class SharedHostKind(StrEnum):
    """Why a host is shared (documentation and reasons in duplicate suggestions)."""

    SOCIAL = "social"
    LINK_IN_BIO = "link_in_bio"
    MESSAGING = "messaging"
    SITE_BUILDER = "site_builder"
    MAPS = "maps"
    SHORTENER = "shortener"
    LISTINGS = "listings"


_SOCIAL = (
    "facebook.com",
    "fb.com",
    "fb.me",
    "fb.watch",
    "instagram.com",
    "instagr.am",
    "x.com",
    "twitter.com",
    "linkedin.com",
    "lnkd.in",
    "tiktok.com",
    "snapchat.com",
    "youtube.com",
    "youtu.be",
    "pinterest.com",
    "threads.net",
    "threads.com",
    "tumblr.com",
)
_LINK_IN_BIO = (
    "linktr.ee",
    "beacons.ai",
    "lnk.bio",
    "linkin.bio",
    "bio.link",
    "taplink.cc",
    "campsite.bio",
    "solo.to",
    "allmylinks.com",
    "msha.ke",
    "hoo.be",
    "heylink.me",
    "bio.site",
    "linkr.bio",
    "instabio.cc",
    "about.me",
)
_MESSAGING = (
    "wa.me",
    "wa.link",
    "whatsapp.com",
    "t.me",
    "telegram.me",
    "telegram.org",
    "m.me",
    "messenger.com",
    "viber.com",
)
_SITE_BUILDER = (
    "blogspot.com",
    "blogger.com",
    "wix.com",
    "wixsite.com",
    "wordpress.com",
    "weebly.com",
    "weeblysite.com",
    "godaddysites.com",
    "business.site",
    "square.site",
    "squarespace.com",
    "myshopify.com",
    "carrd.co",
    "notion.site",
    "github.io",
    "webflow.io",
    "framer.website",
    "jimdosite.com",
    "jimdofree.com",
    "mystrikingly.com",
    "site123.me",
    "salla.sa",  # Saudi store builder: salla.sa/<store>
    "zid.store",  # Saudi store builder: <store>.zid.store
)
_MAPS = (
    "google.com",  # also Google Sites (sites.google.com) and Business Profiles; google.<cc> below
    "goo.gl",  # maps.app.goo.gl
    "g.page",
    "g.co",
    "apple.com",  # maps.apple.com
    "bing.com",  # bing.com/maps
    "waze.com",
    "here.com",
    "openstreetmap.org",
    "osm.org",
)
_SHORTENER = (
    "bit.ly",
    "tinyurl.com",
    "ow.ly",
    "cutt.ly",
    "is.gd",
    "rb.gy",
    "shorturl.at",
    "rebrand.ly",
    "t.co",
)
_LISTINGS = (
    "talabat.com",
    "hungerstation.com",
    "jahez.net",
    "careem.com",
    "deliveroo.ae",
    "zomato.com",
    "noon.com",
    "amazon.com",
    "amazon.sa",
    "amazon.ae",
    "amazon.eg",
    "tripadvisor.com",
    "booking.com",
    "yelp.com",
    "foursquare.com",
)


def _table() -> dict[str, SharedHostKind]:
    table: dict[str, SharedHostKind] = {}
    for kind, hosts in (
        (SharedHostKind.SOCIAL, _SOCIAL),
        (SharedHostKind.LINK_IN_BIO, _LINK_IN_BIO),
        (SharedHostKind.MESSAGING, _MESSAGING),
        (SharedHostKind.SITE_BUILDER, _SITE_BUILDER),
        (SharedHostKind.MAPS, _MAPS),
        (SharedHostKind.SHORTENER, _SHORTENER),
        (SharedHostKind.LISTINGS, _LISTINGS),
    ):
        for host in hosts:
            if host in table:
                raise ValueError(f"{host} is listed twice")
            table[host] = kind
    return table


SHARED_HOSTS: Final[Mapping[str, SharedHostKind]] = MappingProxyType(_table())
"""Every shared host (a registrable domain or a public suffix, ASCII, lower case) and its kind."""

SHARED_ON_EVERY_SUFFIX: Final[Mapping[str, SharedHostKind]] = MappingProxyType(
    {"google": SharedHostKind.MAPS}
)
"""Names shared under any public suffix: `google.com.sa`, `google.ae`, `google.com.eg`, … are
Maps and Sites as much as `google.com` is."""
