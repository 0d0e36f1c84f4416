"""Getters of Chrome's pages (OSWorld names): every tab, parts of the active tab's page
and URL, and pages the getter opens itself (a tab of its own, closed afterwards).

They use the env's CDP connection (``browser_access``); OSWorld's ``goto_prefix`` is
unused, since the URL comes whole from the browser rather than its address bar.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import unquote, urlparse

from kimicua.tasks import browser_access
from kimicua.tasks.context import RunContext
from kimicua.tasks.getters.registry import getter

LOAD_TIMEOUT_MS = 10_000
FAILED = "__EVALUATION_FAILED__"  # what OSWorld's metrics read as "the getter could not tell"


def _settled(page: Any) -> None:
    try:
        page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
    except Exception:  # noqa: BLE001 - a page still loading is read as it is, as OSWorld does
        pass


@getter
def open_tabs_info(env, ctx: RunContext, spec: dict[str, Any]) -> list[dict[str, str]]:
    """``{"title", "url"}`` of every open tab, in tab order."""
    tabs = []
    for page in browser_access.context(env).pages:
        _settled(page)
        tabs.append({"title": page.title(), "url": page.url})
    return tabs


@getter
def page_info(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, str]:
    """Title, final URL and HTML of ``url`` opened in a tab of the getter's own."""
    with browser_access.scratch_page(env, spec["url"]) as page:
        return {"title": page.title(), "url": page.url, "content": page.content()}


