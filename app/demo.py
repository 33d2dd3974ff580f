"""A small, realistic demo data set (fictional organisations), loaded through the services."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import db
from app.config import get_settings
from app.models import (
    Bid,
    Capability,
    Challenge,
    FailureKind,
    Organization,
    OrganizationKind,
    Project,
    ProjectMilestone,
    Result,
    User,
)
from app.schemas.acceptance import AcceptanceVerdict, MeasuredIndicator, Verdict
from app.schemas.bid import BidCreate
from app.schemas.challenge import ChallengeCreate
from app.schemas.funds import DisbursementCreate, ReportCreate
from app.schemas.midterm import MidtermCreate, MidtermOutcome
from app.schemas.offering import CapabilityCreate, ResultCreate
from app.schemas.organization import (
    OrganizationCreate,
    UserCreate,
    credit_code_check_char,
)
from app.schemas.project import AwardBody, ObjectionCreate, ObjectionResolve
from app.schemas.review import ExpertCreate, ReviewCreate
from app.services import (
    acceptance,
    accounts,
    agreement,
    awards,
    bids,
    challenges,
    experts,
    funds,
    midterm,
    milestones,
    objections,
    offerings,
    reviews,
)

DEMO_PASSWORD = "demo-pass-2026"
# The walked projects' steps leave about three weeks after each award for the notice and the
# signatures: a longer notice period (PUBLICITY_DAYS) would overtake them.
MAX_PUBLICITY_DAYS = 10
logger = logging.getLogger("app.demo")
BUREAU_USERNAME = "bureau"


def _code(body: str) -> str:
    return body + credit_code_check_char(body)


@dataclass(frozen=True)
class DemoOrg:
    username: str
    display_name: str
    kind: OrganizationKind
    name: str
    region: str
    credit_code: str | None = None
    verified: bool = True


ORGS = [
    DemoOrg(
        "lingyuan_steel",
        "王磊",
        OrganizationKind.enterprise,
        "朝阳凌源特钢有限公司（示例）",
        "211382",
        _code("91211382MA0T1ABC2"),
    ),
    DemoOrg(
        "pbn_materials",
        "李娜",
        OrganizationKind.enterprise,
        "朝阳晶材半导体材料有限公司（示例）",
        "211302",
        _code("91211302MA0P2DEF3"),
    ),
    DemoOrg(
        "grain_food",
        "赵强",
        OrganizationKind.enterprise,
        "建平杂粮食品有限公司（示例）",
        "211322",
        _code("91211322MA0G3GHJ4"),
    ),
    DemoOrg(
        "new_corp",
        "孙丽",
        OrganizationKind.enterprise,
        "喀左文旅科技有限公司（示例）",
        "211324",
        _code("91211324MA0W4KLM6"),
        verified=False,
    ),
    DemoOrg("liaoxi_univ", "陈教授", OrganizationKind.university, "辽西工业大学（示例）", "211302"),
    DemoOrg("north_agri", "刘教授", OrganizationKind.university, "北方农业大学（示例）", "211303"),
    DemoOrg(
        "materials_inst",
        "周研究员",
        OrganizationKind.institute,
        "朝阳先进材料研究院（示例）",
        "211303",
    ),
]

CHALLENGES = {
    "lingyuan_steel": [
        {
            "title": "汽车球笼用钢 Cf53 高端化研发",
            "description": "我公司生产的 Cf53 球笼用钢在高频淬火后硬度波动大、非金属夹杂物超标，"
            "难以进入主机厂供应链。需要在炼钢、连铸和轧制全流程控制夹杂物与淬透性。",
            "indicators": [
                {"name": "淬火硬度波动", "target": "≤3", "unit": "HRC"},
                {"name": "氧含量", "target": "≤12", "unit": "ppm"},
            ],
            "expected_outcome": "形成稳定批量生产工艺，通过主机厂认证",
            "sector": "industry",
            "tags": ["特种钢", "钢铁冶金", "夹杂物控制"],
            "budget": Decimal("300.00"),
            "region": "211382",
            "contact": "王工 0421-0000001",
        },
    ],
    "pbn_materials": [
        {
            "title": "大尺寸晶体生长用热解氮化硼坩埚的研制",
            "description": "现有热解氮化硼坩埚在 8 英寸以上晶体生长时出现分层与开裂，"
            "纯度不足导致晶体缺陷。需要化学气相沉积工艺优化与大尺寸沉积炉设计。",
            "indicators": [
                {"name": "纯度", "target": "≥99.99", "unit": "%"},
                {"name": "坩埚直径", "target": "≥200", "unit": "mm"},
            ],
            "expected_outcome": "坩埚样品通过下游晶体生长验证并实现小批量生产",
            "sector": "industry",
            "tags": ["热解氮化硼坩埚", "半导体新材料", "化学气相沉积"],
            "budget": Decimal("500.00"),
            "region": "211302",
            "contact": "李工 0421-0000002",
        },
        {
            "title": "光电瞄准吊舱稳定平台控制算法",
            "description": "吊舱在振动环境下视轴抖动大，"
            "需要高精度稳定平台控制算法与光电传感器融合。",
            "indicators": [{"name": "视轴稳定精度", "target": "≤20", "unit": "μrad"}],
            "expected_outcome": "算法在样机上验证达标",
            "sector": "industry",
            "tags": ["光电瞄准吊舱", "电子信息装备"],
            "budget": Decimal("200.00"),
            "region": "211302",
            "contact": "李工 0421-0000002",
        },
    ],
    "grain_food": [
        {
            "title": "杂粮深加工即食产品保质期延长技术",
            "description": "小米、高粱等杂粮即食产品货架期短，易酸败回生，需要加工与包装保鲜技术。",
            "indicators": [{"name": "保质期", "target": "≥12", "unit": "月"}],
            "expected_outcome": "形成两款可量产的杂粮即食产品",
            "sector": "agriculture",
            "tags": ["杂粮深加工", "绿色健康食品"],
            "budget": Decimal("80.00"),
            "region": "211322",
            "contact": "赵经理 0421-0000003",
        },
    ],
}

CAPABILITIES = {
    "liaoxi_univ": [
        CapabilityCreate(
            title="钢铁冶金洁净钢团队",
            description="长期从事洁净钢冶炼、夹杂物控制与连铸凝固组织研究，"
            "承担多项特种钢新产品开发。",
            tags=["钢铁冶金", "特种钢", "夹杂物控制"],
        ),
        CapabilityCreate(
            title="精密运动控制与光电系统实验室",
            description="研究稳定平台、伺服控制和光电传感器融合，服务电子信息装备企业。",
            tags=["控制算法", "光电系统"],
        ),
    ],
    "north_agri": [
        CapabilityCreate(
            title="杂粮加工与食品保鲜团队",
            description="研究杂粮营养品质、挤压膨化、淀粉回生抑制与食品包装保鲜。",
            tags=["杂粮深加工", "食品保鲜"],
        ),
    ],
    "materials_inst": [
        CapabilityCreate(
            title="先进陶瓷与化学气相沉积平台",
            description="具备热解氮化硼、碳化硅涂层的化学气相沉积中试线和表征能力。",
            tags=["化学气相沉积", "热解氮化硼", "先进陶瓷"],
        ),
    ],
}

RESULTS = {
    "materials_inst": [
        ResultCreate(
            title="高纯热解氮化硼制备技术",
            description="沉积温度场与气氛控制方法，"
            "产品纯度达 99.995%，可用于化合物半导体晶体生长坩埚。",
            tags=["热解氮化硼坩埚"],
            maturity="pilot",
            transfer_mode="licence",
            patents=["ZL201900000001.X（示例）"],
        ),
    ],
    "north_agri": [
        ResultCreate(
            title="杂粮即食米粉抗回生工艺",
            description="复合酶处理与低温干燥结合，常温货架期达 12 个月。",
            tags=["杂粮深加工"],
            maturity="industrialised",
            transfer_mode="transfer",
            patents=[],
        ),
    ],
}


EXPERTS = [
    # (username, display name, affiliation's username or None for an independent expert, fields)
    ("expert_zhang", "张振华", None, ["钢铁冶金", "特种钢", "先进陶瓷"]),
    # Affiliated with a university that bids on neither walked challenge: no conflict.
    ("expert_li", "李文博", "north_agri", ["材料加工", "工艺放大", "产业化评估"]),
]


@dataclass(frozen=True)
class Walk:
    """One challenge of the past, walked through the services from publication to its end.

    Days are counted back from today (China time); `bids` are (bidder, budget, scores per
    expert); the first bidder wins.
    """

    owner: str
    challenge: dict[str, Any]
    published: int
    deadline: int
    bids: list[tuple[str, BidCreate, dict[str, dict[str, int]]]]
    awarded: int
    government_funding: Decimal


REVIEW_COMMENTS = {
    "expert_zhang": "技术路线清晰，前期基础扎实，进度安排基本可行。",
    "expert_li": "方案可行，建议细化中试放大环节的风险应对。",
}


def _milestone_plan(*steps: tuple[str, int]) -> list[dict[str, Any]]:
    """A bid's milestones: (title, due in days from today, negative in the past)."""
    today = _today()
    return [{"title": title, "due_date": today + timedelta(days=days)} for title, days in steps]


