"""Pairwise quality of an entity resolution against tests/resolution/labelled_set.jsonl.

Pure: no database, no network. Three things:

- `score(records, predicted)`: pairwise precision, recall and F1 of a clustering (record id →
  cluster id) against the labels. A pair is two records; it is *true* when both records are
  labelled with one business, *predicted* when both are in one predicted cluster. A record the
  prediction leaves out is a cluster of its own.
- `naive_baseline(records)`: what the real system is compared against — records clustered by the
  exact `name` string or an exact raw phone string (each element of `phones`, and `phone`, as
  written), no normalization.
- `reference_clusters(records, default_country)`: the five resolution rules, applied in memory
  with leedz.leads.normalize and a union-find, so the set can be checked without the server.

`python -m tests.resolution.evaluate` prints both scores and the pairs each case costs.

How the reference reads the rules (the contract in the resolution issue):

1. same external id: `placeId` (of any record type, compared as written);
2. a phone in common, as E.164: every string of `phones` (a list, or one string) and `phone`
   goes through `split_phones`, then `normalize_phone` with the record's `country`, else the
   record's upload hint (`country` at the top level), else `default_country`; a spelling that is
   not a number (a short code, two numbers joined by a dash) is dropped, as is a `country` that
   is no country (then the hint applies);
3. an e-mail in common: `email` and every `emails` item through `normalize_email`; invalid ones
   dropped;
4. the same `identity_domain(website)` (None for shared hosts), in the same city or with either
   city unknown;
5. the same non-empty `name_key(name)` in the same city (both known), unless both records have
   phones (after rule 2's reading) and share none.

A city is compared trimmed and case-folded; an empty one is unknown. Rules are applied between
records, each record standing for the lead it would become, and the clusters are the transitive
closure (a record matching several joins them all). The server compares a record with leads,
whose fields accumulate from the records merged into them; that can only add links, never
remove one, where a lead holds phones from several records (rule 5's exception weakens) or a
city one record lacked.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import phonenumbers

from leedz.leads.normalize import (
    InvalidEmail,
    InvalidPhone,
    InvalidWebsite,
    UnknownCountry,
    identity_domain,
    is_shared_host,
    name_key,
    normalize_email,
    normalize_phone,
    registrable_domain,
    split_phones,
)

LABELLED_SET = Path(__file__).with_name("labelled_set.jsonl")
# The tenant default the set is built for (build_labelled_set.DEFAULT_COUNTRY).
DEFAULT_COUNTRY = "SA"
# What the server must reach, pairwise.
TARGET_PRECISION = 0.98
TARGET_RECALL = 0.95

Record = Mapping[str, Any]
Clusters = Mapping[str, str]


def load(path: Path = LABELLED_SET) -> list[dict[str, Any]]:
    """The labelled records, in file order."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


# ---------------------------------------------------------------------------------------------
# Pairwise scores


@dataclass(frozen=True, slots=True)
class Score:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def meets_target(self) -> bool:
        return self.precision >= TARGET_PRECISION and self.recall >= TARGET_RECALL

    def line(self, label: str) -> str:
        return (
            f"{label:<12} precision {self.precision:.3f}  recall {self.recall:.3f}  "
            f"F1 {self.f1:.3f}  ({self.correct_pairs} of {self.predicted_pairs} predicted "
            f"pairs right, {self.true_pairs} true pairs)"
        )


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def labels(records: Iterable[Record]) -> dict[str, str]:
    """Record id → true business id."""
    return {r["record"]: r["business"] for r in records}


def _complete(records: Sequence[Record], predicted: Clusters) -> dict[str, str]:
    """Every record's predicted cluster; one left out is alone."""
    return {
        r["record"]: f"cluster:{predicted[r['record']]}"
        if r["record"] in predicted
        else f"alone:{r['record']}"
        for r in records
    }


def score(records: Sequence[Record], predicted: Clusters) -> Score:
    """Pairwise precision, recall and F1 of `predicted` (record id → cluster id) against the
    labels, counted from cluster sizes (no pair is listed)."""
    truth = labels(records)
    unknown = set(predicted) - set(truth)
    if unknown:
        raise ValueError(f"predicted clusters name records not in the set: {sorted(unknown)[:5]}")
    cluster = _complete(records, predicted)
    return Score(
        true_pairs=_pairs(Counter(truth.values()).values()),
        predicted_pairs=_pairs(Counter(cluster.values()).values()),
        correct_pairs=_pairs(Counter((truth[r], cluster[r]) for r in truth).values()),
    )


