"""Projects: the awarded work, readable by its two parties, the bureau and its experts.

Its experts are those assigned to review its challenge and not recused: they read the
project and what it is tracked by (milestones, reports, funds) but act on none of it.
"""

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.models import AssignmentStatus, Project, ProjectStatus, ReviewAssignment, Role, User
from app.services.access import is_bureau
from app.services.project_flow import store_publicity_end


def projects_query(viewer: User, *, status: ProjectStatus | None = None) -> Select[Project]:
    """The projects the viewer's organisation is party to (all for the bureau; an expert's:
    those of the challenges they review).

    Each project comes with its milestones and signatures: one query each for a whole page.
    """
    stmt = select(Project).options(
        selectinload(Project.milestones), selectinload(Project.signatures)
    )
    if viewer.role is Role.expert:
        reviewed = select(ReviewAssignment.challenge_id).where(
            ReviewAssignment.expert_id == viewer.id,
            ReviewAssignment.status == AssignmentStatus.active,
        )
        stmt = stmt.where(Project.challenge_id.in_(reviewed))
    elif not is_bureau(viewer):
        stmt = stmt.where(
            or_(
                Project.owner_organization_id == viewer.organization_id,
                Project.performer_organization_id == viewer.organization_id,
            )
        )
    if status is not None:
        stmt = stmt.where(Project.current_status_is(status))
    return stmt.order_by(Project.id.desc())


def get_project(session: Session, viewer: User, project_id: int) -> Project:
    """One project the viewer may read, with what its answer shows, else 404. Writes nothing.

    Loaded afresh (populate_existing), so it also answers a write with what the write stored.
    """
    stmt = (
        projects_query(viewer)
        .where(Project.id == project_id)
        .execution_options(populate_existing=True)
    )
    project = session.scalar(stmt)
    if project is None:
        raise NotFound("项目不存在", code="project_not_found")
    return project


def lock_project(session: Session, viewer: User, project_id: int) -> Project:
    """A project the viewer may read, locked for a write, with an ended notice stored."""
    project = get_project(session, viewer, project_id)
    session.refresh(project, with_for_update=True)
    store_publicity_end(session, project)
    return project
