"""Configuration for the mini-program, and health checks for load balancers."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Flask, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.extensions import db
from backend.hardship.consent import current_consent
from backend.http_errors import json_error
from backend.uploads.models import ACCEPTED_TYPES

blp = Blueprint("meta", __name__, url_prefix="/api/v1", description="配置与健康检查")

UPLOAD_TYPES = list(ACCEPTED_TYPES)  # judged by content (backend/uploads/sniff.py)


class UploadLimitsSchema(ma.Schema):
    max_bytes = ma.fields.Integer(metadata={"description": "每个文件的最大字节数"})
    types = ma.fields.List(ma.fields.String(), metadata={"description": "可上传的类型（按文件内容判断）"})


class ConsentTextSchema(ma.Schema):
    version = ma.fields.String(metadata={"description": "告知书版本：提交申请时 consent.version 须与它相同"})
    text = ma.fields.String(metadata={"description": "困难帮扶申请告知书全文"})


class ConfigSchema(ma.Schema):
    subscribe_templates = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "通知类型 → 订阅消息模板 id，供 wx.requestSubscribeMessage 使用"},
    )
    upload = ma.fields.Nested(UploadLimitsSchema)
    hardship_consent = ma.fields.Nested(ConsentTextSchema)


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


@blp.route("/config")
class Config(MethodView):
    @blp.response(200, ConfigSchema)
    def get(self) -> dict[str, Any]:
        """小程序启动时读取的配置（无需登录）"""
        templates = current_app.config["WECHAT_TEMPLATES"]
        return {
            "subscribe_templates": {kind: spec["template_id"] for kind, spec in templates.items()},
            "upload": {"max_bytes": current_app.config["UPLOAD_MAX_BYTES"], "types": UPLOAD_TYPES},
            "hardship_consent": current_consent(),
        }


def healthz() -> Any:
    """进程存活"""
    return {"status": "ok", "checks": {}}


def readyz() -> Any:
    """数据库（以及配置了的 Redis）可达时为 200，否则 503"""
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["database"] = f"error: {type(exc).__name__}"
        db.session.rollback()
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        import redis

        try:
            redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
            checks["redis"] = "ok"
        except redis.RedisError as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    return json_error(503, "not_ready", "服务暂未就绪", checks=checks)


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> Any:
        """进程存活（无需登录）"""
        return healthz()


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="not_ready")
    def get(self) -> Any:
        """依赖可达（无需登录）"""
        return readyz()


def register_root_health(app: Flask) -> None:
    """The same checks at the root, where load balancers and orchestrators look for them."""
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