def missed_and_wrong(
    records: Sequence[Record], predicted: Clusters
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The true pairs the prediction misses and the predicted pairs that are wrong, as
    (record id, record id), sorted."""
    truth = labels(records)
    cluster = _complete(records, predicted)
    missed, wrong = [], []
    for a, b in combinations(sorted(truth), 2):
        same_truth, same_cluster = truth[a] == truth[b], cluster[a] == cluster[b]
        if same_truth and not same_cluster:
            missed.append((a, b))
        elif same_cluster and not same_truth:
            wrong.append((a, b))
    return missed, wrong


def by_case(records: Sequence[Record], pairs: Iterable[tuple[str, str]]) -> dict[str, int]:
    """How many of `pairs` touch a record tagged with each case."""
    cases = {r["record"]: set(r.get("cases", ())) for r in records}
    counts: Counter[str] = Counter()
    for a, b in pairs:
        counts.update(cases[a] | cases[b])
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# ---------------------------------------------------------------------------------------------
# Union-find


class UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def union_all(self, items: Sequence[str]) -> None:
        for other in items[1:]:
            self.union(items[0], other)

    def clusters(self) -> dict[str, str]:
        return {item: self.find(item) for item in self.parent}


# ---------------------------------------------------------------------------------------------
# The naive baseline


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)]


def raw_phones(raw: Mapping[str, Any]) -> list[str]:
    """The phone strings as written: `phone` and each item of `phones` (or `phones` itself)."""
    return _strings(raw.get("phone")) + _strings(raw.get("phones"))


def naive_baseline(records: Sequence[Record]) -> dict[str, str]:
    """Records clustered by exact `name` string equality or exact raw phone string equality:
    nothing trimmed, nothing normalized."""
    uf = UnionFind(r["record"] for r in records)
    by_key: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        raw = r["rawData"]
        if isinstance(raw.get("name"), str) and raw["name"]:
            by_key[("name", raw["name"])].append(r["record"])
        for phone in raw_phones(raw):
            if phone:
                by_key[("phone", phone)].append(r["record"])
    for ids in by_key.values():
        uf.union_all(ids)
    return uf.clusters()


# ---------------------------------------------------------------------------------------------
# The reference resolver: the five rules


@dataclass(frozen=True, slots=True)
class Identity:
    """What the rules compare, read off one record."""

    record: str
    place_id: str | None
    phones: frozenset[str]
    emails: frozenset[str]
    domain: str | None
    name: str | None
    city: str | None


def _country(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def read_phones(raw: Mapping[str, Any], *, hint: str | None, default_country: str) -> set[str]:
    """Rule 2's reading: every spelling, split and normalized; what is not a number dropped."""
    default = _country(hint) or default_country
    country = _country(raw.get("country"))
    found = set()
    for cell in raw_phones(raw):
        for spelling in split_phones(cell):
            try:
                found.add(normalize_phone(spelling, country=country, default_country=default))
            except UnknownCountry:
                try:  # the record's country is no country: the hint or the default applies
                    found.add(normalize_phone(spelling, country=None, default_country=default))
                except (InvalidPhone, UnknownCountry):
                    continue
            except InvalidPhone:
                continue
    return found


def read_emails(raw: Mapping[str, Any]) -> set[str]:
    found = set()
    for text in _strings(raw.get("email")) + _strings(raw.get("emails")):
        try:
            found.add(normalize_email(text))
        except InvalidEmail:
            continue
    return found


def read_domain(raw: Mapping[str, Any]) -> str | None:
    website = raw.get("website")
    if not isinstance(website, str) or not website.strip():
        return None
    try:
        return identity_domain(website)
    except InvalidWebsite:
        return None


def read_city(raw: Mapping[str, Any]) -> str | None:
    city = raw.get("city")
    if not isinstance(city, str) or not city.strip():
        return None
    return city.strip().casefold()


def identity(record: Record, default_country: str) -> Identity:
    raw = record["rawData"]
    name = raw.get("name")
    key = name_key(name) if isinstance(name, str) else ""
    place_id = raw.get("placeId")
    return Identity(
        record=record["record"],
        place_id=place_id if isinstance(place_id, str) and place_id else None,
        phones=frozenset(
            read_phones(raw, hint=record.get("country"), default_country=default_country)
        ),
        emails=frozenset(read_emails(raw)),
        domain=read_domain(raw),
        name=key or None,
        city=read_city(raw),
    )


def _exact_keys(ids: Sequence[Identity]) -> Iterable[list[str]]:
    """Rules 1–3: groups of records sharing a place id, a phone or an e-mail."""
    groups: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for i in ids:
        if i.place_id:
            groups[("place", i.place_id)].append(i.record)
        for phone in i.phones:
            groups[("phone", phone)].append(i.record)
        for email in i.emails:
            groups[("email", email)].append(i.record)
    return groups.values()


def _domain_pairs(ids: Sequence[Identity]) -> Iterable[tuple[str, str]]:
    """Rule 4: one identity domain, one city or either city unknown."""
    by_domain: defaultdict[str, list[Identity]] = defaultdict(list)
    for i in ids:
        if i.domain:
            by_domain[i.domain].append(i)
    for group in by_domain.values():
        for a, b in combinations(group, 2):
            if a.city is None or b.city is None or a.city == b.city:
                yield a.record, b.record


def _name_pairs(ids: Sequence[Identity]) -> Iterable[tuple[str, str]]:
    """Rule 5: one name key in one city, unless both have phones and share none."""
    by_name: defaultdict[tuple[str, str], list[Identity]] = defaultdict(list)
    for i in ids:
        if i.name and i.city:
            by_name[(i.name, i.city)].append(i)
    for group in by_name.values():
        for a, b in combinations(group, 2):
            if not (a.phones and b.phones and not a.phones & b.phones):
                yield a.record, b.record


def reference_clusters(
    records: Sequence[Record], default_country: str = DEFAULT_COUNTRY
) -> dict[str, str]:
    """Record id → cluster id under the five rules (module docstring), transitively closed."""
    ids = [identity(r, default_country) for r in records]
    uf = UnionFind(i.record for i in ids)
    for group in _exact_keys(ids):
        uf.union_all(group)
    for a, b in (*_domain_pairs(ids), *_name_pairs(ids)):
        uf.union(a, b)
    return uf.clusters()


# ---------------------------------------------------------------------------------------------
# A proposal, not the contract: the five rules with their weak spots closed
#
# Each refinement answers one `hazard_*` scenario of the set, where the five rules join
# different businesses; written after seeing them, so this set cannot prove they generalize,
# only that they cost it no recall. For the lead to decide; the server follows the contract.

# Numbers that reach a company, not a place: Saudi 9200 (shared cost), 800 (toll free), the
# Emirates' 600 (UAN). Chains print one on every branch.
COMPANY_NUMBER_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
    }
)


