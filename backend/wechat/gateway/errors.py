"""What the gateway's callers catch: WeChat's refusals, WeChat being unreachable, forged pushes."""

from __future__ import annotations

SYSTEM_BUSY = -1


class WechatError(Exception):
    """WeChat answered with a non-zero errcode (callers map codes to product errors)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def __str__(self) -> str:
        return f"WeChat error {self.errcode}: {self.errmsg}"


class WechatUnavailable(WechatError):
    """WeChat could not be reached or stayed busy (timeouts, dropped connections, 5xx, -1) past retries.

    ``outcome_unknown`` is True when the last attempt may have reached WeChat and been acted on (a read
    timeout, a connection dropped after sending, a 5xx): for a send, the message may have gone out.
    """

    def __init__(
        self,
        errcode: int | None = SYSTEM_BUSY,
        errmsg: str = "微信服务暂时不可用",
        *,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(errcode, errmsg)
        self.outcome_unknown = outcome_unknown


class WechatSignatureError(Exception):
    """A push whose signature does not match, or whose encrypted body cannot be decrypted."""
