"""Who may reach which object: every route that takes an id, for every kind of caller.

Callers: the member the object belongs to (or whose group it is for), another member, the chair of the
branch that holds the object, the chair of another branch, and nobody. A route added without a row here fails
`test_every_route_with_an_id_is_in_the_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from backend.db import unit_of_work
from backend.extensions import db
from backend.members.models import JoinRequest
from backend.staff.models import Role, Staff
from tests.factories import api_login, auth, bound_member, make_staff, make_union, staff_login

MEMBER, OTHER, STAFF_IN, STAFF_OUT, ANON = (
    "member",
    "other_member",
    "staff_in_scope",
    "staff_out_of_scope",
    "anon",
)
CALLERS = (MEMBER, OTHER, STAFF_IN, STAFF_OUT, ANON)

ALLOWED = "allowed"  # any answer but 401/403/404/5xx: the caller got through to the object
LOGIN = "login"  # the admin sends the caller to its login page


@dataclass
class World:
    ids: dict[str, int]
    tokens: dict[str, str]
    usernames: dict[str, str]


def _build_world(app: Any, client: Any, emu: Any) -> World:
    union = make_union(app)
    member_id, member_token = bound_member(app, client, emu, union.group_a)
    _, other_token = bound_member(app, client, emu, union.group_b)
    applicant_token = api_login(client, emu, "wx-applicant")
    client.post(
        "/api/v1/me/binding",
        json={"name": "申请人", "employee_no": "NEW1", "group_id": union.group_a},
        headers=auth(applicant_token),
    )
    chair_a = make_staff(app, Role.chair, union.branch_a, username="chair_a")
    make_staff(app, Role.chair, union.branch_b, username="chair_b")
    admin_id = make_staff(app, Role.admin, union.root, username="root_admin")
    with app.app_context():
        join_request_id = db.session.scalar(sa.select(JoinRequest.id))
        ids = {
            "member": member_id,
            "group": union.group_a,
            "join_request": join_request_id,
            "staff": chair_a,
        }
        ids.update(_domain_objects(app, member_id, union.group_a, admin_id))
        ids["roster_import"] = _roster_import(chair_a)
        ids.update(_hardship_objects(member_id, union.group_a))
        ids.update(_care_objects(member_id, union.group_a, admin_id))
    return World(
        ids=ids,
        tokens={MEMBER: member_token, OTHER: other_token},
        # Staff accounts are an admin's business: "in scope" there is the admin of the whole union.
        usernames={STAFF_IN: "chair_a", STAFF_OUT: "chair_b", "admin": "root_admin"},
    )


def _domain_objects(app: Any, member_id: int, group_id: int, admin_id: int) -> dict[str, int]:
    """An announcement for group A only, with a file attached, published; the member's message about it."""
    from io import BytesIO

    from backend.announcements.attachments import add_attachments
    from backend.announcements.models import AnnouncementCategory
    from backend.announcements.operations import create_announcement, publish
    from backend.members.models import Group
    from backend.notifications.models import Notification
    from backend.uploads.storage import staged_uploads
    from tests.factories import PDF

    with staged_uploads([(BytesIO(PDF), "附件.pdf")]) as files, unit_of_work():
        admin = db.session.get(Staff, admin_id)
        announcement = create_announcement(
            staff=admin,
            title="甲组通知",
            body_html="<p>仅甲组</p>",
            category=AnnouncementCategory.notice,
            groups=[db.session.get(Group, group_id)],
            whole_union=False,
            push=False,
        )
        [upload] = add_attachments(announcement, files, staff=admin)
        publish(announcement, staff=admin)
        announcement_id, upload_id = announcement.id, upload.id
    message_id = db.session.scalar(sa.select(Notification.id).where(Notification.member_id == member_id))
    return {
        "announcement": announcement_id,
        "message": message_id,
        "upload": upload_id,
        **_activity_objects(member_id, group_id, admin_id),
    }


def _activity_objects(member_id: int, group_id: int, admin_id: int) -> dict[str, int]:
    """An activity for group A only, published, and the member's registration for it."""
    from datetime import timedelta

    from backend.activities import operations as activity_operations
    from backend.activities.signup import register
    from backend.db import utcnow
    from backend.members.models import Member

    now = utcnow()
    with unit_of_work():
        admin = db.session.get(Staff, admin_id)
        draft = activity_operations.ActivityDraft(
            title="甲组活动", category="other", description_html="", location="活动室",
            starts_at=now + timedelta(minutes=30), ends_at=now + timedelta(hours=2),
            registration_opens_at=now - timedelta(hours=1),
            registration_closes_at=now + timedelta(minutes=20),
            capacity=10, group_ids=[group_id],
        )  # fmt: skip
        activity = activity_operations.save_activity(None, draft, staff=admin)
        activity_operations.publish(activity, staff=admin)
        registration, _ = register(activity.id, db.session.get(Member, member_id), answers={})
        return {"activity": activity.id, "registration": registration.id}