def company_number(e164: str) -> bool:
    return phonenumbers.number_type(phonenumbers.parse(e164)) in COMPANY_NUMBER_TYPES


def _same_place(a: Identity, b: Identity) -> bool:
    return a.city is None or b.city is None or a.city == b.city


def _refined_phone_pairs(ids: Sequence[Identity]) -> Iterable[tuple[str, str]]:
    """Rule 2, with a company number (9200, 800, 600) shared only in one city or with a city
    unknown, like a domain: the chain's number is on every branch."""
    by_phone: defaultdict[str, list[Identity]] = defaultdict(list)
    for i in ids:
        for phone in i.phones:
            by_phone[phone].append(i)
    for phone, group in by_phone.items():
        place_bound = company_number(phone)
        for a, b in combinations(group, 2):
            if not place_bound or _same_place(a, b):
                yield a.record, b.record


def _join_if_one_business(uf: UnionFind, record: Identity, candidates: list[Identity]) -> None:
    """`record` (without phones) joins `candidates` when those with phones among them are one
    business so far; named or hosted like two, it joins neither."""
    with_phones = {uf.find(c.record) for c in candidates if c.phones}
    if len(with_phones) <= 1:
        uf.union_all([record.record, *(c.record for c in candidates)])


def _refined_domain_unions(ids: Sequence[Identity], uf: UnionFind) -> None:
    """Rule 4 only for a record without phones (two records with phones are one business by a
    shared number or not at all: branches of a chain in one city), and only when the records
    of that domain it may join (its city, or every city when its own is unknown) are one
    business so far: a chain's profile without a city cannot say which branch it is."""
    by_domain: defaultdict[str, list[Identity]] = defaultdict(list)
    for i in ids:
        if i.domain:
            by_domain[i.domain].append(i)
    for group in by_domain.values():
        for i in group:
            if not i.phones:
                candidates = [o for o in group if o is not i and _same_place(i, o)]
                _join_if_one_business(uf, i, candidates)


