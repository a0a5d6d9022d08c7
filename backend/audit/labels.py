"""How the audit log reads in Chinese: actions, the kinds of record they touch, and their details.

Every action written by a `record(...)` call has a label here (a test checks the source for them); an
action without one is shown by its code, so a new action is never hidden, only untranslated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from backend.activities.models import REGISTRATION_STATUS_LABELS
from backend.care.models import CATEGORY_LABELS as CARE_CATEGORY_LABELS
from backend.care.models import FREQUENCY_LABELS as CARE_FREQUENCY_LABELS
from backend.care.models import RULE_LABELS as CARE_RULE_LABELS
from backend.hardship.models import PAYMENT_METHOD_LABELS, TIER_LABELS
from backend.hardship.models import STATUS_LABELS as HARDSHIP_STATUS_LABELS
from backend.members.models import MEMBER_STATUS_LABELS
from backend.staff.models import ROLE_LABELS

if TYPE_CHECKING:
    from backend.audit.models import AuditLog

ACTION_LABELS: dict[str, str] = {
    "staff.login": "登录后台",
    "staff.login_failed": "登录失败",
    "staff.create": "新建后台账号",
    "staff.update": "修改后台账号",
    "staff.password": "重设账号密码",
    "staff.password_change": "修改本人密码",
    "staff.password_change_failed": "修改密码时当前密码不正确",
    "member.create": "添加会员",
    "member.update": "修改会员信息",
    "member.change_group": "转会",
    "member.status": "更改会员状态（离会/恢复）",
    "member.view_phone": "查看会员完整手机号",
    "member.bind": "职工在小程序认证会员身份",
    "member.binding_confirm": "确认微信绑定为会员本人",
    "member.data_exported": "职工导出本人数据",
    "member.account_deleted": "职工注销小程序账号",
    "member.export": "导出会员名册",
    "join_request.approved": "入会申请通过",
    "join_request.rejected": "入会申请不通过",
    "roster.import": "导入会员名册",
    "group.create": "新建组织",
    "group.rename": "组织改名",
    "group.delete": "删除组织",
    "announcement.create": "新建公告",
    "announcement.update": "修改公告",
    "announcement.schedule": "设置定时发布",
    "announcement.unschedule": "取消定时发布",
    "announcement.publish": "发布公告",
    "announcement.withdraw": "撤回公告",
    "announcement.remind": "提醒未读会员",
    "announcement.attach": "添加公告附件",
    "announcement.detach": "删除公告附件",
    "announcement.delete": "删除公告草稿",
    "audit.export": "导出审计日志",
    "activity.create": "新建活动",
    "activity.update": "修改活动",
    "activity.publish": "发布活动",
    "activity.cancel": "取消活动",
    "activity.copy": "复制活动",
    "activity.add_member": "为会员代报名活动",
    "activity.remove_member": "取消会员的活动报名",
    "activity.checkin": "为会员手动签到",
    "activity.no_shows": "标记活动未到场",
    "activity.export_sheet": "导出活动实名制签到表",
    "hardship.standard": "设置困难帮扶标准",
    "hardship.return": "困难帮扶申请退回补充",
    "hardship.first_approve": "困难帮扶申请初审通过",
    "hardship.reject": "困难帮扶申请初审不通过",
    "hardship.start_publicity": "困难帮扶申请开始公示",
    "hardship.record_objection": "登记困难帮扶公示异议",
    "hardship.final_approve": "困难帮扶申请终审批准",
    "hardship.final_reject": "困难帮扶申请终审不通过",
    "hardship.pay": "登记困难帮扶金发放",
    "hardship.file_review": "困难职工档案复核",
    "hardship.view": "查看困难帮扶申请",
    "hardship.view_attachment": "查看困难帮扶申请附件",
    "hardship.export": "导出困难帮扶台账",
    "care.request_release": "关怀申请内容人工审核通过",
    "care.request_schedule": "安排关怀走访",
    "care.request_close": "关闭关怀申请",
    "care.visit_record": "登记慰问走访",
    "care.visit_override": "超出关怀标准的例外登记",
    "care.visits_done": "批量标记慰问已送达",
    "care.visit_receipt": "职工确认签收慰问",
    "care.campaign_create": "新建节日慰问活动",
    "care.campaign_run": "生成节日慰问计划",
    "care.policy_update": "修改关怀标准",
    "care.ledger_export": "导出慰问台账",
    "hardship.purge": "清理超过保存期限的困难帮扶申请",
    "hardship.override_tier": "人工调整困难帮扶申请的困难类型",
    "hardship.view_file": "查看困难职工档案",
}

# AuditLog.object_type is the table name of the record an action touched.
OBJECT_TYPE_LABELS: dict[str, str] = {
    "staff": "后台账号",
    "members": "会员",
    "groups": "组织",
    "join_requests": "入会申请",
    "announcements": "公告",
    "activities": "活动",
    "hardship_applications": "困难帮扶申请",
    "hardship_standards": "困难帮扶标准",
    "hardship_files": "困难职工档案",
    "care_requests": "关怀申请",
    "care_visits": "慰问记录",
    "care_campaigns": "节日慰问活动",
}

DETAIL_LABELS: dict[str, str] = {
    "username": "登录名",
    "role": "角色",
    "scope": "负责范围",
    "fields": "修改的项目",
    "reason": "原因",
    "comment": "备注",
    "page": "页面",
    "employee_no": "工号",
    "group_id": "组织",
    "from_group": "原组织",
    "to_group": "新组织",
    "name": "名称",
    "old": "原名称",
    "new": "新名称",
    "title": "标题",
    "publish_at": "定时发布时间",
    "reminded": "提醒人数",
    "total": "总行数",
    "created": "新增",
    "updated": "更新",
    "unchanged": "无变化",
    "errors": "有误行数",
    "rows": "导出条数",
    "filters": "筛选条件",
    "action": "操作",
    "staff_id": "操作人",
    "object_type": "对象类型",
    "object_id": "对象编号",
    "date_from": "开始日期",
    "date_to": "结束日期",
    "from_status": "原状态",
    "to_status": "新状态",
    "whole_union": "面向全体会员",
    "group_ids": "面向的组织",
    "recipients": "接收人数",
    "messages": "发出消息数",
    "scheduled": "定时自动发布",
    "roster_kept": "保留名册记录",
    "upload_id": "附件编号",
    "uploads": "附件",
    "id": "编号",
    "sha256": "文件校验码",
    "filename": "文件名",
    "account_id": "微信账号编号",
    "openid_account": "微信账号编号",
    "proof": "认证方式",
    "full_phones": "含完整手机号的人数",
    "q": "搜索",
    "status": "状态",
    "interrupted": "中途停止",
    "registration_status": "报名状态",
    "hardship_status": "申请状态",
    "year": "年度",
    "dibao_monthly_fen": "低保标准（分/人/月）",
    "fund_total_fen": "年度帮扶资金（分）",
    "amount_fen": "金额（分）",
    "method": "发放方式",
    "outcome": "复核结果",
    "tier": "困难类型",
    "amount": "金额（分）",
    "category": "类别",
    "rules": "不符合的标准",
    "ids": "记录编号",
    "left_out": "超标未列入的会员",
    "values": "新标准",
    "standard": "标准说明",
    "max_amount_fen": "最高金额（分）",
    "frequency": "频次",
    "cash_allowed": "可发现金",
    "relatives": "计入的亲属",
    "budget_fen": "年度预算（分）",
    "festival_cap_fen": "节日慰问每人每年上限（分）",
    "warn_percent": "提醒比例（%）",
}

# Values of "fields" (what a change touched), as the forms call them.
FIELD_LABELS: dict[str, str] = {
    "name": "姓名",
    "display_name": "姓名",
    "employee_no": "工号",
    "phone": "手机号",
    "birthday": "生日",
    "joined_on": "入会日期",
    "role": "角色",
    "scope_group_id": "负责范围",
    "is_enabled": "启用状态",
    "member_id": "本人工号",
}


# Detail values that are codes, read as their domain names them.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "from_status": MEMBER_STATUS_LABELS,
    "to_status": MEMBER_STATUS_LABELS,
    "status": MEMBER_STATUS_LABELS,
    "category": {**CARE_CATEGORY_LABELS, "year": "年度设置"},
    "rules": CARE_RULE_LABELS,
    "frequency": CARE_FREQUENCY_LABELS,
    "role": ROLE_LABELS,
    "page": {"detail": "会员详情页", "edit": "编辑会员页"},
    "proof": {"phone": "微信验证的手机号与名册一致", "awaiting_staff": "只凭姓名和工号，待工作人员确认"},
    "registration_status": REGISTRATION_STATUS_LABELS,
    "hardship_status": HARDSHIP_STATUS_LABELS,
    "tier": TIER_LABELS,
    "method": PAYMENT_METHOD_LABELS,
    "outcome": {"keep": "保留在档", "close": "出档"},
    # Free text typed by staff passes through; these two are the codes of an account deletion.
    "reason": {"member_request": "职工本人在小程序中注销", "wechat_cancellation": "职工在微信中取消了授权"},
}


class DetailNames(Protocol):
    """Reads detail values that are ids of records as their names (backend/audit/names.py)."""

    def detail_value(self, key: str, value: Any) -> str | None: ...


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def object_type_label(object_type: str) -> str:
    return OBJECT_TYPE_LABELS.get(object_type, object_type)


def _value_text(key: str, value: Any, names: DetailNames | None = None) -> str:
    if names is not None and (named := names.detail_value(key, value)) is not None:
        return named
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        if key == "fields":
            return "、".join(FIELD_LABELS.get(str(v), str(v)) for v in value)
        return "、".join(
            f"（{_value_text(key, v, names)}）" if isinstance(v, dict) else _value_text(key, v, names)
            for v in value
        )
    if isinstance(value, dict):
        return "，".join(f"{DETAIL_LABELS.get(k, k)}：{_value_text(k, v, names)}" for k, v in value.items())
    if value is None or value == "":
        return "—"
    return VALUE_LABELS.get(key, {}).get(str(value), str(value))


def describe_detail(entry: AuditLog, names: DetailNames | None = None) -> list[tuple[str, str]]:
    """The detail of an audit row as (label, text) pairs, in the order it was written; with `names`,
    ids of groups and staff accounts read as their names."""
    detail = entry.detail
    if not isinstance(detail, dict):
        return []
    pairs = [(DETAIL_LABELS.get(key, key), _value_text(key, value, names)) for key, value in detail.items()]
    if entry.action == "staff.login_failed" and entry.actor_staff_id is None:
        # No account has that name: what was typed may be a password typed into the wrong box.
        pairs = [
            (label, _masked(text)) if label == DETAIL_LABELS["username"] else (label, text)
            for label, text in pairs
        ]
    return pairs


def _masked(text: str) -> str:
    return f"{text[:2]}***（未对应到可用的账号）" if text and text != "—" else text


def actor_text(entry: AuditLog) -> str:
    """Who did it, as a person reads it: a staff member, a worker, the operator's shell, or nobody known."""
    if entry.actor_staff is not None:
        return f"{entry.actor_staff.display_name}（{entry.actor_staff.username}）"
    if entry.actor_member is not None:
        return f"职工 {entry.actor_member.name}（工号 {entry.actor_member.employee_no}）"
    if entry.actor_member_id is not None:
        return f"职工（编号 {entry.actor_member_id}）"
    if entry.ip == "cli":
        return "命令行或后台任务"
    return "系统（未记录操作人）"