def _hardship_objects(member_id: int, group_id: int) -> dict[str, int]:
    """The member's submitted hardship application (group A) with their own upload, and their file."""
    from datetime import date
    from io import BytesIO

    from backend.hardship.applicant import create_application, submit_application
    from backend.hardship.models import FileStatus, HardshipFile, Tier
    from backend.members.models import Member
    from backend.uploads.operations import store_upload
    from backend.uploads.storage import staged_uploads
    from tests.backend.hardship.helpers import FIELDS
    from tests.factories import png_bytes

    with staged_uploads([(BytesIO(png_bytes()), "病历.png")]) as files, unit_of_work():
        member = db.session.get(Member, member_id)
        upload = store_upload(files[0], member=member)
        application = create_application(member, {**FIELDS, "attachment_ids": [upload.id]})
        submit_application(application.id, member)
        file = HardshipFile(
            member_id=member_id,
            group_id=group_id,
            tier=Tier.deep,
            status=FileStatus.active,
            opened_on=date(2026, 1, 1),
            review_due_on=date(2027, 1, 1),
        )
        db.session.add(file)
        db.session.flush()
        return {"hardship": application.id, "hardship_upload": upload.id, "hardship_file": file.id}


def _care_objects(member_id: int, group_id: int, admin_id: int) -> dict[str, int]:
    """The member's care request and a visit to them (group A), and a campaign for group A."""
    from datetime import date
    from io import BytesIO

    from backend.care.campaigns import create_campaign
    from backend.care.models import CareCategory, CareRequest, RequestStatus
    from backend.care.visits import VisitDraft, record_visit
    from backend.members.models import Group, Member
    from backend.uploads.operations import store_upload
    from backend.uploads.storage import staged_uploads
    from tests.factories import PDF

    files = [(BytesIO(PDF), "证明.pdf"), (BytesIO(PDF), "走访.pdf")]
    with staged_uploads(files) as (proof, photo), unit_of_work():
        admin, member = db.session.get(Staff, admin_id), db.session.get(Member, member_id)
        request = CareRequest(
            member=member,
            category=CareCategory.hospitalization,
            description="住院",
            occurred_on=date(2026, 5, 1),
            status=RequestStatus.submitted,
        )
        db.session.add(request)
        request.attachments = [store_upload(proof, member=member, attach=True)]
        draft = VisitDraft(member, CareCategory.birthday, date(2026, 6, 1), "李华", "蛋糕", 20000)
        visit = record_visit(draft, staff=admin, override_reason="测试", photos=[photo])
        campaign = create_campaign(
            staff=admin,
            name="春节慰问",
            festival="春节",
            visit_on=date(2026, 2, 1),
            gift="米面油",
            amount_fen=50000,
            groups=[db.session.get(Group, group_id)],
        )
        db.session.flush()
        return {
            "care_request": request.id,
            "care_visit": visit.id,
            "care_campaign": campaign.id,
            "care_file": request.attachments[0].id,
            "care_photo": visit.photos[0].id,
        }


def _roster_import(staff_id: int) -> int:
    """A finished roster import that chair_a started: only they (and the admin) follow it."""
    from backend.db import utcnow
    from backend.members.roster.models import ImportStatus, RosterImport

    with unit_of_work():
        job = RosterImport(
            staff_id=staff_id, filename="名册.csv", status=ImportStatus.done, finished_at=utcnow()
        )
        db.session.add(job)
        db.session.flush()
        return job.id


# route → (method, url template, {caller: expected}); staff rows use the admin's cookie session.
API_MEMBER_ONLY = {MEMBER: ALLOWED, OTHER: 404, STAFF_IN: 401, STAFF_OUT: 401, ANON: 401}
ADMIN_SCOPED = {MEMBER: LOGIN, OTHER: LOGIN, STAFF_IN: ALLOWED, STAFF_OUT: 404, ANON: LOGIN}
IMPORT_STARTER = {**ADMIN_SCOPED, "admin": ALLOWED}

