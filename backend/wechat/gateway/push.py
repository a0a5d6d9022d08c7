"""Message push (the callback): signatures and safe mode, thin wrappers over wechatpy."""

from __future__ import annotations

from typing import Any

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner, check_signature

from backend.wechat.gateway.errors import WechatSignatureError


def verify_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Whether a push's ``signature`` is sha1(sorted(token, timestamp, nonce)), as WeChat signs."""
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        return False
    return True


def decrypt_message(
    *,
    token: str,
    aes_key: str,
    appid: str,
    message: dict[str, Any],
    msg_signature: str,
    timestamp: str,
    nonce: str,
) -> str:
    """The plaintext of a safe-mode push (``{"Encrypt": ...}``); WechatSignatureError if not genuine."""
    try:
        crypto = WeChatCrypto(token, aes_key, appid)
        return str(crypto.decrypt_message(message, msg_signature, timestamp, nonce))
    except (
        InvalidSignatureException,
        InvalidAppIdException,
        KeyError,
        TypeError,
        ValueError,
        AssertionError,
    ):
        raise WechatSignatureError("推送签名或密文无效") from None


def encrypt_message(
    *, token: str, aes_key: str, appid: str, plaintext: str, timestamp: str, nonce: str
) -> dict[str, str]:
    """A safe-mode JSON push body as WeChat builds it (for the emulator and tests)."""
    crypto = WeChatCrypto(token, aes_key, appid)
    encrypted = PrpCrypto(crypto.key).encrypt(plaintext, appid)
    encrypted = encrypted.decode() if isinstance(encrypted, bytes) else str(encrypted)
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypted)
    return {"Encrypt": encrypted, "MsgSignature": signer.signature, "TimeStamp": timestamp, "Nonce": nonce}