def _refined_name_unions(ids: Sequence[Identity], uf: UnionFind) -> None:
    """Rule 5 likewise: between two records with phones it adds nothing to rule 2, so it is a
    record without phones joining a name in its city, when that name is one business so far."""
    by_name: defaultdict[tuple[str, str], list[Identity]] = defaultdict(list)
    for i in ids:
        if i.name and i.city:
            by_name[(i.name, i.city)].append(i)
    for group in by_name.values():
        for i in group:
            if not i.phones:
                _join_if_one_business(uf, i, [o for o in group if o is not i])


def proposed_clusters(
    records: Sequence[Record], default_country: str = DEFAULT_COUNTRY
) -> dict[str, str]:
    """The five rules with the refinements above (a proposal, not the contract)."""
    ids = [identity(r, default_country) for r in records]
    uf = UnionFind(i.record for i in ids)
    without_phones = [
        Identity(i.record, i.place_id, frozenset(), i.emails, None, None, None) for i in ids
    ]
    for group in _exact_keys(without_phones):  # rules 1 and 3
        uf.union_all(group)
    for a, b in _refined_phone_pairs(ids):
        uf.union(a, b)
    _refined_domain_unions(ids, uf)
    _refined_name_unions(ids, uf)
    return uf.clusters()


# ---------------------------------------------------------------------------------------------
# The refined reference: what the server does (docs/resolution.md), simulated in memory
#
# The server compares each record, in the order of upload, with the leads as they stand: a lead
# accumulates the phones, e-mail addresses and place ids of the records it took, and its name,
# city and website follow the field policy (filled when empty; otherwise the higher
# confidence, then the newer evidence, wins; a value that compares equal is kept as spelled; a
# website on a shared host never replaces the business's own). A record matching several
# leads merges them only as the lead engineer's refinement says: every lead it matches by a
# strong rule (1-3) is merged into the oldest of them; a lead matched only by a weak rule
# (4, 5) joins that group only when it contradicts none of its members (both have phones and
# share none, or both have known different cities), the oldest first; without a strong match
# the group starts from the oldest lead. The survivor keeps its name, city and website, fills
# them when empty from the merged leads (oldest first), and takes their phones, addresses and
# keys. Written apart from the server's code, so that the server-backed test compares two
# implementations of one contract.

# The confidence the server-backed run gives each type's evidence (HIGH 3, MEDIUM 2, LOW 1).
CONFIDENCE_BY_TYPE = {
    "GOOGLE_MAPS_LISTING": "HIGH",
    "WEBSITE_CONTENT": "MEDIUM",
    "CONTACT_INFO": "MEDIUM",
    "SOCIAL_PROFILE": "LOW",
}
_RANK = {"HIGH": 3, "MEDIUM": 2, "LOW": 1}


def _sim_city(raw: Mapping[str, Any]) -> str | None:
    """The city as the server compares it: whitespace collapsed, trimmed, lower case."""
    city = raw.get("city")
    if not isinstance(city, str):
        return None
    return " ".join(city.split()).lower() or None


def _sim_website_domain(raw: Mapping[str, Any]) -> str | None:
    website = raw.get("website")
    if not isinstance(website, str) or not website.strip():
        return None
    try:
        return registrable_domain(website)
    except InvalidWebsite:
        return None


@dataclass
class _SimLead:
    """A lead as the rules and the field policy see it."""

    seq: int  # creation order: the lower, the older
    records: list[str]
    name: str  # its name key
    city: str | None
    domain: str | None  # the registrable domain of its website
    phones: list[str]
    backers: dict[str, tuple[int, int]]  # field → (confidence rank, time) of its best evidence

    @property
    def identity_domain(self) -> str | None:
        return None if self.domain is None or is_shared_host(self.domain) else self.domain


@dataclass(frozen=True)
class _SimRecord:
    ident: Identity
    city: str | None
    domain: str | None
    rank: int
    time: int


def _sim_strong(rec: _SimRecord, owners: Mapping[tuple[str, str], int]) -> set[int]:
    i = rec.ident
    keys = [("place", i.place_id)] if i.place_id else []
    keys += [("phone", p) for p in i.phones] + [("email", e) for e in i.emails]
    return {owners[k] for k in keys if k in owners}


