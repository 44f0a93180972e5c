"""The embedding-text half of the ingest pipelines that let a cluster embed products, shared by OpenSearch
(mrs.opensearch.ingest_pipeline: then a ``text_embedding`` processor) and Elasticsearch
(mrs.elasticsearch.ingest_pipeline: then an ``inference`` processor): a Painless ``script`` processor builds
the embedding text from the document's ``product`` fields exactly as mrs.data.text renders it locally, and the
rendered set's ``ingest/<name>.json`` files.

The script is one fixed Painless source (``EMBEDDING_TEXT_SCRIPT``) that interprets the template description
(mrs.data.text.ProductTextTemplate.description) passed in its ``params``: the same description the local
renderer interprets, so the two texts cannot diverge by construction. Value → text follows Python's
``str()``: booleans True / False, integers as digits, doubles as Python's ``repr``: the digits of Java's
Double.toString (shortest round-trip digits since Java 19, as ``repr``'s) laid out as ``repr`` lays them out
(positional from 1e-4 to below 1e16, else ``1e-05`` / ``1.5e+20``), lists joined with ' > '. A field holding
a JSON object fails the document (Python would print a dict repr no cluster reproduces).

Documents sent through the pipeline carry no vector and no ``embedding_text``: the pipeline writes both.

Documentation relied on: OpenSearch / Elasticsearch "Script processor" (lang, source, params, ctx access),
"Create or update ingest pipeline" (PUT _ingest/pipeline/ID); Painless language spec (functions before
statements, map and list shortcut access) and its java.lang allowlist (String.indexOf(String[, int]),
substring, startsWith, endsWith; StringBuilder.append(def); Double.toString / isInfinite; Integer.parseInt —
no String.indexOf(int), no int Math.max).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mrs.data.text import DESCRIPTION_FORMAT, ProductTextTemplate
from mrs.errors import InputError

DEFAULT_PIPELINE = "mrs-embed"
TEXT_FIELD = "embedding_text"
SCRIPT_TAG = "mrs-embedding-text"
EMBED_TAG = "mrs-embedding"

EMBEDDING_TEXT_SCRIPT = """
boolean isSpace(String s, int i, String w) {
  return w.indexOf(s.substring(i, i + 1)) >= 0;
}
String strip(String s, String w) {
  int a = 0; int b = s.length();
  while (a < b && isSpace(s, a, w)) { a++; }
  while (b > a && isSpace(s, b - 1, w)) { b--; }
  return s.substring(a, b);
}
String collapse(String s, String w) {
  StringBuilder out = new StringBuilder(); boolean gap = false;
  for (int i = 0; i < s.length(); i++) {
    if (isSpace(s, i, w)) { gap = true; }
    else { if (gap && out.length() > 0) { out.append(' '); } gap = false; out.append(s.substring(i, i + 1)); }
  }
  return out.toString();
}
String zeros(int n) {
  StringBuilder z = new StringBuilder();
  for (int i = 0; i < n; i++) { z.append('0'); }
  return z.toString();
}
String pyFloat(double d) {
  if (d != d) { return ''; }
  if (Double.isInfinite(d)) { return d > 0 ? 'inf' : '-inf'; }
  if (d == 0) { return 1.0 / d < 0 ? '-0.0' : '0.0'; }
  String j = Double.toString(d < 0 ? -d : d);
  int e = j.indexOf('E');
  int exp10 = e < 0 ? 0 : Integer.parseInt(j.substring(e + 1));
  String mantissa = e < 0 ? j : j.substring(0, e);
  int dot = mantissa.indexOf('.');
  String m = mantissa.substring(0, dot) + mantissa.substring(dot + 1);
  int point = dot + exp10;
  while (m.length() > 1 && m.startsWith('0')) { m = m.substring(1); point--; }
  while (m.length() > 1 && m.endsWith('0')) { m = m.substring(0, m.length() - 1); }
  String sign = d < 0 ? '-' : '';
  int exp = point - 1;
  if (exp < -4 || exp >= 16) {
    String lead = m.substring(0, 1) + (m.length() > 1 ? '.' + m.substring(1) : '');
    int ae = exp < 0 ? -exp : exp;
    return sign + lead + 'e' + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + ae;
  }
  if (point <= 0) { return sign + '0.' + zeros(-point) + m; }
  if (point >= m.length()) { return sign + m + zeros(point - m.length()) + '.0'; }
  return sign + m.substring(0, point) + '.' + m.substring(point);
}
String text(def v, def d, String name) {
  if (v == null) { return ''; }
  if (v instanceof List) {
    StringBuilder out = new StringBuilder();
    for (def item : v) {
      String t = text(item, d, name);
      if (t.length() > 0) { if (out.length() > 0) { out.append(d.list_joiner); } out.append(t); }
    }
    return out.toString();
  }
  if (v instanceof Map) { throw new IllegalArgumentException('mrs text template: field [' + name + '] holds an object'); }
  if (v instanceof Boolean) { return ((Boolean) v).booleanValue() ? 'True' : 'False'; }
  if (v instanceof Double || v instanceof Float) { return strip(pyFloat(((Number) v).doubleValue()), d.whitespace); }
  return strip(v.toString(), d.whitespace);
}
List asList(def v, def d, String name) {
  List out = new ArrayList();
  if (v == null) { return out; }
  if (v instanceof List) {
    for (def item : v) { String t = text(item, d, name); if (t.length() > 0) { out.add(t); } }
    return out;
  }
  String s = text(v, d, name);
  for (def sep : d.path_separators) {
    if (s.indexOf(sep) >= 0) {
      int at = 0; boolean more = true;
      while (more) {
        int next = s.indexOf(sep, at);
        String piece = strip(next < 0 ? s.substring(at) : s.substring(at, next), d.whitespace);
        if (piece.length() > 0) { out.add(piece); }
        if (next < 0) { more = false; } else { at = next + sep.length(); }
      }
      return out;
    }
  }
  if (s.length() > 0) { out.add(s); }
  return out;
}
int bound(def b, int n, int missing) {
  if (b == null) { return missing; }
  int i = (int) b;
  if (i < 0) { return n + i < 0 ? 0 : n + i; }
  return i < n ? i : n;
}
def d = params.description;
def product = ctx.product;
String w = d.whitespace;
List kept = new ArrayList();
for (def segment : d.segments) {
  boolean filled = false;
  StringBuilder pieces = new StringBuilder();
  for (def part : segment) {
    if (part.containsKey('text')) { pieces.append(part.text); continue; }
    String name = part.field;
    def value = name == 'id' ? ctx['_id'] : (product == null ? null : product[name]);
    String t = '';
    if (part.containsKey('slice')) {
      List items = asList(value, d, name);
      int n = items.size();
      int a = bound(part.slice[0], n, 0);
      int b = bound(part.slice[1], n, n);
      StringBuilder sb = new StringBuilder();
      for (int i = a; i < b; i++) { if (i > a) { sb.append(d.list_joiner); } sb.append(items.get(i)); }
      t = sb.toString();
    } else {
      t = text(value, d, name);
    }
    if (t.length() > 0) { filled = true; }
    pieces.append(t);
  }
  String out = strip(pieces.toString(), w);
  if (filled && out.length() > 0) { kept.add(out); }
}
StringBuilder joined = new StringBuilder();
for (int i = 0; i < kept.size(); i++) { if (i > 0) { joined.append(d.segment_separator); } joined.append(kept.get(i)); }
ctx[params.target_field] = collapse(joined.toString(), w);
""".strip()


def text_script_processor(template: ProductTextTemplate, text_field: str = TEXT_FIELD) -> dict[str, Any]:
    """The ``script`` processor that writes ``text_field`` = the product's embedding text (module doc)."""
    return {"script": {"tag": SCRIPT_TAG, "lang": "painless", "source": EMBEDDING_TEXT_SCRIPT,
                       "params": {"description": template.description(), "target_field": text_field}}}


