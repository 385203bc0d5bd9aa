"""Leads and lists get their fields; identity keys, timeline, list members, merges, provenance.

The seed's `leads` and `lists` were placeholders with no endpoint writing them (no rows), so
their new NOT NULL columns need no backfill. New tables, each tenant-owned under forced RLS:

- `lead_keys`: one row per phone (E.164), email (compared form) and external id of a lead.
  Its primary key `(tenant_id, kind, value)` is what makes a key belong to at most one lead of
  a tenant, whoever races to write it.
- `lead_activities`: the timeline (notes and what happened, with the actor).
- `list_members`: the leads of a STATIC list.
- `lead_merges`: leads folded into a survivor, with the snapshot that undo puts back.
- `lead_evidence`: provenance, the evidence items that fed a lead.

`pg_trgm` (trusted since PostgreSQL 13: a database owner may create it) backs substring search
on `leads.search_text` with a GIN index. Foreign keys between these tables carry `tenant_id`
(composite), so no row can point into another tenant. A lead's owner is a member of its tenant
(`ON DELETE SET NULL (owner_id)`, PostgreSQL 15+: the lead is unassigned when they leave).

Besides tenant isolation, `leads` has a restrictive policy: while the tenant's
`sales_see_all_leads` is false, a SALES member's transaction sees and writes only the leads
they own and the unassigned ones. `leedz_sales_own_leads_only()` says whether the transaction's
user is such a member; the policy calls it in a scalar subquery, which PostgreSQL evaluates
once per statement (an InitPlan), not once per row.

Revision ID: 20261201_1400
Revises: 20261201_1300
Create Date: 2026-12-01 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leedz.kit import rls

revision: str = "20261201_1400"
down_revision: str | None = "20261201_1300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("lead_keys", "lead_activities", "list_members", "lead_merges", "lead_evidence")

CHECKS = (
    ("leads", "rating_range", "rating IS NULL OR (rating >= 0 AND rating <= 5)"),
    ("leads", "reviews_count_range", "reviews_count IS NULL OR reviews_count >= 0"),
    ("leads", "country_code", "country IS NULL OR country ~ '^[A-Z]{2}$'"),
    ("leads", "location_whole", "(lat IS NULL) = (lng IS NULL)"),
    ("leads", "version_positive", "version >= 1"),
    ("lists", "filter_iff_dynamic", "(kind = 'DYNAMIC') = (filter IS NOT NULL)"),
)

OWN_LEADS_ONLY_FUNCTION = f"""
CREATE FUNCTION public.leedz_sales_own_leads_only() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM memberships m JOIN tenants t ON t.id = m.tenant_id
        WHERE m.tenant_id = {rls.CURRENT_TENANT}
          AND m.user_id = {rls.CURRENT_USER}
          AND m.role = 'SALES'
          AND NOT t.sales_see_all_leads
    )
