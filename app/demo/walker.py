"""Walks the demo's projects of the past through the services, one dated step at a time."""

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app import db
from app.demo.catalogue import BUREAU_USERNAME
from app.demo.clock import at_day, clock, today
from app.demo.past import REVIEW_COMMENTS, Walk, completed_walk, failed_walk, live_walk
from app.models import (
    Bid,
    Challenge,
    FailureKind,
    Project,
    ProjectMilestone,
    User,
)
from app.schemas.acceptance import AcceptanceVerdict, MeasuredIndicator, Verdict
from app.schemas.challenge import ChallengeCreate
from app.schemas.funds import DisbursementCreate, ReportCreate
from app.schemas.midterm import MidtermCreate, MidtermOutcome
from app.schemas.project import AwardBody, ObjectionCreate, ObjectionResolve
from app.schemas.review import ReviewCreate
from app.services import (
    acceptance,
    agreement,
    awards,
    bids,
    challenges,
    experts,
    funds,
    midterm,
    milestones,
    objections,
    reviews,
)


class Walker:
    """Runs one `Walk` step by step, each at its own day."""

    def __init__(self, session: Session, staff: User, users: dict[str, User]) -> None:
        self.session = session
        self.staff = staff
        self.users = users

    def at(self, days_ago: float, step: Callable[[], object], hour: int = 10) -> None:
        with clock(self.session, at_day(days_ago, hour)):
            step()

    def publish_and_award(self, walk: Walk, reviewers: list[User]) -> Project:
        owner = self.users[walk.owner]
        session, staff = self.session, self.staff
        deadline = datetime.combine(
            today() - timedelta(days=walk.deadline), time(17), tzinfo=db.CHINA
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
            with clock(session, at_day(walk.published - 1)):
                experts.assign_reviewer(
                    session, staff=staff, challenge_id=challenge.id, expert_id=expert.id
                )
        placed: list[Bid] = []
        for offset, (bidder, bid_data, _) in enumerate(walk.bids):
            with clock(session, at_day(walk.deadline + 20 - 3 * offset)):
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
                with clock(session, at_day(walk.deadline - 5, hour=15)):
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
        ended = (project.publicity_ends_at.astimezone(db.CHINA).date() - today()).days
        first = min(days_ago, -ended - 1)
        for index, username in enumerate(usernames):
            user = self.users[username]
            with clock(self.session, at_day(first - index)):
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
        day = today() - timedelta(days=days_ago)
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


def walk_completed(walker: Walker, reviewers: list[User]) -> None:
    """高炉渣余热回收: awarded, an objection dismissed, delivered, passed → completed."""
    project = walker.publish_and_award(completed_walk(), reviewers)
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
    filed = min(at_day(453, hour=11), project.publicity_ends_at - timedelta(hours=1))
    if filed > project.created_at:
        with clock(session, filed):
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


def walk_failed(walker: Walker, reviewers: list[User]) -> None:
    """氮化铝基板: delivered in good faith, the thermal conductivity fell short → failed (容错)."""
    project = walker.publish_and_award(failed_walk(), reviewers)
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


def walk_live(walker: Walker) -> None:
    """高粱酒糟饲料化: signed three months ago; the second milestone is due in three weeks."""
    project = walker.publish_and_award(live_walk(), [])
    walker.sign(project, 85, "grain_food", "north_agri", BUREAU_USERNAME)
    first = walker.milestones(project)[0]
    walker.disburse(project, 75, "12.00", "首期财政资金（任务书签订后拨付 40%）")
    walker.submit(project, first, 42, "菌株筛选报告与小试发酵记录：粗蛋白含量 29.4%。")
    walker.accept(project, first, 38)
    walker.report(project, 20, "中试发酵罐已安装调试，饲喂试验的试验场已落实。", "31.60")