def pipeline_template(body: Mapping[str, Any]) -> str | None:
    """The text template an mrs embedding pipeline renders (its script's description), else None."""
    for processor in body.get("processors") or []:
        script = processor.get("script") if isinstance(processor, Mapping) else None
        if isinstance(script, Mapping) and script.get("tag") == SCRIPT_TAG:
            description = (script.get("params") or {}).get("description") or {}
            if description.get("format") == DESCRIPTION_FORMAT:
                return description.get("template")
    return None


def check_pipeline_template(name: str, body: Mapping[str, Any], template: ProductTextTemplate) -> None:
    """InputError unless pipeline ``name`` (``body``) renders ``template``: an index whose _meta names one
    template must not be embedded from another."""
    found = pipeline_template(body)
    if found is None:
        raise InputError(f"ingest pipeline {name!r} has no mrs embedding-text script (render it with "
                         "`mrs templates render --model-id ...` or pass --model-id to create it)")
    if found != template.template:
        raise InputError(f"ingest pipeline {name!r} renders the text template {found!r}, not {template.template!r} "
                         "(pass the same --text-template, or --model-id to update the pipeline)")


def write_rendered_pipeline(out_dir: Any, name: str, body: Mapping[str, Any]) -> str:
    """Write ``ingest/<name>.json`` into a rendered set (`mrs templates render`) and list it in its
    manifest.json (``ingest_pipelines`` and ``install.ingest_pipelines``); returns the written path."""
    import json
    from pathlib import Path

    from mrs.models import write_json

    out = Path(out_dir)
    path = out / "ingest" / f"{name}.json"
    write_json(path, body)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    manifest.setdefault("ingest_pipelines", {})[name] = f"ingest/{name}.json"
    manifest.setdefault("install", {}).setdefault("ingest_pipelines", {})[name] = f"PUT /_ingest/pipeline/{name}"
    write_json(manifest_path, manifest)
    return str(path)


def read_rendered_pipelines(rendered_dir: Any) -> dict[str, dict[str, Any]]:
    """The ingest pipelines a rendered set lists in manifest.json ({} when none)."""
    import json
    from pathlib import Path

    out = Path(rendered_dir)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return {name: json.loads((out / rel).read_text(encoding="utf-8"))
            for name, rel in (manifest.get("ingest_pipelines") or {}).items()}
