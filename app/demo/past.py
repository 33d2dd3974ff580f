"""The demo's past: the experts, and the challenges walked from publication to their end."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.demo.clock import today
from app.schemas.bid import BidCreate

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
    start = today()
    return [{"title": title, "due_date": start + timedelta(days=days)} for title, days in steps]


def completed_walk() -> Walk:
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


def failed_walk() -> Walk:
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


def live_walk() -> Walk:
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
