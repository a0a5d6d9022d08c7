"""When the 公示 window ends, the job that ends it also withdraws the 公示 announcement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.announcements.models import Announcement, AnnouncementStatus
from backend.announcements.operations import withdraw
from backend.extensions import db
from backend.hardship import review
from backend.hardship.models import HardshipApplication, Status
from backend.members.models import Group
from tests.backend.hardship.helpers import Cast


def _notice(app, application_id: int) -> Announcement:
    with app.app_context():
        application = db.session.get(HardshipApplication, application_id)
        announcement = db.session.get(Announcement, application.publicity_announcement_id)
        db.session.expunge(announcement)
        return announcement


def test_the_end_of_the_window_withdraws_the_announcement(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.publicized)
    assert _notice(app, application_id).status == AnnouncementStatus.published
    cast.run(lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=1)))  # still open
    assert _notice(app, application_id).status == AnnouncementStatus.published
    ended = cast.run(lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=6)))
    assert ended == [application_id]
    notice = _notice(app, application_id)
    assert notice.status == AnnouncementStatus.withdrawn and notice.withdrawn_at is not None
    with app.app_context():
        application = db.session.get(HardshipApplication, application_id)
        assert application.status == Status.publicized and application.publicity_ended_at is not None
        assert application.events[-1].comment.endswith("公示已撤下")


def test_an_announcement_already_taken_down_does_not_stop_the_window_ending(app, union):
    cast = Cast(app, union)
    application_id = cast.to(Status.publicized)

    def take_down() -> None:
        application = db.session.get(HardshipApplication, application_id)
        announcement = db.session.get(Announcement, application.publicity_announcement_id)
        withdraw(announcement, staff=announcement.author)

    cast.run(take_down)
    assert cast.run(lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=6))) == [
        application_id
    ]
    with app.app_context():
        assert db.session.get(HardshipApplication, application_id).events[-1].comment == "公示期满，异议 0 条"


def test_a_poster_who_may_no_longer_withdraw_it_does_not_stop_the_window_ending(app, union):
    """The staff member who posted the 公示 has moved to another branch: the announcement cannot be
    withdrawn in their name. The window still ends (logged, left for staff to take down)."""
    cast = Cast(app, union)
    application_id = cast.to(Status.publicized)

    def move_the_poster() -> None:
        application = db.session.get(HardshipApplication, application_id)
        author = db.session.get(Announcement, application.publicity_announcement_id).author
        author.scope = db.session.get(Group, union.branch_b)

    cast.run(move_the_poster)
    ended = cast.run(lambda: review.end_publicity_due(datetime.now(UTC) + timedelta(days=6)))
    assert ended == [application_id]
    assert _notice(app, application_id).status == AnnouncementStatus.published
    with app.app_context():
        application = db.session.get(HardshipApplication, application_id)
        assert application.publicity_ended_at is not None
        assert application.events[-1].comment == "公示期满，异议 0 条"