def _today() -> date:
    return db.utcnow().astimezone(db.CHINA).date()


def _completed_walk() -> Walk:
    return Walk(
        owner="lingyuan_steel",
        challenge={
            "title": "高炉渣余热回收与资源化利用技术",
            "description": "我公司两座高炉每年产生熔融高炉渣约 60 万吨，渣温 1450℃ 以上，"
            "余热基本未回收，水淬渣附加值低。需要干式粒化与余热回收工艺及渣微粉综合利用方案。",
            "indicators": [
                {"name": "余热回收率", "target": "≥60", "unit": "%"},
                {"name": "渣玻璃体含量", "target": "≥92", "unit": "%"},
                {"name": "吨渣节水", "target": "≥0.8", "unit": "吨"},
            ],
            "expected_outcome": "建成一条示范线并稳定运行三个月以上",
            "sector": "industry",
            "tags": ["钢铁冶金", "余热回收", "固废资源化"],
            "budget": Decimal("300.00"),
            "region": "211382",
            "contact": "王工 0421-0000001",
        },
        published=520,
        deadline=470,
        bids=[
            (
                "liaoxi_univ",
                BidCreate(
                    approach="转杯离心干式粒化结合两级移动床换热，渣粒用于生产 S95 级矿渣微粉；"
                    "先做 1 吨/小时中试，再放大到示范线。",
                    team="陈教授团队 11 人，其中教授 3 人、高级工程师 2 人",
                    budget=Decimal("280.00"),
                    duration_months=12,
                    milestones=_milestone_plan(
                        ("完成中试装置设计与热态试验", -350),
                        ("中试线连续运行验证", -230),
                        ("示范线投运并稳定运行三个月", -95),
                    ),
                    indicators=[
                        {"name": "余热回收率", "promised": "≥62"},
                        {"name": "渣玻璃体含量", "promised": "≥93"},
                        {"name": "吨渣节水", "promised": "≥0.9"},
                    ],
                ),
                {
                    "expert_zhang": {
                        "技术方案": 88,
                        "团队与研究基础": 85,
                        "预算合理性": 78,
                        "进度可行性": 80,
                    },
                    "expert_li": {
                        "技术方案": 84,
                        "团队与研究基础": 86,
                        "预算合理性": 80,
                        "进度可行性": 76,
                    },
                },
            ),
            (
                "materials_inst",
                BidCreate(
                    approach="风淬粒化与余热锅炉组合，渣粒制备微晶玻璃板材。",
                    team="周研究员团队 6 人",
                    budget=Decimal("300.00"),
                    duration_months=18,
                    milestones=_milestone_plan(("完成风淬粒化小试", -300)),
                    indicators=[
                        {"name": "余热回收率", "promised": "≥55"},
                        {"name": "渣玻璃体含量", "promised": "≥92"},
                        {"name": "吨渣节水", "promised": "≥0.8"},
                    ],
                ),
                {
                    "expert_zhang": {
                        "技术方案": 72,
                        "团队与研究基础": 70,
                        "预算合理性": 68,
                        "进度可行性": 65,
                    },
                    "expert_li": {
                        "技术方案": 75,
                        "团队与研究基础": 72,
                        "预算合理性": 70,
                        "进度可行性": 70,
                    },
                },
            ),
        ],
        awarded=455,
        government_funding=Decimal("120.00"),
    )