$$"""

SALES_VISIBLE = (
    f"owner_id IS NULL OR owner_id = {rls.CURRENT_USER}"
    " OR NOT (SELECT public.leedz_sales_own_leads_only())"
)


LEAD_STATUS = postgresql.ENUM(
    "NEW", "CONTACTED", "QUALIFIED", "WON", "LOST", name="lead_status", create_type=False
)
LEAD_SOURCE = postgresql.ENUM(
    "SEARCH", "SURVEY", "IMPORT", "MANUAL", name="lead_source", create_type=False
)
LIST_KIND = postgresql.ENUM("STATIC", "DYNAMIC", name="list_kind", create_type=False)
# Evidence's, already there.
CONFIDENCE = postgresql.ENUM("HIGH", "MEDIUM", "LOW", name="confidence", create_type=False)


def _app_role() -> str:
    config = op.get_context().config
    return rls.configured_app_role(config.attributes if config else None)


def upgrade() -> None:  # noqa: PLR0915 - a migration is one long list of DDL
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    bind = op.get_bind()
    LEAD_STATUS.create(bind)
    LEAD_SOURCE.create(bind)
    LIST_KIND.create(bind)
    op.add_column("leads", sa.Column("name", sa.String(length=300), nullable=False))
    op.add_column("leads", sa.Column("contact_name", sa.String(length=200), nullable=True))
    op.add_column("leads", sa.Column("category", sa.String(length=200), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "phones",
            postgresql.ARRAY(sa.String(length=16)),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.add_column(
        "leads",
        sa.Column(
            "emails",
            postgresql.ARRAY(sa.String(length=320)),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("website", sa.String(length=2048), nullable=True))
    op.add_column("leads", sa.Column("domain", sa.String(length=253), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "social_profiles",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("address", sa.String(length=500), nullable=True))
    op.add_column("leads", sa.Column("city", sa.String(length=120), nullable=True))
    op.add_column("leads", sa.Column("country", sa.String(length=2), nullable=True))
    op.add_column("leads", sa.Column("lat", sa.Float(), nullable=True))
    op.add_column("leads", sa.Column("lng", sa.Float(), nullable=True))
    op.add_column("leads", sa.Column("rating", sa.Float(), nullable=True))
    op.add_column("leads", sa.Column("reviews_count", sa.Integer(), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "external_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "leads",
        sa.Column(
            "status",
            LEAD_STATUS,
            server_default="NEW",
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("owner_id", sa.UUID(), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=50)),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.add_column(
        "leads",
        sa.Column("do_not_contact", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "leads",
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "leads",
        sa.Column(
            "confidence",
            CONFIDENCE,
            server_default="MEDIUM",
            nullable=False,
        ),
    )
    op.add_column(
        "leads",
        sa.Column(
            "source_type",
            LEAD_SOURCE,
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("source_job_id", sa.UUID(), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "edited_fields",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.add_column(
        "leads", sa.Column("search_text", sa.Text(), server_default=sa.text("''"), nullable=False)
    )
    op.add_column(
        "leads",
        sa.Column("name_sort", sa.String(length=300), server_default=sa.text("''"), nullable=False),
    )
    op.add_column(
        "leads",
        sa.Column("name_key", sa.String(length=300), server_default=sa.text("''"), nullable=False),
    )
    op.add_column(
        "leads", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.add_column("leads", sa.Column("created_by_id", sa.UUID(), nullable=True))
    op.add_column(
        "leads",
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("leads", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("leads", sa.Column("merged_into_id", sa.UUID(), nullable=True))
    op.drop_index(op.f("ix_leads_tenant_id_created_at"), table_name="leads")
    op.create_index(
        "ix_leads_search_text_trgm",
        "leads",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index("ix_leads_tags", "leads", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        op.f("ix_leads_tenant_id_created_at_id"),
        "leads",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_leads_tenant_id_deleted_at"),
        "leads",
        ["tenant_id", "deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_leads_tenant_id_last_activity_at_id"),
        "leads",
        ["tenant_id", "last_activity_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_leads_tenant_id_name_key"), "leads", ["tenant_id", "name_key"], unique=False
    )
    op.create_index(
        op.f("ix_leads_tenant_id_name_sort_id"),
        "leads",
        ["tenant_id", "name_sort", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_leads_tenant_id_owner_id"), "leads", ["tenant_id", "owner_id"], unique=False
    )
    op.create_index(
        op.f("ix_leads_tenant_id_rating_id"), "leads", ["tenant_id", "rating", "id"], unique=False
    )
    op.create_index(
        op.f("ix_leads_tenant_id_status"), "leads", ["tenant_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_leads_tenant_id_updated_at_id"),
        "leads",
        ["tenant_id", "updated_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(op.f("uq_leads_tenant_id_id"), "leads", ["tenant_id", "id"])
    op.create_foreign_key(
        op.f("fk_leads_created_by_id_users"),
        "leads",
        "users",
        ["created_by_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_leads_tenant_id_owner_id_memberships"),
        "leads",
        "memberships",
        ["tenant_id", "owner_id"],
        ["tenant_id", "user_id"],
        ondelete="SET NULL (owner_id)",
    )
    op.add_column("lists", sa.Column("name", sa.String(length=200), nullable=False))
    op.add_column("lists", sa.Column("description", sa.String(length=2000), nullable=True))
    op.add_column("lists", sa.Column("kind", LIST_KIND, nullable=False))
    op.add_column(
        "lists", sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column("lists", sa.Column("created_by_id", sa.UUID(), nullable=True))
    op.drop_index(op.f("ix_lists_tenant_id_created_at"), table_name="lists")
    op.create_index(
        op.f("ix_lists_tenant_id_created_at_id"),
        "lists",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(op.f("uq_lists_tenant_id_id"), "lists", ["tenant_id", "id"])
    op.create_foreign_key(
        op.f("fk_lists_created_by_id_users"),
        "lists",
        "users",
        ["created_by_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_unique_constraint(op.f("uq_evidence_tenant_id_id"), "evidence", ["tenant_id", "id"])
    op.create_table(
        "lead_activities",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "NOTE",
                "CREATED",
                "FIELD_CHANGED",
                "STATUS_CHANGED",
                "OWNER_CHANGED",
                "EVIDENCE_JOINED",
                "MERGED",
                "UNMERGED",
                "DELETED",
                "RESTORED",
                "LISTED",
                "UNLISTED",
                "IMPORTED",
                "EXPORTED",
                "MESSAGED",
                name="lead_activity_type",
            ),
            nullable=False,
        ),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("actor_agent_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_lead_activities_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_lead_activities_tenant_id_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lead_activities_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_activities")),
    )
    op.create_index(
        op.f("ix_lead_activities_tenant_id_lead_id_created_at_id"),
        "lead_activities",
        ["tenant_id", "lead_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "lead_keys",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "kind", sa.Enum("PHONE", "EMAIL", "EXTERNAL", name="lead_key_kind"), nullable=False
        ),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_lead_keys_tenant_id_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lead_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "value", name=op.f("pk_lead_keys")),
    )
    op.create_index(
        op.f("ix_lead_keys_tenant_id_lead_id"), "lead_keys", ["tenant_id", "lead_id"], unique=False
    )
    op.create_table(
        "lead_merges",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("survivor_id", sa.UUID(), nullable=False),
        sa.Column("merged_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_lead_merges_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "survivor_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_lead_merges_tenant_id_survivor_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lead_merges_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["users.id"],
            name=op.f("fk_lead_merges_undone_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_merges")),
    )
    op.create_index(
        op.f("ix_lead_merges_tenant_id_survivor_id"),
        "lead_merges",
        ["tenant_id", "survivor_id"],
        unique=False,
    )
    op.create_table(
        "list_members",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("list_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("added_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
            name=op.f("fk_list_members_added_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_list_members_tenant_id_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "list_id"],
            ["lists.tenant_id", "lists.id"],
            name=op.f("fk_list_members_tenant_id_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_list_members_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "lead_id", name=op.f("pk_list_members")),
    )
    op.create_index(
        op.f("ix_list_members_tenant_id_lead_id"),
        "list_members",
        ["tenant_id", "lead_id"],
        unique=False,
    )
    op.create_table(
        "lead_evidence",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("evidence_id", sa.UUID(), nullable=False),
        sa.Column(
            "fields",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "evidence_id"],
            ["evidence.tenant_id", "evidence.id"],
            name=op.f("fk_lead_evidence_tenant_id_evidence_id_evidence"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_id"],
            ["leads.tenant_id", "leads.id"],
            name=op.f("fk_lead_evidence_tenant_id_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_lead_evidence_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", "evidence_id", name=op.f("pk_lead_evidence")),
    )
    op.create_index(
        op.f("ix_lead_evidence_tenant_id_evidence_id"),
        "lead_evidence",
        ["tenant_id", "evidence_id"],
        unique=False,
    )

    for table, name, condition in CHECKS:
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)

    role = _app_role()
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(NEW_TABLES)} TO {role}")
    for table in NEW_TABLES:
        for statement in rls.enable_tenant_isolation(table):
            op.execute(statement)
    op.execute(OWN_LEADS_ONLY_FUNCTION)
    op.execute(
        "CREATE POLICY sales_visibility ON leads AS RESTRICTIVE FOR ALL"
        f" USING ({SALES_VISIBLE}) WITH CHECK ({SALES_VISIBLE})"
    )


def downgrade() -> None:  # noqa: PLR0915 - its reverse, as long
    op.execute("DROP POLICY IF EXISTS sales_visibility ON leads")
    op.execute("DROP FUNCTION IF EXISTS public.leedz_sales_own_leads_only()")
    for table, name, _ in CHECKS:
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.drop_index(op.f("ix_lead_evidence_tenant_id_evidence_id"), table_name="lead_evidence")
    op.drop_table("lead_evidence")
    op.drop_constraint(op.f("uq_evidence_tenant_id_id"), "evidence", type_="unique")
    op.drop_index(op.f("ix_list_members_tenant_id_lead_id"), table_name="list_members")
    op.drop_table("list_members")
    op.drop_index(op.f("ix_lead_merges_tenant_id_survivor_id"), table_name="lead_merges")
    op.drop_table("lead_merges")
    op.drop_index(op.f("ix_lead_keys_tenant_id_lead_id"), table_name="lead_keys")
    op.drop_table("lead_keys")
    op.drop_index(
        op.f("ix_lead_activities_tenant_id_lead_id_created_at_id"), table_name="lead_activities"
    )
    op.drop_table("lead_activities")
    op.drop_constraint(op.f("fk_lists_created_by_id_users"), "lists", type_="foreignkey")
    op.drop_constraint(op.f("uq_lists_tenant_id_id"), "lists", type_="unique")
    op.drop_index(op.f("ix_lists_tenant_id_created_at_id"), table_name="lists")
    op.create_index(
        op.f("ix_lists_tenant_id_created_at"), "lists", ["tenant_id", "created_at"], unique=False
    )
    op.drop_column("lists", "created_by_id")
    op.drop_column("lists", "filter")
    op.drop_column("lists", "kind")
    op.drop_column("lists", "description")
    op.drop_column("lists", "name")
    op.drop_constraint(op.f("fk_leads_tenant_id_owner_id_memberships"), "leads", type_="foreignkey")
    op.drop_constraint(op.f("fk_leads_created_by_id_users"), "leads", type_="foreignkey")
    op.drop_constraint(op.f("uq_leads_tenant_id_id"), "leads", type_="unique")
    op.drop_index(op.f("ix_leads_tenant_id_updated_at_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_status"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_rating_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_owner_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_name_sort_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_name_key"), table_name="leads")
    op.drop_index(op.f("ix_leads_tenant_id_last_activity_at_id"), table_name="leads")
    op.drop_index(
        op.f("ix_leads_tenant_id_deleted_at"),
        table_name="leads",
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.drop_index(op.f("ix_leads_tenant_id_created_at_id"), table_name="leads")
    op.drop_index("ix_leads_tags", table_name="leads", postgresql_using="gin")
    op.drop_index(
        "ix_leads_search_text_trgm",
        table_name="leads",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        op.f("ix_leads_tenant_id_created_at"), "leads", ["tenant_id", "created_at"], unique=False
    )
    op.drop_column("leads", "merged_into_id")
    op.drop_column("leads", "deleted_at")
    op.drop_column("leads", "last_activity_at")
    op.drop_column("leads", "created_by_id")
    op.drop_column("leads", "version")
    op.drop_column("leads", "name_key")
    op.drop_column("leads", "name_sort")
    op.drop_column("leads", "search_text")
    op.drop_column("leads", "edited_fields")
    op.drop_column("leads", "source_job_id")
    op.drop_column("leads", "source_type")
    op.drop_column("leads", "confidence")
    op.drop_column("leads", "custom_fields")
    op.drop_column("leads", "do_not_contact")
    op.drop_column("leads", "tags")
    op.drop_column("leads", "owner_id")
    op.drop_column("leads", "status")
    op.drop_column("leads", "external_ids")
    op.drop_column("leads", "reviews_count")
    op.drop_column("leads", "rating")
    op.drop_column("leads", "lng")
    op.drop_column("leads", "lat")
    op.drop_column("leads", "country")
    op.drop_column("leads", "city")
    op.drop_column("leads", "address")
    op.drop_column("leads", "social_profiles")
    op.drop_column("leads", "domain")
    op.drop_column("leads", "website")
    op.drop_column("leads", "emails")
    op.drop_column("leads", "phones")
    op.drop_column("leads", "category")
    op.drop_column("leads", "contact_name")
    op.drop_column("leads", "name")

    for enum_name in (
        "lead_activity_type",
        "lead_key_kind",
        "list_kind",
        "lead_source",
        "lead_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {enum_name}")
    # pg_trgm stays: other objects of the database may use it, and it holds no data.
