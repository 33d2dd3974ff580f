"""The bureau's yearly targets (目标任务): read and replaced a year at a time.

A target row is (year, sector, region): region "" is the whole city, a county code is that
county. A county's targets are per sector, like the city's: the plan sets its figures per
sector, and a county total is the sum of its sectors' rows.
"""

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import Sector, Target, User
from app.schemas.stats import TargetFigures, Targets
from app.services import audit

CITY = ""  # the region of the city's own targets


def target_rows(session: Session, year: int) -> Sequence[Target]:
    """The year's target rows, city first, then by county and sector."""
    stmt = select(Target).where(Target.year == year).order_by(Target.region, Target.sector)
    return session.scalars(stmt).all()


def targets_of(rows: Sequence[Target]) -> Targets:
    """The rows as the API's shape: `sectors` (the city's) and `regions` (per county)."""
    order = list(Sector)
    targets = Targets()
    for row in sorted(rows, key=lambda r: (r.region, order.index(r.sector))):
        figures = TargetFigures(
            published=row.published,
            awarded=row.awarded,
            completed=row.completed,
            budget=row.budget,
        )
        if row.region == CITY:
            targets.sectors[row.sector] = figures
        else:
            targets.regions.setdefault(row.region, {})[row.sector] = figures
    return targets


def get_targets(session: Session, *, year: int) -> Targets:
    """The year's targets; a year without any answers empty `sectors` and `regions`."""
    return targets_of(target_rows(session, year))


def replace_targets(session: Session, *, staff: User, year: int, data: Targets) -> Targets:
    """Replace every target of the year with `data`, audited with before and after."""
    before = get_targets(session, year=year)
    session.execute(delete(Target).where(Target.year == year))
    rows = [_row(year, CITY, sector, figures) for sector, figures in data.sectors.items()]
    rows += [
        _row(year, region, sector, figures)
        for region, sectors in data.regions.items()
        for sector, figures in sectors.items()
    ]
    session.add_all(rows)
    session.flush()
    after = targets_of(rows)
    audit.record(
        session,
        actor=staff,
        action="target.replace",
        object_type="target",
        object_id=year,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    return after


def _row(year: int, region: str, sector: Sector, figures: TargetFigures) -> Target:
    return Target(
        year=year,
        sector=sector,
        region=region,
        published=figures.published,
        awarded=figures.awarded,
        completed=figures.completed,
        budget=figures.budget,
    )