MATRIX: dict[str, tuple[str, str, dict[str, Any]]] = {
    "messages.ReadMessage": ("POST", "/api/v1/me/messages/{message}/read", API_MEMBER_ONLY),
    "announcements.AnnouncementDetail": ("GET", "/api/v1/announcements/{announcement}", API_MEMBER_ONLY),
    # The file is the group A announcement's attachment: its audience reads it, nobody else.
    "uploads.UploadFile": ("GET", "/api/v1/uploads/{upload}", API_MEMBER_ONLY),
    # The activity is for group A: the member of group B gets 404 for it, whatever the method.
    "activities.ActivityDetail": ("GET", "/api/v1/activities/{activity}", API_MEMBER_ONLY),
    "activities.ActivityRegistration": (
        "PATCH",
        "/api/v1/activities/{activity}/registration",
        API_MEMBER_ONLY,
    ),
    "activities.ActivityCheckin": ("POST", "/api/v1/activities/{activity}/checkin", API_MEMBER_ONLY),
    "admin.member_detail": ("GET", "/admin/members/{member}", ADMIN_SCOPED),
    "admin.member_edit": ("GET", "/admin/members/{member}/edit", ADMIN_SCOPED),
    "admin.member_phone": ("POST", "/admin/members/{member}/phone", ADMIN_SCOPED),
    "admin.member_change_group": ("GET", "/admin/members/{member}/group", ADMIN_SCOPED),
    "admin.member_status": ("POST", "/admin/members/{member}/status/left", ADMIN_SCOPED),
    "admin.member_binding_confirm": ("POST", "/admin/members/{member}/binding/confirm", ADMIN_SCOPED),
    "admin.group_new": ("GET", "/admin/groups/{group}/new", ADMIN_SCOPED),
    "admin.group_rename": ("GET", "/admin/groups/{group}/rename", ADMIN_SCOPED),
    "admin.group_delete": ("POST", "/admin/groups/{group}/delete", ADMIN_SCOPED),
    "admin.join_request_review": ("GET", "/admin/join-requests/{join_request}", ADMIN_SCOPED),
    "admin.join_request_approve": ("POST", "/admin/join-requests/{join_request}/approve", ADMIN_SCOPED),
    "admin.join_request_reject": ("POST", "/admin/join-requests/{join_request}/reject", ADMIN_SCOPED),
    "admin.announcement_detail": ("GET", "/admin/announcements/{announcement}", ADMIN_SCOPED),
    "admin.announcement_edit": ("GET", "/admin/announcements/{announcement}/edit", ADMIN_SCOPED),
    "admin.announcement_figures": ("GET", "/admin/announcements/{announcement}/figures", ADMIN_SCOPED),
    "admin.announcement_publish": ("POST", "/admin/announcements/{announcement}/publish", ADMIN_SCOPED),
    "admin.announcement_remind": ("POST", "/admin/announcements/{announcement}/remind", ADMIN_SCOPED),
    "admin.announcement_unschedule": ("POST", "/admin/announcements/{announcement}/unschedule", ADMIN_SCOPED),
    "admin.announcement_withdraw": ("POST", "/admin/announcements/{announcement}/withdraw", ADMIN_SCOPED),
    "admin.announcement_delete": ("POST", "/admin/announcements/{announcement}/delete", ADMIN_SCOPED),
    "admin.announcement_attachment": (
        "GET",
        "/admin/announcements/{announcement}/attachments/{upload}",
        ADMIN_SCOPED,
    ),
    "admin.announcement_attachment_remove": (
        "POST",
        "/admin/announcements/{announcement}/attachments/{upload}/remove",
        ADMIN_SCOPED,
    ),
    # The activity is for group A: chair_a manages it, chair_b gets 404 on every page and button.
    **{
        f"admin.activity_{name}": (method, "/admin/activities/{activity}" + tail, ADMIN_SCOPED)
        for name, method, tail in (
            ("detail", "GET", ""),
            ("edit", "GET", "/edit"),
            ("publish", "POST", "/publish"),
            ("cancel", "POST", "/cancel"),
            ("copy", "POST", "/copy"),
            ("poster", "GET", "/poster"),
            ("poster_image", "GET", "/poster.png"),
            ("figures_page", "GET", "/figures"),
            ("registrations", "GET", "/registrations"),
            ("registration_add", "POST", "/registrations/add"),
            ("registration_remove", "POST", "/registrations/{registration}/remove"),
            ("registration_checkin", "POST", "/registrations/{registration}/checkin"),
            ("no_shows", "POST", "/no-shows"),
            ("sheet_xlsx", "GET", "/sheet.xlsx"),
            ("sheet", "GET", "/sheet"),
        )
    },
    "hardship.ApplicationDetail": ("GET", "/api/v1/hardship/applications/{hardship}", API_MEMBER_ONLY),
    "hardship.Submit": ("POST", "/api/v1/hardship/applications/{hardship}/submit", API_MEMBER_ONLY),
    "hardship.Withdraw": ("POST", "/api/v1/hardship/applications/{hardship}/withdraw", API_MEMBER_ONLY),
    "admin.hardship_application": ("GET", "/admin/hardship/{hardship}", ADMIN_SCOPED),
    "admin.hardship_attachment": (
        "GET",
        "/admin/hardship/{hardship}/attachments/{hardship_upload}",
        ADMIN_SCOPED,
    ),
    "admin.hardship_act": ("POST", "/admin/hardship/{hardship}/first_approve", ADMIN_SCOPED),
    "admin.hardship_file_review": ("POST", "/admin/hardship/files/{hardship_file}/review", ADMIN_SCOPED),
    "admin.hardship_file": ("GET", "/admin/hardship/files/{hardship_file}", ADMIN_SCOPED),
    "care.RequestDetail": ("GET", "/api/v1/care/requests/{care_request}", API_MEMBER_ONLY),
    "care.Receipt": ("POST", "/api/v1/care/visits/{care_visit}/receipt", API_MEMBER_ONLY),
    "care.Feedback": ("POST", "/api/v1/care/visits/{care_visit}/feedback", API_MEMBER_ONLY),
    "admin.care_request": ("GET", "/admin/care/requests/{care_request}", ADMIN_SCOPED),
    "admin.care_request_schedule": ("POST", "/admin/care/requests/{care_request}/schedule", ADMIN_SCOPED),
    "admin.care_request_close": ("POST", "/admin/care/requests/{care_request}/close", ADMIN_SCOPED),
    "admin.care_request_release": ("POST", "/admin/care/requests/{care_request}/release", ADMIN_SCOPED),
    "admin.care_visit": ("GET", "/admin/care/visits/{care_visit}", ADMIN_SCOPED),
    "admin.care_request_file": (
        "GET",
        "/admin/care/requests/{care_request}/files/{care_file}",
        ADMIN_SCOPED,
    ),
    "admin.care_visit_photo": ("GET", "/admin/care/visits/{care_visit}/photos/{care_photo}", ADMIN_SCOPED),
    "admin.care_campaign": ("GET", "/admin/care/campaigns/{care_campaign}", ADMIN_SCOPED),
    "admin.care_campaign_run": ("POST", "/admin/care/campaigns/{care_campaign}/run", ADMIN_SCOPED),
    "admin.care_campaign_done": ("POST", "/admin/care/campaigns/{care_campaign}/done", ADMIN_SCOPED),
    # A roster import is followed by whoever started it (chair_a here) and the admin, nobody else.
    "admin.roster_import_progress": ("GET", "/admin/roster/imports/{roster_import}", IMPORT_STARTER),
    "admin.roster_import_status": ("GET", "/admin/roster/imports/{roster_import}/status", IMPORT_STARTER),
    # Branch chairs never manage staff accounts, only the admin: a role without the permission gets 403
    # before anything is loaded (so it reveals nothing about the object).
    "admin.staff_edit": (
        "GET",
        "/admin/staff/{staff}/edit",
        {MEMBER: LOGIN, OTHER: LOGIN, STAFF_IN: 403, STAFF_OUT: 403, ANON: LOGIN, "admin": ALLOWED},
    ),
    "admin.staff_password": (
        "GET",
        "/admin/staff/{staff}/password",
        {MEMBER: LOGIN, OTHER: LOGIN, STAFF_IN: 403, STAFF_OUT: 403, ANON: LOGIN, "admin": ALLOWED},
    ),
}
NOT_OBJECT_ROUTES = {"admin.static", "swagger_ui_asset", "admin.roster_template"}


