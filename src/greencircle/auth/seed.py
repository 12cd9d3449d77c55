"""Reference data for identity: the jurisdiction tree from ``data/jurisdictions.csv``."""

from __future__ import annotations

import csv
from importlib.resources import files

from sqlalchemy.orm import Session

from greencircle.auth.models import Jurisdiction


def jurisdiction_rows() -> list[dict[str, str]]:
    """Rows of the shipped jurisdiction table, parents before children."""
    text = files("greencircle.data").joinpath("jurisdictions.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def seed_jurisdictions(session: Session) -> int:
    """Insert missing jurisdictions (idempotent); returns how many were added.

    ``path`` is derived from the parent chain, so the CSV only names parents.
    """
    rows = jurisdiction_rows()
    paths: dict[str, str] = {}
    added = 0
    for row in rows:
        parent = row["parent_code"] or None
        path = (paths[parent] if parent else "/") + row["code"] + "/"
        paths[row["code"]] = path
        if session.get(Jurisdiction, row["code"]) is None:
            session.add(
                Jurisdiction(
                    code=row["code"],
                    parent_code=parent,
                    level=row["level"],
                    name_en=row["name_en"],
                    name_zh=row["name_zh"],
                    path=path,
                    sco_member=row["sco_member"] == "true",
                    source=f"{row['source']} ({row['status']})",
                )
            )
            session.flush()
            added += 1
    return added