def _sim_weak(rec: _SimRecord, lead: _SimLead) -> bool:
    i = rec.ident
    domain = (
        i.domain is not None
        and lead.identity_domain == i.domain
        and (rec.city is None or lead.city is None or rec.city == lead.city)
    )
    name = (
        i.name is not None
        and rec.city is not None
        and lead.city == rec.city
        and lead.name == i.name
        and not (i.phones and lead.phones and not i.phones & set(lead.phones))
    )
    return domain or name


def _sim_contradict(a: _SimLead, b: _SimLead) -> bool:
    if a.phones and b.phones and not set(a.phones) & set(b.phones):
        return True
    return a.city is not None and b.city is not None and a.city != b.city


def _sim_group(strong: list[_SimLead], weak: list[_SimLead]) -> list[_SimLead]:
    """The leads a record merges, its survivor first."""
    group = sorted(strong, key=lambda lead: lead.seq) or weak[:1]
    for lead in sorted(weak, key=lambda lead: lead.seq):
        if lead not in group and not any(_sim_contradict(lead, m) for m in group):
            group.append(lead)
    return [group[0], *sorted(group[1:], key=lambda lead: lead.seq)]


def _sim_fold(survivor: _SimLead, merged: list[_SimLead]) -> None:
    for lead in merged:  # oldest first
        survivor.records += lead.records
        if survivor.city is None:
            survivor.city = lead.city
        if survivor.domain is None:
            survivor.domain = lead.domain
        survivor.phones += [p for p in lead.phones if p not in survivor.phones]
        for f, backer in lead.backers.items():
            survivor.backers[f] = max(survivor.backers.get(f, backer), backer)


def _sim_apply(lead: _SimLead, rec: _SimRecord) -> None:
    """The field policy on the three fields the rules read, and the phones."""
    mine = (rec.rank, rec.time)
    values = {"name": rec.ident.name, "city": rec.city, "website": rec.domain}
    for f, value in values.items():
        if value is None:
            continue
        current = {"name": lead.name, "city": lead.city, "website": lead.domain}[f]
        if current is not None and current != value:
            if mine <= lead.backers[f]:
                continue
            if f == "website" and rec.ident.domain is None and lead.identity_domain is not None:
                continue
        if f == "name":
            lead.name = value
        elif f == "city":
            lead.city = value
        else:
            lead.domain = value
        lead.backers[f] = max(lead.backers.get(f, mine), mine)
    lead.phones += [p for p in sorted(rec.ident.phones) if p not in lead.phones][
        : max(20 - len(lead.phones), 0)
    ]


def refined_reference_clusters(
    records: Sequence[Record], default_country: str = DEFAULT_COUNTRY
) -> dict[str, str]:
    """Record id → lead, the records resolved one by one in the given order as the server does
    (the section's comment), each record's evidence of `CONFIDENCE_BY_TYPE[type]`, collected in
    that order."""
    leads: dict[int, _SimLead] = {}
    owners: dict[tuple[str, str], int] = {}
    created = 0
    for time, record in enumerate(records):
        ident = identity(record, default_country)
        rec = _SimRecord(
            ident=ident,
            city=_sim_city(record["rawData"]),
            domain=_sim_website_domain(record["rawData"]),
            rank=_RANK[CONFIDENCE_BY_TYPE[record["type"]]],
            time=time,
        )
        if not (ident.place_id or ident.phones or ident.emails or ident.domain or ident.name):
            continue  # nothing to identify it: no lead
        strong_ids = _sim_strong(rec, owners)
        strong = [leads[i] for i in strong_ids]
        weak = [lead for i, lead in leads.items() if i not in strong_ids and _sim_weak(rec, lead)]
        if not strong and not weak:
            name = record["rawData"].get("name")
            if not isinstance(name, str) or not name.strip():
                continue  # no name to create a lead with
            created += 1
            lead = _SimLead(seq=created, records=[], name=ident.name or "", city=None,
                            domain=None, phones=[], backers={})  # fmt: skip
            leads[lead.seq] = lead
        else:
            group = _sim_group(strong, weak)
            lead, merged = group[0], group[1:]
            _sim_fold(lead, merged)
            for gone in merged:
                del leads[gone.seq]
                for key, owner in owners.items():
                    if owner == gone.seq:
                        owners[key] = lead.seq
        lead.records.append(ident.record)
        _sim_apply(lead, rec)
        keys = [("place", ident.place_id)] if ident.place_id else []
        keys += [("phone", p) for p in ident.phones] + [("email", e) for e in ident.emails]
        for key in keys:
            owners.setdefault(key, lead.seq)
    return {r: f"lead-{seq}" for seq, lead in leads.items() for r in lead.records}