@getter
def pdf_from_url(env, ctx: RunContext, spec: dict[str, Any]) -> str:
    """The page at ``path`` printed to PDF as ``dest`` in the cache."""
    target = ctx.cache / spec["dest"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with browser_access.scratch_page(env, spec["path"]) as page:
        session = page.context.new_cdp_session(page)
        try:
            data = session.send("Page.printToPDF", {"printBackground": False})["data"]
        finally:
            session.detach()
    target.write_bytes(base64.b64decode(data))
    return str(target)


def _text(element: Any) -> str:
    return (element.text_content() or "").strip() if element is not None else ""


@getter
def info_from_website(env, ctx: RunContext, spec: dict[str, Any]) -> Any:
    """OSWorld's website reader: for each of ``infos`` the inner text or an attribute of
    a selector, optionally after clicking through a list of selectors; ``backups`` when
    anything fails."""
    url = spec["url"]
    try:
        with browser_access.scratch_page(env, url) as page:
            found = []
            for info in spec.get("infos", []):
                if page.url != url:
                    page.goto(url, wait_until="load")
                action = info.get("action", "inner_text")
                selectors = info["selector"] if action.startswith("click_and_") else [info["selector"]]
                for selector in selectors[:-1]:
                    page.wait_for_selector(selector, state="attached", timeout=LOAD_TIMEOUT_MS).click()
                    page.wait_for_load_state("load")
                element = page.wait_for_selector(selectors[-1], state="attached", timeout=LOAD_TIMEOUT_MS)
                if action in ("inner_text", "click_and_inner_text"):
                    found.append(element.inner_text())
                elif action in ("attribute", "click_and_attribute"):
                    found.append(element.get_attribute(info["attribute"]))
                else:
                    raise ValueError(f"info_from_website: unknown action {action!r}")
            return found
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - OSWorld answers with the task's backups
        return spec.get("backups")


def _same_url(a: str, b: str) -> bool:
    return unquote(a).rstrip("/") == unquote(b).rstrip("/")


def _active_page(env) -> Any:
    url = env.page_url()
    if url is None:
        return None
    for page in browser_access.context(env).pages:
        if _same_url(page.url, url):
            return page
    return None


def _texts(page: Any, selector: str) -> list[str]:
    return [(e.text_content() or "").strip() for e in page.query_selector_all(selector)]


def _own_texts(page: Any, selector: str) -> list[str]:
    """The text nodes directly inside the first match (``<div>SEA<div/>NYC</div>``)."""
    first = page.query_selector(selector)
    if first is None:
        return []
    return first.evaluate("n => Array.from(n.childNodes).filter(c => c.nodeType === Node.TEXT_NODE)"
                          ".map(c => c.textContent.trim()).filter(Boolean)")


def _by_index(out: dict[str, Any], texts: list[str], keys: dict[str, str]) -> None:
    for index, key in keys.items():
        out[key] = texts[int(index)] if int(index) < len(texts) else ""


def _class_parse(page: Any, spec: dict[str, Any], out: dict[str, Any]) -> None:
    for name, keys in spec.get("class_multiObject", {}).items():
        _by_index(out, _texts(page, "." + name), keys)
    for name, keys in spec.get("class_multiObject_child", {}).items():
        _by_index(out, _own_texts(page, "." + name), keys)
    for name, keys in spec.get("class_multiObject_only_child", {}).items():
        _by_index(out, [_text(e.query_selector("h3")) for e in page.query_selector_all("." + name)
                        if e.query_selector("h3")], keys)
    for name, wanted in spec.get("class_multiObject_search_exist", {}).items():
        texts = _texts(page, "." + name)
        out.update({w: w in texts for w in wanted if w != "is_other_exist"})
        if "is_other_exist" in wanted:
            out["is_other_exist"] = any(t not in wanted for t in texts)
    for name, key in spec.get("class_singleObject", {}).items():
        texts = _texts(page, "." + name)
        out[key] = texts[0] if texts else ""


def _mark_seen(out: dict[str, Any], texts: list[str], wanted: list[str]) -> None:
    for key in wanted:
        if any(key.lower() == t.lower() for t in texts):
            out[key.lower()] = True
    out.setdefault("is_other_exist", any(all(t.lower() not in w.lower() for w in wanted) for t in texts))


def _class_url_parse(page: Any, spec: dict[str, Any], out: dict[str, Any]) -> None:
    for name, wanted in spec.get("class_multiObject", {}).items():
        _mark_seen(out, _texts(page, "." + name), wanted)
    for name, wanted in spec.get("class_multiObject_li", {}).items():
        items = page.query_selector_all("." + name + " li.catAllProducts")
        _mark_seen(out, [(i.query_selector("span").inner_text() or "").strip() for i in items
                         if i.query_selector("span")], wanted)
    url = page.url.lower()
    for key in spec.get("url_include_expected", []):
        out.setdefault(key.lower(), key.lower() in url)
    for key, value in spec.get("url_include_expected_multichoice", {}).items():
        out.setdefault(value.lower(), key.lower() in url)


@getter
def active_tab_html_parse(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any]:
    """Texts of the active tab's elements by ``category`` (OSWorld's rules: class, label,
    xpath, input, class&url); {} when the active tab is not a page of this browser."""
    page = _active_page(env)
    if page is None:
        return {}
    out: dict[str, Any] = {}
    category = spec["category"]
    if category == "class":
        _class_parse(page, spec, out)
    elif category == "class&url":
        _class_url_parse(page, spec, out)
    elif category == "label":
        for label, key in spec.get("labelObject", {}).items():
            out[key] = (page.locator(f"text={label}").first.text_content() or "").strip()
    elif category in ("xpath", "input"):
        for xpath, key in spec.get(f"{category}Object", {}).items():
            found = page.locator(f"xpath={xpath}")
            if found.count() == 0:
                out[key] = ""
            elif category == "xpath":
                out[key] = (found.first.text_content() or "").strip()
            else:
                out[key] = (found.first.input_value() or "").strip()
    else:
        raise ValueError(f"active_tab_html_parse: unknown category {category!r}")
    return out


@getter
def gotoRecreationPage_and_get_html_content(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
    """OSWorld's recreation.gov reader: search "Diamond", open the first result, press
    "Next Available", and read the ``order``-th element of class ``class``."""
    name = spec["class"]
    with browser_access.scratch_page(env, "https://www.recreation.gov/") as page:
        page.fill("input#hero-search-input", "Diamond")
        page.click("button.nav-search-button")
        page.wait_for_selector(".search-result-highlight--success", state="visible")
        with page.expect_popup() as popup:
            page.click(".search-result-highlight--success")
        result = popup.value
        try:
            result.wait_for_load_state("load")
            result.click("button.next-available", timeout=LOAD_TIMEOUT_MS * 3)
            elements = result.query_selector_all("." + name)
            index = int(spec.get("order", 0))
            value = _text(elements[index]) if index < len(elements) else FAILED
        finally:
            result.close()
    return {"expected": {name: value}}


def _active_url(env) -> str | None:
    return env.page_url()


@getter
def url_dashPart(env, ctx: RunContext, spec: dict[str, Any]) -> Any:  # noqa: N802
    """The ``partIndex``-th "/"-separated part of the active URL (its query cut off with
    ``needDeleteId``), as a string or ``{key: part}``."""
    url = _active_url(env)
    if url is None:
        return None
    part = url.split("/")[spec["partIndex"]]
    if spec.get("needDeleteId"):
        part = part.split("?")[0]
    return {spec["key"]: part} if spec["returnType"] == "json" else part


@getter
def url_path_parse(env, ctx: RunContext, spec: dict[str, Any]) -> dict[str, Any] | None:
    """OSWorld's reader of Macy's filter URLs (``/shop/.../Key1,Key2/Value1,Value2``):
    department flags and the values of ``parse_keys``."""
    url = _active_url(env)
    if url is None:
        return None
    path = unquote(urlparse(url).path)
    out: dict[str, Any] = {"mens_clothing": True if "mens-clothing" in path else None}
    parts = path.strip("/").split("/")
    pairs: dict[str, Any] = {}
    shirts, short_sleeve = "shirts" in path, "short-sleeve" in path
    for keys, values in zip(parts, parts[1:]):
        if "," in keys and "," in values:
            for key, value in zip(keys.split(","), values.split(",")):
                key, value = key.strip(), value.strip()
                pairs[key] = ([v.strip() for v in value.split("|")] if value else None) \
                    if key == "Price_discount_range" else (value or None)
                shirts |= key == "Product_department" and value.lower() in ("shirts", "shirt")
                short_sleeve |= key == "Sleeve_length" and value.lower() in ("short-sleeve", "short sleeve")
            break
    pairs.setdefault("Men_regular_size_t", None)
    pairs.setdefault("Price_discount_range", None)
    out["shirts"], out["short_sleeve"] = shirts or None, short_sleeve or None
    for key in spec.get("parse_keys", []):
        if key == "Price_discount_range":
            value = pairs[key] or []
            only_50 = "50_PERCENT_ off & more" in value and not {"30_PERCENT_ off & more",
                                                                 "20_PERCENT_ off & more"} & set(value)
            out[key] = "50_PERCENT_ off & more" if only_50 else "not_50_PERCENT_ off & more"
        elif key in pairs:
            out[key] = pairs[key]
    return out
