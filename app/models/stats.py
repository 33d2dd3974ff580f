from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import Timestamps, enum_column
from app.models.challenge import Sector


class Target(Timestamps, Base):
    """The bureau's yearly target for a sector: the whole city (region "") or one county.

    The city plan sets 12 揭榜挂帅 projects a year: 4 agriculture, 6 industry, 2 services.
    """

    __tablename__ = "target"
    __table_args__ = (
        Index("uq_target_year_sector_region", "year", "sector", "region", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    sector: Mapped[Sector] = mapped_column(enum_column(Sector))
    region: Mapped[str] = mapped_column(String(6), default="")  # "" for the whole city
    published: Mapped[int] = mapped_column(default=0)  # challenges published
    awarded: Mapped[int] = mapped_column(default=0)  # projects awarded
    completed: Mapped[int] = mapped_column(default=0)  # projects accepted (completed)
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))  # 万元