# The English names of the set's cities (case-folded) → their Arabic names: a gazetteer the
# rules do not have, for measuring what comparing cities as written costs.
CITY_NAMES = {
    "riyadh": "الرياض",
    "jeddah": "جدة",
    "makkah": "مكة المكرمة",
    "madinah": "المدينة المنورة",
    "dammam": "الدمام",
    "al khobar": "الخبر",
    "dubai": "دبي",
    "abu dhabi": "أبوظبي",
    "sharjah": "الشارقة",
    "ajman": "عجمان",
    "cairo": "القاهرة",
    "giza": "الجيزة",
    "alexandria": "الإسكندرية",
    "kuwait city": "الكويت",
    "hawalli": "حولي",
    "salmiya": "السالمية",
    "farwaniya": "الفروانية",
}


def with_cities_in_one_script(
    records: Sequence[Record], aliases: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The records with every city spelling in `aliases` (case-folded, trimmed → one name)
    replaced: how many pairs depend on Arabic against English city names."""
    out = []
    for r in records:
        raw = dict(r["rawData"])
        city = read_city(raw)
        if city is not None and city in aliases:
            raw["city"] = aliases[city]
        out.append({**r, "rawData": raw})
    return out


WEAK_SPOT = "hazard_"


def weak_spot_businesses(records: Iterable[Record]) -> set[str]:
    """The businesses of the scenarios where the five rules join different businesses."""
    return {
        r["business"] for r in records if any(c.startswith(WEAK_SPOT) for c in r.get("cases", ()))
    }


def without_weak_spots(records: Sequence[Record]) -> list[Record]:
    """The set without the weak-spot scenarios' records (every record of their businesses)."""
    drop = weak_spot_businesses(records)
    return [r for r in records if r["business"] not in drop]


def weak_spot_costs(records: Sequence[Record], predicted: Clusters) -> dict[str, int]:
    """Wrong pairs per weak spot (`hazard_*` case shared by both records); a wrong pair outside
    them counts under "elsewhere"."""
    cases = {r["record"]: set(r.get("cases", ())) for r in records}
    costs: Counter[str] = Counter()
    for a, b in missed_and_wrong(records, predicted)[1]:
        shared = sorted(c for c in cases[a] & cases[b] if c.startswith(WEAK_SPOT))
        costs[shared[0] if shared else "elsewhere"] += 1
    return dict(sorted(costs.items()))


def report(records: Sequence[Record], default_country: str = DEFAULT_COUNTRY) -> str:
    """The baseline, the reference (the contract's five rules) and the proposal side by side,
    with what the weak spots and the city scripts cost."""
    one_script = with_cities_in_one_script(records, CITY_NAMES)
    rest = without_weak_spots(records)
    rows = [
        ("baseline", records, naive_baseline(records)),
        ("reference", records, reference_clusters(records, default_country)),
        ("  no hazards", rest, reference_clusters(rest, default_country)),
        ("  one script", one_script, reference_clusters(one_script, default_country)),
        ("proposal", records, proposed_clusters(records, default_country)),
        ("  one script", one_script, proposed_clusters(one_script, default_country)),
    ]
    reference = score(records, rows[1][2])
    missed, _ = missed_and_wrong(records, rows[1][2])
    lines = [
        f"{len(records)} records, {len(set(labels(records).values()))} businesses, "
        f"{reference.true_pairs} true pairs; target precision >= {TARGET_PRECISION}, "
        f"recall >= {TARGET_RECALL}",
        *(score(data, predicted).line(label) for label, data, predicted in rows),
        "reference wrong pairs by weak spot: "
        + ", ".join(f"{k} {v}" for k, v in weak_spot_costs(records, rows[1][2]).items()),
        "reference missed pairs by case: "
        + ", ".join(
            f"{k} {v}" for k, v in by_case(records, missed).items() if k.startswith("unreach")
        ),
        "(no hazards: without the weak-spot scenarios; one script: English city names read as "
        "their Arabic names)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(report(load()) + "\n")
