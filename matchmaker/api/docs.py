"""The OpenAPI document and a readable docs page (served from the app, no CDN)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template_string

from matchmaker.api.spec import openapi_document

bp = Blueprint("api_docs", __name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Matchmaker API</title>
<link rel="stylesheet" href="{{ url_for('static', filename='api-docs.css') }}"></head><body>
<h1>Matchmaker API <small>v{{ doc.info.version }}</small></h1>
<p>{{ doc.info.description }} Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).</p>
<p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>; create a token with
<code>matchmaker create-user --email E --role company|group|office|admin [--organisation NAME]</code>.
Errors are RFC 9457 problem documents (<code>application/problem+json</code>) naming each bad field.</p>
{% for path, ops in doc.paths.items() %}{% for method, op in ops.items() %}
<div class="op"><span class="m {{ method }}">{{ method|upper }}</span> <code>{{ path }}</code> — {{ op.summary }}
{% if op.get('security') %}<small>(signed in)</small>{% endif %}
{% if op.get('parameters') %}<br><small>Parameters: {% for p in op.parameters %}<code>{{ p.name }}</code> ({{ p['in'] }}){% if not loop.last %}, {% endif %}{% endfor %}</small>{% endif %}
{% if op.get('requestBody') %}<br><small>Body: <code>{{ op.requestBody.content['application/json'].schema['$ref'].split('/')[-1] }}</code></small>{% endif %}
<br><small>Responses: {{ op.responses.keys()|join(', ') }}</small></div>
{% endfor %}{% endfor %}
<h2>Schemas</h2>{% for name, schema in doc.components.schemas.items() %}
<details><summary><code>{{ name }}</code></summary><pre>{{ schema|tojson(indent=2) }}</pre></details>{% endfor %}
</body></html>"""


@bp.get("/api/openapi.json")
def openapi_json() -> Any:
    return jsonify(openapi_document())


@bp.get("/api/docs")
def docs_page() -> str:
    return render_template_string(_PAGE, doc=openapi_document())
