"""The city plan's 2026 targets for 揭榜挂帅 (朝阳市科技创新规划, section 二（二）6).

"每年实施省、市级“揭榜挂帅”项目12个，其中农业类项目4个、工业类项目6个、服务业类项目2个":
the `awarded` figures are the plan's. The plan sets no figure for challenges published,
projects completed or budget: those below are demo figures, chosen to be plausible (about two
challenges published per project awarded, most of a year's projects accepted, a few hundred
万元 per sector), not the plan's.
"""

from decimal import Decimal

from sqlalchemy.orm import Session

from app.models import Sector, User
from app.schemas.stats import TargetFigures, Targets
from app.services import stats

PLAN_YEAR = 2026
PLAN_TARGETS = Targets(
    sectors={
        Sector.agriculture: TargetFigures(
            published=8, awarded=4, completed=3, budget=Decimal("400.00")
        ),
        Sector.industry: TargetFigures(
            published=12, awarded=6, completed=5, budget=Decimal("900.00")
        ),
        Sector.services: TargetFigures(
            published=4, awarded=2, completed=2, budget=Decimal("150.00")
        ),
    }
)


def set_plan_targets(session: Session, staff: User) -> None:
    """Set the plan's 2026 targets, through the service the bureau's PUT uses (audited)."""
    stats.replace_targets(session, staff=staff, year=PLAN_YEAR, data=PLAN_TARGETS)