def _failed_walk() -> Walk:
    return Walk(
        owner="pbn_materials",
        challenge={
            "title": "高导热氮化铝陶瓷基板流延成型工艺开发",
            "description": "功率半导体模块需要高导热氮化铝基板，目前依赖进口。"
            "我公司已有氮化硼产线，希望开发氮化铝粉体流延成型与无压烧结工艺。",
            "indicators": [
                {"name": "热导率", "target": "≥170", "unit": "W/(m·K)"},
                {"name": "抗弯强度", "target": "≥400", "unit": "MPa"},
                {"name": "基板厚度偏差", "target": "≤±0.03", "unit": "mm"},
            ],
            "expected_outcome": "基板样品通过功率模块厂商验证",
            "sector": "industry",
            "tags": ["半导体新材料", "氮化铝", "流延成型"],
            "budget": Decimal("400.00"),
            "region": "211302",
            "contact": "李工 0421-0000002",
        },
        published=490,
        deadline=440,
        bids=[
            (
                "materials_inst",
                BidCreate(
                    approach="水基流延体系配合稀土-碱土复合烧结助剂，"
                    "在现有化学气相沉积平台旁建流延与烧结中试线。",
                    team="周研究员团队 9 人，其中高级职称 4 人",
                    budget=Decimal("380.00"),
                    duration_months=12,
                    milestones=_milestone_plan(
                        ("完成浆料配方与流延小试", -320),
                        ("烧结工艺定型，样品热导率达到 150", -200),
                        ("基板样品送功率模块厂商验证", -110),
                    ),
                    indicators=[
                        {"name": "热导率", "promised": "≥175"},
                        {"name": "抗弯强度", "promised": "≥420"},
                        {"name": "基板厚度偏差", "promised": "≤±0.03"},
                    ],
                ),
                {
                    "expert_zhang": {
                        "技术方案": 82,
                        "团队与研究基础": 88,
                        "预算合理性": 75,
                        "进度可行性": 70,
                    },
                    "expert_li": {
                        "技术方案": 80,
                        "团队与研究基础": 84,
                        "预算合理性": 78,
                        "进度可行性": 68,
                    },
                },
            ),
            (
                "liaoxi_univ",
                BidCreate(
                    approach="有机流延体系与热压烧结，先做小尺寸样品验证热导率。",
                    team="陈教授团队 5 人",
                    budget=Decimal("260.00"),
                    duration_months=18,
                    milestones=_milestone_plan(("小尺寸样品热导率验证", -250)),
                    indicators=[
                        {"name": "热导率", "promised": "≥170"},
                        {"name": "抗弯强度", "promised": "≥400"},
                        {"name": "基板厚度偏差", "promised": "≤±0.05"},
                    ],
                ),
                {
                    "expert_zhang": {
                        "技术方案": 70,
                        "团队与研究基础": 66,
                        "预算合理性": 82,
                        "进度可行性": 60,
                    },
                    "expert_li": {
                        "技术方案": 68,
                        "团队与研究基础": 70,
                        "预算合理性": 80,
                        "进度可行性": 62,
                    },
                },
            ),
        ],
        awarded=430,
        government_funding=Decimal("150.00"),
    )


