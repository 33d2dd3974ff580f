"""Prepare a migrated database for use: the first bureau account and, optionally, demo data.

Reads FIRST_BUREAU_USERNAME / FIRST_BUREAU_PASSWORD and DEMO from the environment (see
app/config.py; demo data loads only when ENVIRONMENT is development). Idempotent: run it at
every start.
"""

import argparse
import logging

from app import demo
from app.config import DEMO_REFUSED, Environment, exit_for, get_settings
from app.db import get_session_factory
from app.security import password_weakness
from app.services.accounts import ensure_bureau_user
from app.services.match_sync import rebuilding

logger = logging.getLogger("app.bootstrap")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.bootstrap",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--demo",
        choices=["0", "1"],
        help="load demo data into an empty database (default: the DEMO setting)",
    )
    parser.add_argument(
        "--rebuild-index",
        action="store_true",
        help="segment every challenge, capability and result again (after a dictionary change)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(message)s")
    load_demo = settings.demo if args.demo is None else args.demo == "1"
    if load_demo and settings.environment is not Environment.development:
        # The demo accounts' passwords are published in the README.
        exit_for(f"DEMO: {DEMO_REFUSED}")

    with get_session_factory().begin() as session:
        if settings.first_bureau_username and settings.first_bureau_password:
            if password_weakness(
                settings.first_bureau_password, username=settings.first_bureau_username
            ):
                exit_for(
                    "FIRST_BUREAU_PASSWORD: too weak (a common password, or it contains"
                    " FIRST_BUREAU_USERNAME)"
                )
            created = ensure_bureau_user(
                session,
                username=settings.first_bureau_username,
                password=settings.first_bureau_password,
            )
            logger.info(
                "bureau user %s %s",
                settings.first_bureau_username,
                "created" if created else "already exists",
            )
        if load_demo and demo.is_empty(session):
            sign_ins = demo.load(session)
            print("演示数据已载入。演示账号（角色 / 用户名 / 密码）：")
            for role, username, password in sign_ins:
                print(f"  {role:<11} {username:<16} {password}")
        elif load_demo:
            logger.info("database is not empty: demo data not loaded")
    # After that transaction: the rebuild commits batch by batch, in transactions of its own.
    if args.rebuild_index:
        count = rebuilding.rebuild(
            get_session_factory(), progress=lambda n: logger.info("segmented %d documents", n)
        )
        logger.info("match index rebuilt: %d documents", count)
    elif rebuilt := rebuilding.ensure_documents(get_session_factory()):
        logger.info("match documents rebuilt for %d objects", rebuilt)


if __name__ == "__main__":
    main()
