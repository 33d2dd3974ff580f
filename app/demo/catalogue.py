"""The demo's organisations, and what is open today: challenges, capabilities, results."""

from dataclasses import dataclass
from decimal import Decimal

from app.models import (
    OrganizationKind,
)
from app.schemas.offering import CapabilityCreate, ResultCreate
from app.schemas.organization import (
    credit_code_check_char,
)

DEMO_PASSWORD = "demo-pass-2026"
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