def _live_walk() -> Walk:
    return Walk(
        owner="grain_food",
        challenge={
            "title": "高粱酒糟饲料化高值利用技术",
            "description": "本地酒厂每年产生高粱酒糟约 3 万吨，含水高、易酸败，"
            "目前低价外售。需要酒糟脱水、发酵改性与饲料配方技术。",
            "indicators": [
                {"name": "粗蛋白含量", "target": "≥28", "unit": "%"},
                {"name": "常温储存期", "target": "≥6", "unit": "月"},
            ],
            "expected_outcome": "形成一款可量产的酒糟发酵饲料并取得饲料生产许可",
            "sector": "agriculture",
            "tags": ["杂粮深加工", "农业废弃物利用", "发酵饲料"],
            "budget": Decimal("80.00"),
            "region": "211322",
            "contact": "赵经理 0421-0000003",
        },
        published=150,
        deadline=110,
        bids=[
            (
                "north_agri",
                BidCreate(
                    approach="低温带式干燥后以复合菌株固态发酵，降解单宁并提高蛋白含量。",
                    team="刘教授团队 7 人",
                    budget=Decimal("75.00"),
                    duration_months=8,
                    milestones=_milestone_plan(
                        ("菌株筛选与小试发酵", -40),
                        ("中试发酵与饲喂试验", 20),
                        ("饲料配方定型与生产许可申报", 110),
                    ),
                    indicators=[
                        {"name": "粗蛋白含量", "promised": "≥30"},
                        {"name": "常温储存期", "promised": "≥6"},
                    ],
                ),
                {},
            )
        ],
        awarded=95,
        government_funding=Decimal("30.00"),
    )


def _moment(days_ago: float, hour: int = 10) -> datetime:
    """That many days before today, at `hour` China time (a working hour)."""
    day = _today() - timedelta(days=int(days_ago))
    return datetime.combine(day, time(hour), tzinfo=db.CHINA).astimezone(UTC)


