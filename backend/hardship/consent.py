"""The consent text an applicant agrees to (告知书) and its version.

The mini-program shows the text `GET /config` gives (`hardship_consent`: version and text) and sends the
version back with the two consents. A version other than the current one is refused (422
`consent_outdated`): the applicant must read and agree to the text in force, and the application records
which version that was. The union changes the text by setting HARDSHIP_CONSENT_TEXT and a new
HARDSHIP_CONSENT_VERSION together.
"""

from __future__ import annotations

from flask import current_app

from backend.errors import ValidationFailed

DEFAULT_VERSION = "2026-1"
DEFAULT_TEXT = (
    "困难职工帮扶申请告知书\n"
    "一、为审核您的困难帮扶申请，工会需要收集和处理您及家庭成员的健康、收入、支出和家庭人口等敏感个人信息，"
    "以及您上传的证明材料。这些信息加密保存，只有负责您所在组织的工会工作人员可以查看，每次查看都有记录。\n"
    "二、为核实您填写的家庭经济状况，工会可能向您所在单位或有关部门核对收入情况。\n"
    "三、初审通过后，工会会在您所在组织公示您的姓名、所在组织和帮扶类别（不公示原因、收入和金额）。\n"
    "四、有审批结果的申请和发放记录属于工会的帮扶档案和财务记录，保存 30 年；"
    "草稿和撤回的申请在注销账号时删除。\n"
    "五、这两项同意分别作出；不同意将无法提交申请。您可以随时在小程序中查看和导出本人的信息。"
)


class ConsentOutdated(ValidationFailed):
    code = "consent_outdated"
    message = "告知书已经更新，请重新阅读并同意最新的告知书后再提交"


def current_consent() -> dict[str, str]:
    """{"version", "text"}: what the mini-program shows and what a consent must name."""
    config = current_app.config
    return {
        "version": config.get("HARDSHIP_CONSENT_VERSION") or DEFAULT_VERSION,
        "text": config.get("HARDSHIP_CONSENT_TEXT") or DEFAULT_TEXT,
    }


def require_current(version: str | None) -> None:
    if version != current_consent()["version"]:
        raise ConsentOutdated(errors={"consent.version": [ConsentOutdated.message]})