def test_every_route_with_an_id_is_in_the_matrix(app):
    with_ids = {rule.endpoint for rule in app.url_map.iter_rules() if "<" in rule.rule}
    assert with_ids - NOT_OBJECT_ROUTES == set(MATRIX), (
        "add the new route to MATRIX with its expected answers"
    )


CASES = [(endpoint, caller) for endpoint, (_, _, expected) in MATRIX.items() for caller in expected]


@pytest.mark.parametrize(("endpoint", "caller"), CASES, ids=[f"{e}-{c}" for e, c in CASES])
def test_access(app, client, emu, endpoint, caller):
    world = _build_world(app, client, emu)
    method, template, expected = MATRIX[endpoint]
    url = template.format(**world.ids)
    headers: dict[str, str] = {}
    if caller in (MEMBER, OTHER):
        headers = auth(world.tokens[caller])
    elif caller in world.usernames:
        assert staff_login(client, world.usernames[caller]).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; here only the object check answers
    try:
        response = client.open(
            url,
            method=method,
            headers=headers,
            data={"comment": "核对", "name": "改名", "group_id": world.ids["group"]},
        )
        response.close()  # file downloads hold their file open until then; the status is all we need
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    want = expected[caller]
    if want == ALLOWED:
        assert response.status_code not in (401, 403, 404) and response.status_code < 500, (
            response.status_code
        )
    elif want == LOGIN:
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    else:
        assert response.status_code == want, (response.status_code, response.get_data(as_text=True)[:200])