@contextmanager
def _clock(session: Session, moment: datetime) -> Iterator[None]:
    """Replay a step of the past: every service (and column default) reads `app.db.utcnow`.

    The demo walks projects that began more than a year ago through the same services a
    request uses, so their dates, audit events and notifications are the real ones; the clock
    is set for one step and always put back. The step's rows are flushed before it is put back
    (column defaults such as `created_at` are read at the INSERT). It changes nothing else:
    the whole load still runs in the caller's one transaction.
    """
    saved = db.utcnow
    db.utcnow = lambda: moment
    try:
        yield
        session.flush()
    finally:
        db.utcnow = saved


class _Walker:
    """Runs one `Walk` step by step, each at its own day."""

    def __init__(self, session: Session, staff: User, users: dict[str, User]) -> None:
        self.session = session
        self.staff = staff
        self.users = users

    def at(self, days_ago: float, step: Callable[[], object], hour: int = 10) -> None:
        with _clock(self.session, _moment(days_ago, hour)):
            step()

    def publish_and_award(self, walk: Walk, reviewers: list[User]) -> Project:
        owner = self.users[walk.owner]
        session, staff = self.session, self.staff
        deadline = datetime.combine(
            _today() - timedelta(days=walk.deadline), time(17), tzinfo=db.CHINA
        )
        # The schema wants a deadline after the real now; the step's clock checks the rest.
        data = ChallengeCreate.model_validate(
            {**walk.challenge, "deadline": datetime.now(UTC) + timedelta(days=1)}
        ).model_copy(update={"deadline": deadline.astimezone(UTC)})
        found: dict[str, Any] = {}

        def publish() -> None:
            challenge = challenges.create_challenge(session, owner=owner, data=data)
            challenges.submit(session, user=owner, challenge_id=challenge.id)
            found["challenge"] = challenge

        self.at(walk.published + 2, publish, hour=9)
        challenge: Challenge = found["challenge"]
        self.at(
            walk.published,
            lambda: challenges.approve(session, staff=staff, challenge_id=challenge.id),
        )
        for expert in reviewers:
            with _clock(session, _moment(walk.published - 1)):
                experts.assign_reviewer(
                    session, staff=staff, challenge_id=challenge.id, expert_id=expert.id
                )
        placed: list[Bid] = []
        for offset, (bidder, bid_data, _) in enumerate(walk.bids):
            with _clock(session, _moment(walk.deadline + 20 - 3 * offset)):
                bid = bids.create_bid(
                    session, user=self.users[bidder], challenge_id=challenge.id, data=bid_data
                )
            placed.append(bid)
        for bid, (_, _, scores) in zip(placed, walk.bids, strict=True):
            for expert in reviewers:
                if expert.username not in scores:
                    continue
                review = ReviewCreate(
                    scores=scores[expert.username], comment=REVIEW_COMMENTS[expert.username]
                )
                with _clock(session, _moment(walk.deadline - 5, hour=15)):
                    reviews.submit_review(session, user=expert, bid_id=bid.id, data=review)
        winner = placed[0]
        self.at(
            walk.deadline - 8,
            lambda: bids.nominate_bid(session, user=owner, bid_id=winner.id),
        )
        awarded: dict[str, Project] = {}

        def award() -> None:
            _, awarded["project"] = awards.award_bid(
                session,
                staff=staff,
                bid_id=winner.id,
                terms=AwardBody(government_funding=walk.government_funding),
            )

        self.at(walk.awarded, award)
        return awarded["project"]

    def sign(self, project: Project, days_ago: int, *usernames: str) -> None:
        """The three signatures, a day apart, from the first day after the notice ends."""
        ended = (project.publicity_ends_at.astimezone(db.CHINA).date() - _today()).days
        first = min(days_ago, -ended - 1)
        for index, username in enumerate(usernames):
            user = self.users[username]
            with _clock(self.session, _moment(first - index)):
                agreement.sign_project(self.session, user=user, project_id=project.id)

    def milestones(self, project: Project) -> list[ProjectMilestone]:
        return list(self.session.scalars(milestones.milestones_query(project.id)).all())

    def submit(
        self, project: Project, milestone: ProjectMilestone, days_ago: int, text: str
    ) -> None:
        performer = self._performer(project)
        self.at(
            days_ago,
            lambda: milestones.submit_milestone(
                self.session,
                user=performer,
                project_id=project.id,
                milestone_id=milestone.id,
                deliverable=text,
            ),
        )

    def accept(self, project: Project, milestone: ProjectMilestone, days_ago: int) -> None:
        owner = self._owner(project)
        self.at(
            days_ago,
            lambda: milestones.accept_milestone(
                self.session, user=owner, project_id=project.id, milestone_id=milestone.id
            ),
            hour=16,
        )

    def reject(
        self, project: Project, milestone: ProjectMilestone, days_ago: int, reason: str
    ) -> None:
        owner = self._owner(project)
        self.at(
            days_ago,
            lambda: milestones.reject_milestone(
                self.session,
                user=owner,
                project_id=project.id,
                milestone_id=milestone.id,
                reason=reason,
            ),
            hour=16,
        )

    def report(self, project: Project, days_ago: int, summary: str, spent: str) -> None:
        day = _today() - timedelta(days=days_ago)
        period = f"{day.year}年第{'一二三四'[(day.month - 1) // 3]}季度"
        data = ReportCreate(period=period, summary=summary, spent=Decimal(spent))
        performer = self._performer(project)
        self.at(
            days_ago,
            lambda: funds.file_report(
                self.session, user=performer, project_id=project.id, data=data
            ),
        )

    def disburse(
        self,
        project: Project,
        days_ago: int,
        amount: str,
        note: str,
        milestone: ProjectMilestone | None = None,
    ) -> None:
        data = DisbursementCreate(
            amount=Decimal(amount),
            milestone_id=milestone.id if milestone else None,
            note=note,
        )
        self.at(
            days_ago,
            lambda: funds.disburse(self.session, user=self.staff, project_id=project.id, data=data),
            hour=14,
        )

    def midterm_pass(self, project: Project, days_ago: int, comment: str) -> None:
        data = MidtermCreate(outcome=MidtermOutcome.passed, comment=comment)
        self.at(
            days_ago,
            lambda: midterm.record_midterm(
                self.session, user=self.staff, project_id=project.id, data=data
            ),
        )

    def request_acceptance(self, project: Project, days_ago: int) -> None:
        performer = self._performer(project)
        self.at(
            days_ago,
            lambda: acceptance.request_acceptance(
                self.session, user=performer, project_id=project.id
            ),
        )

    def decide(self, project: Project, days_ago: int, verdict: AcceptanceVerdict) -> None:
        self.at(
            days_ago,
            lambda: acceptance.decide_acceptance(
                self.session, staff=self.staff, project_id=project.id, data=verdict
            ),
            hour=15,
        )

    def _performer(self, project: Project) -> User:
        return self._member(project.performer_organization_id)

    def _owner(self, project: Project) -> User:
        return self._member(project.owner_organization_id)

    def _member(self, organization_id: int) -> User:
        return next(u for u in self.users.values() if u.organization_id == organization_id)


