"""The leads a batch of records is resolved against, by what the rules look them up by.

Resolution (service.py) and imports (imports/service.py) keep the candidates they locked, and
the leads they created or changed since, in one of these: a record's matches are the leads of
its keys, of its identity domain, and of its name in its city.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from leedz.leads.record import Key
from leedz.resolution.extract import Extracted
from leedz.resolution.rules import LeadState


@dataclass
class LeadIndex:
    """Leads by id, with what the rules look them up by: keys, identity domain, name in city."""

    leads: dict[UUID, LeadState] = field(default_factory=dict)
    owners: dict[Key, UUID] = field(default_factory=dict)
    by_domain: dict[str, set[UUID]] = field(default_factory=dict)
    by_name: dict[tuple[str, str], set[UUID]] = field(default_factory=dict)

    def put(self, state: LeadState, keys: Sequence[Key] = ()) -> None:
        self.drop(state.id)
        self.leads[state.id] = state
        if state.row.domain:
            self.by_domain.setdefault(state.row.domain, set()).add(state.id)
        if state.name_key and state.city_key:
            self.by_name.setdefault((state.name_key, state.city_key), set()).add(state.id)
        for key in keys:
            self.owners[key] = state.id

    def drop(self, lead_id: UUID) -> None:
        old = self.leads.pop(lead_id, None)
        if old is None:
            return
        if old.row.domain:
            self.by_domain.get(old.row.domain, set()).discard(lead_id)
        if old.name_key and old.city_key:
            self.by_name.get((old.name_key, old.city_key), set()).discard(lead_id)

    def ids_for(self, record: Extracted) -> set[UUID]:
        """The leads `record` may be: its keys' owners, its domain's, its name's in its city."""
        ids = {self.owners[k] for k in record.keys if k in self.owners}
        if record.identity_domain is not None:
            ids |= self.by_domain.get(record.identity_domain, set())
        if record.name_key is not None and record.city_key is not None:
            ids |= self.by_name.get((record.name_key, record.city_key), set())
        return ids
