"""The emulator's root page: says in Chinese what this server is, and lists what it answers.

Someone who opens http://127.0.0.1:5001/ in a browser (``make run`` prints the address) should learn
that this is not WeChat, what it is for, and how to get a login code from it, not meet a bare 404.
"""

from __future__ import annotations

from html import escape

from flask import Response, request

from backend.wechat.emulator.state import current_state

# The endpoints WeChat has (routes.py), as the gateway uses them.
WECHAT_ENDPOINTS = (
    ("POST", "/cgi-bin/stable_token", "取 access_token（所有进程共用同一个）"),
    ("GET", "/cgi-bin/token", "取 access_token（旧接口）"),
    ("GET", "/sns/jscode2session", "小程序登录：用 wx.login 的 code 换 openid"),
    ("POST", "/wxa/business/getuserphonenumber", "用手机号 code 换职工的手机号"),
    ("POST", "/cgi-bin/message/subscribe/send", "发送订阅消息（要有订阅次数，字段按模板校验）"),
    ("POST", "/wxa/msg_sec_check", "文本内容安全检查"),
    ("POST", "/wxa/getwxacodeunlimit", "生成小程序码（PNG）"),
)

# The control API (control.py): what tests and demos tell the emulator to do.
CONTROL_ENDPOINTS = (
    (
        "POST",
        "/_emulator/login-code",
        '{"openid": "…"}',
        "生成一次性的登录 code（相当于小程序里的 wx.login）",
    ),
    (
        "POST",
        "/_emulator/phone-code",
        '{"openid": "…", "phone": "139…"}',
        "生成一次性的手机号 code（相当于职工点「授权手机号」）",
    ),
    ("POST", "/_emulator/users", '{"openid": "…", "phone": "…"}', "新建或修改测试用户"),
    (
        "POST",
        "/_emulator/subscriptions",
        '{"openid": "…", "template_id": "…", "count": 1}',
        "增加订阅次数（相当于职工点「允许」）",
    ),
    ("GET", "/_emulator/subscriptions?openid=…&template_id=…", "", "查询剩余订阅次数"),
    ("POST", "/_emulator/templates", '{"template_id": "…", "fields": {…}}', "登记订阅消息模板"),
    ("GET", "/_emulator/templates", "", "已登记的模板"),
    ("POST", "/_emulator/faults", '{"path": "…", "errcode": -1}', "让某个接口出错、变慢或断开（测试用）"),
    ("DELETE", "/_emulator/faults", "", "清除所有故障"),
    ("GET", "/_emulator/stats", "", "调用次数与已发送的订阅消息"),
    ("POST", "/_emulator/reset", "", "清空所有状态（模板保留）"),
)


def index() -> Response:
    state = current_state()
    base = request.host_url
    wechat_rows = "".join(
        f"<tr><td>{method}</td><td><code>{escape(path)}</code></td><td>{escape(text)}</td></tr>"
        for method, path, text in WECHAT_ENDPOINTS
    )
    control_rows = "".join(
        f"<tr><td>{method}</td><td><code>{escape(path)}</code></td><td><code>{escape(body)}</code></td>"
        f"<td>{escape(text)}</td></tr>"
        for method, path, body, text in CONTROL_ENDPOINTS
    )
    example = (
        f"curl -s -X POST {base}_emulator/login-code -H 'Content-Type: application/json' "
        """-d '{"openid": "demo-openid-1"}'"""
    )
    page = f"""<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>微信接口模拟器（仅供开发和测试）</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:24px auto;padding:0 16px;line-height:1.6}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left}}
code,pre{{background:#f5f5f5}}pre{{padding:8px;overflow-x:auto}}</style></head>
<body>
<h1>微信接口模拟器</h1>
<p><strong>这不是微信。</strong>这是工会会员服务系统自带的微信服务器替身，只用于开发、演示和自动测试，
切勿用于生产环境。它像微信一样回答登录、手机号、订阅消息、内容安全和小程序码这几类接口（同样的 JSON
格式和错误码），数据只保存在内存里，重启即清空。</p>
<p>服务端通过环境变量 <code>WECHAT_API_BASE</code> 指向这里（<code>make run</code> 已自动设置）；
当前模拟的小程序 AppID：<code>{escape(state.appid)}</code>。</p>
<h2>取一个登录 code</h2>
<pre>{escape(example)}</pre>
<p>再把得到的 code 交给服务端的 <code>POST /api/v1/auth/login</code>，就像小程序登录一样。</p>
<h2>模拟的微信接口</h2>
<table><tr><th>方法</th><th>路径</th><th>作用</th></tr>{wechat_rows}</table>
<h2>控制接口（微信没有，只供开发和测试）</h2>
<table><tr><th>方法</th><th>路径</th><th>请求体</th><th>作用</th></tr>{control_rows}</table>
</body>
</html>
"""
    return Response(page, mimetype="text/html")