def _walk_completed(walker: _Walker, reviewers: list[User]) -> None:
    """高炉渣余热回收: awarded, an objection dismissed, delivered, passed → completed."""
    project = walker.publish_and_award(_completed_walk(), reviewers)
    session, staff = walker.session, walker.staff
    found: dict[str, Any] = {}

    def object_to_it() -> None:
        found["objection"] = objections.file_objection(
            session,
            user=walker.users["materials_inst"],
            project_id=project.id,
            data=ObjectionCreate(
                reason="中标单位申报的示范线业绩与我院此前合作项目重复，请核实。",
                evidence="附我院与凌源特钢 2023 年合作协议首页及验收报告编号（示例）。",
            ),
        )

    # Two days into the notice; at once with a short notice (PUBLICITY_DAYS), none without one.
    filed = min(_moment(453, hour=11), project.publicity_ends_at - timedelta(hours=1))
    if filed > project.created_at:
        with _clock(session, filed):
            object_to_it()
    if found:
        walker.at(
            450,
            lambda: objections.resolve_objection(
                session,
                staff=staff,
                objection_id=found["objection"].id,
                data=ObjectionResolve(
                    outcome="dismissed",
                    reason="经核查，两项工作分属不同工序，中标单位申报的业绩真实，异议不成立。",
                ),
            ),
            hour=15,
        )
    walker.sign(project, 440, "lingyuan_steel", "liaoxi_univ", BUREAU_USERNAME)
    first, second, third = walker.milestones(project)
    walker.disburse(project, 425, "48.00", "首期财政资金（任务书签订后拨付 40%）")
    walker.submit(
        project, first, 356, "中试装置设计图纸与热态试验报告：余热回收率 58%，渣粒玻璃体含量 94%。"
    )
    walker.accept(project, first, 352)
    walker.report(
        project, 340, "完成中试装置热态试验，确定转杯转速与风量匹配参数；开始中试线安装。", "86.50"
    )
    walker.midterm_pass(
        project, 300, "中试装置按计划建成，热态试验数据可信，经费使用规范，同意继续实施。"
    )
    walker.disburse(project, 296, "36.00", "第二期财政资金（中期检查通过后拨付 30%）", first)
    walker.submit(project, second, 236, "中试线连续运行 30 天记录及第三方检测报告。")
    walker.reject(project, second, 232, "运行记录缺少第 3 炉次的换热数据，请补充后重新提交。")
    walker.submit(project, second, 224, "补充第 3 炉次换热数据后的完整运行记录及检测报告。")
    walker.accept(project, second, 221)
    walker.report(
        project, 200, "中试线连续运行验证完成，示范线设备完成招标，预计按期投运。", "175.20"
    )
    walker.submit(
        project, third, 98, "示范线稳定运行 92 天的运行报告、节水计量记录与矿渣微粉检测报告。"
    )
    walker.accept(project, third, 94)
    walker.disburse(project, 90, "24.00", "第三期财政资金（示范线投运后拨付 20%）", third)
    walker.request_acceptance(project, 85)
    walker.decide(
        project,
        60,
        AcceptanceVerdict(
            indicators=[
                MeasuredIndicator(name="余热回收率", measured="63.5", passed=True),
                MeasuredIndicator(name="渣玻璃体含量", measured="95.1", passed=True),
                MeasuredIndicator(name="吨渣节水", measured="0.92", passed=True),
            ],
            verdict=Verdict.pass_,
            comment="专家组现场测试，各项指标均达到任务书要求，同意通过验收。",
        ),
    )


def _walk_failed(walker: _Walker, reviewers: list[User]) -> None:
    """氮化铝基板: delivered in good faith, the thermal conductivity fell short → failed (容错)."""
    project = walker.publish_and_award(_failed_walk(), reviewers)
    walker.sign(project, 416, "pbn_materials", BUREAU_USERNAME, "materials_inst")
    first, second, third = walker.milestones(project)
    walker.disburse(project, 405, "60.00", "首期财政资金（任务书签订后拨付 40%）")
    walker.submit(project, first, 322, "水基流延浆料配方及小试流延膜片检测报告。")
    walker.accept(project, first, 318)
    walker.report(project, 300, "浆料配方定型，流延膜片厚度均匀；烧结助剂正在筛选。", "120.00")
    walker.midterm_pass(project, 280, "工作量饱满，进度略有滞后，请加快烧结工艺攻关。")
    walker.disburse(project, 276, "45.00", "第二期财政资金（中期检查通过后拨付 30%）", first)
    walker.submit(project, second, 205, "烧结工艺报告：样品热导率 152 W/(m·K)，抗弯强度 436 MPa。")
    walker.accept(project, second, 200)
    walker.report(
        project,
        160,
        "热导率提升遇到瓶颈：粉体氧含量偏高，已更换两家粉体供应商并调整烧结制度。",
        "310.00",
    )
    walker.submit(project, third, 112, "基板样品及功率模块厂商的验证报告（热导率未达指标）。")
    walker.accept(project, third, 108)
    walker.request_acceptance(project, 100)
    walker.decide(
        project,
        75,
        AcceptanceVerdict(
            indicators=[
                MeasuredIndicator(name="热导率", measured="158", passed=False),
                MeasuredIndicator(name="抗弯强度", measured="431", passed=True),
                MeasuredIndicator(name="基板厚度偏差", measured="±0.025", passed=True),
            ],
            verdict=Verdict.fail,
            failure_kind=FailureKind.tolerated,
            comment="热导率未达到任务书指标。承担单位按任务书完成了全部研究工作，经费使用规范，"
            "过程记录完整；未达标源于国产氮化铝粉体氧含量偏高这一客观技术难题，"
            "属于勤勉尽责前提下的探索性失败，按容错机制处理，不追究责任。",
        ),
    )


def _walk_live(walker: _Walker) -> None:
    """高粱酒糟饲料化: signed three months ago; the second milestone is due in three weeks."""
    project = walker.publish_and_award(_live_walk(), [])
    walker.sign(project, 85, "grain_food", "north_agri", BUREAU_USERNAME)
    first = walker.milestones(project)[0]
    walker.disburse(project, 75, "12.00", "首期财政资金（任务书签订后拨付 40%）")
    walker.submit(project, first, 42, "菌株筛选报告与小试发酵记录：粗蛋白含量 29.4%。")
    walker.accept(project, first, 38)
    walker.report(project, 20, "中试发酵罐已安装调试，饲喂试验的试验场已落实。", "31.60")


def is_empty(session: Session) -> bool:
    """No organisation other than the bureau's yet."""
    count = session.scalar(
        select(func.count(Organization.id)).where(Organization.kind != OrganizationKind.bureau)
    )
    return not count


def load(session: Session) -> list[tuple[str, str, str]]:
    """Load the demo data; answers the demo sign-ins as (role, username, password).

    The organisations joined about a year and a half ago; two projects of the past are walked
    to their end (`completed`, and `failed` tolerated), one runs now, and three challenges are
    open for bids today.
    """
    with _clock(session, _moment(560)):
        staff, users = _organisations(session)
    walker = _Walker(session, staff, users)
    reviewers: list[User] = []
    for username, display_name, affiliation, fields in EXPERTS:
        data = ExpertCreate(
            username=username,
            password=DEMO_PASSWORD,
            display_name=display_name,
            organization_id=users[affiliation].organization_id if affiliation else None,
            fields=fields,
        )
        with _clock(session, _moment(530)):
            reviewers.append(experts.create_expert(session, staff=staff, data=data).user)
    if get_settings().publicity_days <= MAX_PUBLICITY_DAYS:
        _walk_completed(walker, reviewers)
        _walk_failed(walker, reviewers)
        _walk_live(walker)
    else:
        logger.warning(
            "PUBLICITY_DAYS is over %d: the demo's projects are not walked", MAX_PUBLICITY_DAYS
        )
    _open_challenges(session, staff, users)
    session.flush()
    return (
        [("bureau", BUREAU_USERNAME, DEMO_PASSWORD)]
        + [(users[o.username].role.value, o.username, DEMO_PASSWORD) for o in ORGS]
        + [(expert.role.value, expert.username, DEMO_PASSWORD) for expert in reviewers]
    )


def _organisations(session: Session) -> tuple[User, dict[str, User]]:
    """The bureau's user and the demo organisations' users, verified but one."""
    staff = accounts.ensure_bureau_user(session, username=BUREAU_USERNAME, password=DEMO_PASSWORD)
    if staff is None:
        staff = session.scalars(select(User).where(User.username == BUREAU_USERNAME)).one()
    users: dict[str, User] = {BUREAU_USERNAME: staff}
    for org in ORGS:
        created, user = accounts.register(
            session,
            organization=OrganizationCreate(
                kind=org.kind, name=org.name, credit_code=org.credit_code, region=org.region
            ),
            user=UserCreate(
                username=org.username, password=DEMO_PASSWORD, display_name=org.display_name
            ),
        )
        if org.verified:
            accounts.verify_organization(session, staff=staff, organization_id=created.id)
        users[org.username] = user
    return staff, users


def _open_challenges(session: Session, staff: User, users: dict[str, User]) -> None:
    """Today's open challenges, capabilities and results, and a bid on one of them."""
    deadline = db.utcnow() + timedelta(days=60)
    published = []
    for username, items in CHALLENGES.items():
        for item in items:
            data = ChallengeCreate.model_validate({**item, "deadline": deadline})
            challenge = challenges.create_challenge(session, owner=users[username], data=data)
            challenges.submit(session, user=users[username], challenge_id=challenge.id)
            challenges.approve(session, staff=staff, challenge_id=challenge.id)
            published.append(challenge)
    for username, capabilities in CAPABILITIES.items():
        for capability in capabilities:
            offerings.create_offering(session, Capability, owner=users[username], data=capability)
    for username, results in RESULTS.items():
        for result in results:
            offerings.create_offering(session, Result, owner=users[username], data=result)
    bids.create_bid(
        session,
        user=users["materials_inst"],
        challenge_id=published[1].id,
        data=BidCreate(
            approach="基于本院化学气相沉积中试线，优化温度场与气氛，分阶段放大到 200 mm 坩埚。",
            team="周研究员团队 9 人，其中高级职称 4 人",
            budget=Decimal("450.00"),
            duration_months=18,
            milestones=[
                {
                    "title": "完成 150 mm 样品",
                    "due_date": (db.utcnow() + timedelta(days=200)).date(),
                }
            ],
            indicators=[
                {"name": "纯度", "promised": "≥99.995"},
                {"name": "坩埚直径", "promised": "≥210"},
            ],
        ),
    )
