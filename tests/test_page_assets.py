"""What a page loads: the theme's unused files gone, icons inline, bundles, lazy scripts."""

from __future__ import annotations

import posixpath
import re
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import lazy_scripts
from sphinx.builders.html._assets import _CascadingStyleSheet, _JavaScript

from course_book import bundles, icons, mathjax, page_assets

# --- the theme's scripts that no page needs -------------------------------------------


def test_without_scripts_drops_the_named_files_only():
    head = (
        '<link href="_static/styles/theme.css" rel="stylesheet" />\n'
        '  <script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>\n'
        '  <script src="../_static/my-searchindex.js"></script>\n'
        '  <script src="../searchindex.js"></script>\n'
    )
    out = page_assets.without_scripts(head, "fontawesome.js", "searchindex.js")
    assert "fontawesome" not in out and 'src="../searchindex.js"' not in out
    assert "my-searchindex.js" in out and "theme.css" in out
    assert page_assets.without_scripts(head) == head


def test_unused_assets_follow_the_document():
    from docutils import nodes

    plain = nodes.document(None, None)
    plain += nodes.paragraph(text="text")
    unused = page_assets.unused_assets(plain)
    assert {"sphinx-thebe.css", "design-tabs.js", "togglebutton.js"} <= unused
    dropdown = nodes.document(None, None)
    dropdown += nodes.admonition(classes=["dropdown"])
    dropdown += nodes.container(classes=["sd-card"])
    unused = page_assets.unused_assets(dropdown)
    assert not unused & (page_assets.DESIGN_FILES | page_assets.TOGGLE_FILES)
    assert page_assets.unused_assets(None) == page_assets.UNUSED_EVERYWHERE


def test_prune_keeps_what_the_page_uses_and_drops_toggle_settings():
    context = {
        "css_files": [_CascadingStyleSheet("_static/sphinx-thebe.css"), "_static/mine.css"],
        "script_files": [
            _JavaScript("_static/togglebutton.js"),
            _JavaScript(None, body="let toggleHintShow = 'Click to show';"),
            _JavaScript(None, body="var x = 1;"),
            _JavaScript("_static/course_plotly.js"),
        ],
    }
    page_assets.prune_page_assets(None, "p", "page.html", context, None)  # no doctree: keep
    assert len(context["script_files"]) == 4 and len(context["css_files"]) == 1
    from docutils import nodes

    page_assets.prune_page_assets(None, "p", "page.html", context, nodes.document(None, None))
    kept = [getattr(s, "filename", None) or s.attributes["body"] for s in context["script_files"]]
    assert kept == ["var x = 1;", "_static/course_plotly.js"]


# --- the lazy loader ---------------------------------------------------------------------


def test_lazy_load_scripts_takes_plotly_and_mathjax_out_of_the_head(tmp_path):
    (tmp_path / "_static" / "mathjax").mkdir(parents=True)
    (tmp_path / "_static" / "plotly-course.min.js").write_text("var Plotly = {};")
    app = SimpleNamespace(outdir=str(tmp_path))
    scripts = [
        _JavaScript("_static/doctools.js"),
        _JavaScript(None, body="window.MathJax = {}"),
        _JavaScript("_static/mathjax/course-tex-chtml.js", **{"async": "async"}),
        _JavaScript("_static/plotly-course.min.js", **{"async": "async", "id": "cu-plotly-js"}),
        _JavaScript("_static/course_plotly.js", defer="defer"),
    ]
    context = {"script_files": scripts, "pathto": lambda name, resource: f"../{name}"}
    page_assets.lazy_load_scripts(app, "book/x", "page.html", context, None)
    names = [s.filename for s in context["script_files"]]
    assert names == ["_static/doctools.js", None, "_static/course_plotly.js", None]
    body = context["script_files"][-1].attributes["body"]
    entries = lazy_scripts(f"<script>{body}</script>")
    assert entries == [
        # MathJax has no copy in this site yet: no checksum to add
        {
            "src": "../_static/mathjax/course-tex-chtml.js",
            "id": "",
            "selector": ".math",
            "first": False,
        },
        {
            "src": "../_static/plotly-course.min.js?v=" + f"{zlib.crc32(b'var Plotly = {};'):08x}",
            "id": "cu-plotly-js",
            "selector": "figure.cu-plotly",
            "first": True,
        },
    ]
    assert page_assets.LAZY_LOADER.read_text() in body
    # a page with neither keeps its scripts untouched
    plain = {"script_files": [_JavaScript("_static/doctools.js")], "pathto": None}
    page_assets.lazy_load_scripts(app, "book/y", "page.html", plain, None)
    assert [s.filename for s in plain["script_files"]] == ["_static/doctools.js"]


# --- MathJax without its menu --------------------------------------------------------------


def test_mathjax_page_script_joins_the_components_in_order(tmp_path):
    for number, name in enumerate(mathjax.COMPONENTS):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"/*{number}*/")
    joined = mathjax.combined_script(tmp_path).decode()
    assert [int(n) for n in re.findall(r"/\*(\d)\*/", joined)] == list(
        range(len(mathjax.COMPONENTS))
    )
    assert "ui/menu.js" not in mathjax.COMPONENTS
    (tmp_path / "core.js").unlink()
    with pytest.raises(Exception, match="core.js not found"):
        mathjax.combined_script(tmp_path)


def test_the_installed_mathjax_has_every_component():
    source = mathjax.mathjax_dir()
    joined = mathjax.combined_script(source)
    assert 500_000 < len(joined) < (source / mathjax.ENTRY_SCRIPT).stat().st_size
    assert b"ContextMenu" not in joined  # the menu is out


# --- the theme's icons as inline SVG ---------------------------------------------------------


@pytest.mark.parametrize(
    ("classes", "viewbox"),
    [
        ("fa-solid fa-magnifying-glass fa-lg", "0 0 512 512"),
        ("fab fa-github", "0 0 496 512"),
        ("fas fa-pencil-alt", "0 0 512 512"),  # an alias (of "pencil")
        ("theme-switch fa-solid fa-sun fa-lg", "0 0 512 512"),
    ],
)
def test_icons_become_svg_with_their_other_classes(classes, viewbox):
    svg = icons.svg_for(classes, ' data-mode="light"')
    assert svg.startswith("<svg ") and f'viewBox="{viewbox}"' in svg
    assert re.search(r'<path fill="currentColor" d="M[\d.]', svg)
    assert 'data-mode="light"' in svg and 'aria-hidden="true"' in svg
    kept = re.search(r'class="([^"]*)"', svg).group(1).split()
    assert "cu-icon" in kept and not {"fa-solid", "fas", "fab"} & set(kept)
    assert ("fa-lg" in kept) == ("fa-lg" in classes)


def test_unknown_icons_and_other_elements_stay_as_they_are():
    assert icons.svg_for("fas fa-no-such-icon") is None
    assert icons.svg_for("fa-lg") is None  # no style: not an icon
    page = (
        '<i class="fas fa-no-such-icon"></i><span class="fancy"></span>'
        '<button><span class="fa-solid fa-bars"></span></button><i class="fab fa-github"></i>'
    )
    out = str(icons.inline_icons(page))
    assert '<i class="fas fa-no-such-icon"></i><span class="fancy"></span>' in out
    assert out.count("<svg ") == 2 and "fa-bars" not in out
    with pytest.raises(KeyError):
        icons.icon_paths("fas", "no-such-icon")


# --- bundles ---------------------------------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


PAGE = """<html><head>
  <link href="../../_static/styles/theme.css?digest=1" rel="stylesheet" />
<link href="../../_static/styles/pst.css?digest=1" rel="stylesheet" />
    <link rel="stylesheet" type="text/css" href="../../_static/pygments.css?v=1" />
  <link rel="preload" as="script" href="../../_static/scripts/theme.js?digest=1" />
    <script src="../../_static/options.js?v=1"></script>
    <script src="../../_static/doctools.js?v=1"></script>
    <script defer="defer" src="../../_static/course_plotly.js?v=1"></script>
    <script>let hint = 'Click';</script>
    <script src="../../_static/toggle.js?v=1"></script>
    <script async="async" src="../../_static/mathjax/m.js"></script>
    <script src="https://example.org/remote.js"></script>
    <link rel="stylesheet" href="https://example.org/remote.css" />
</head><body>
<script type="application/json" class="cu-plotly-data">{"data": []}</script>
  <script defer src="../../_static/scripts/theme.js?digest=1"></script>
</body></html>
"""


@pytest.fixture
def site(tmp_path) -> Path:
    static = tmp_path / "_static"
    write(static / "styles/theme.css", '@import "../basic.css";\n')
    write(static / "basic.css", "div.body { background: url(file.png); }\n")
    write(
        static / "styles/pst.css",
        '@charset "UTF-8";\n@font-face { src: url(../vendor/fa.woff2) }\n'
        '.x { background: url("data:image/svg+xml;charset=utf-8,%3Csvg\'%3E") }\n'
        "/*# sourceMappingURL=pst.css.map*/",
    )
    write(static / "pygments.css", ".hll { color: red }\n")
    write(static / "options.js", "const OPTIONS = {};\n")
    write(static / "doctools.js", '"use strict";\nvar doctools = 1;\n//# sourceMappingURL=d.map\n')
    write(static / "toggle.js", "var toggle = 1;\n")
    write(static / "course_plotly.js", "var plots = 1;\n")
    write(static / "scripts/theme.js", "var theme = 1;\n")
    write(static / "mathjax/m.js", "var mj = 1;\n")
    write(tmp_path / "book/section1/page.html", PAGE)
    write(tmp_path / "index.html", PAGE.replace("../../_static", "_static"))
    return tmp_path


def tags(html: str, name: str) -> list[str]:
    return re.findall(rf"<{name}\b[^>]*>", html)


def resolve(site: Path, page: Path, url: str) -> Path:
    return (page.parent / url.split("?")[0]).resolve()


def test_bundles_keep_order_urls_and_semantics(site):
    assert bundles.bundle_site(site) == 2
    page = site / "book/section1/page.html"
    html = page.read_text()
    stylesheets = [t for t in tags(html, "link") if 'rel="stylesheet"' in t]
    assert len(stylesheets) == 2  # one bundle, and the remote one untouched
    href = re.search(r'href="([^"]+)"', stylesheets[0]).group(1)
    css = resolve(site, page, href).read_text()
    # in order, basic.css inlined where theme.css imported it, one @charset at the top
    order = [css.index(s) for s in ("div.body", "@font-face", ".hll")]
    assert (
        order == sorted(order)
        and css.startswith('@charset "UTF-8";')
        and css.count("@charset") == 1
    )
    assert "@import" not in css and "sourceMappingURL" not in css
    # each url() still names the same file, from the bundle's folder
    bundle_dir = resolve(site, page, href).parent
    urls = re.findall(r'url\("([^"]+)"\)', css)
    assert (bundle_dir / urls[0]).resolve() == site / "_static/file.png"
    assert (bundle_dir / urls[1]).resolve() == site / "_static/vendor/fa.woff2"
    assert any(u.startswith("data:image/svg+xml") for u in urls)

    scripts = tags(html, "script")
    sources = [re.search(r'src="([^"]+)"', t).group(1) for t in scripts if "src=" in t]
    # the synchronous run (options, doctools) is one script; the inline script ended the run
    sync = [s for s in scripts if "src=" in s and "defer" not in s and "async" not in s]
    assert len(sync) == 3  # the bundle, toggle.js after the inline script, the remote one
    joined = resolve(site, page, sources[0]).read_text()
    assert joined.index("OPTIONS") < joined.index("doctools") and "sourceMappingURL" not in joined
    assert joined.startswith(";")  # no "use strict" prologue for everything after it
    # the deferred ones, head and body, are one deferred script where the first stood
    deferred = [s for s in scripts if "defer" in s]
    assert len(deferred) == 1
    deferred_js = resolve(site, page, re.search(r'src="([^"]+)"', deferred[0]).group(1)).read_text()
    assert deferred_js.index("plots") < deferred_js.index("theme")
    assert html.index("defer") < html.index("let hint")
    assert 'rel="preload"' not in html  # its script is in the bundle
    assert any("mathjax/m.js" in s and "async" in s for s in scripts)
    assert "https://example.org/remote.js" in sources
    assert '<script type="application/json" class="cu-plotly-data">' in html
    # the root page gets the same bundles, from its own folder
    root = (site / "index.html").read_text()
    assert posixpath.basename(href) in root and 'href="_static/bundles/' in root


def test_bundling_again_changes_nothing_until_a_member_changes(site):
    bundles.bundle_site(site)
    page = site / "book/section1/page.html"
    first = page.read_text()
    assert bundles.bundle_site(site) == 0
    assert page.read_text() == first
    write(site / "_static/pygments.css", ".hll { color: blue }\n")
    assert bundles.bundle_site(site) == 2
    second = page.read_text()
    assert second != first
    href = re.search(r'href="([^"]*bundles/css-[^"]+)"', second).group(1)
    assert "color: blue" in resolve(site, page, href).read_text()
    members = re.search(r'data-course-bundle="([^"]+)"', second).group(1).split()
    assert members == ["styles/theme.css", "styles/pst.css", "pygments.css"]


def test_a_page_with_one_file_of_each_kind_is_left_alone(tmp_path):
    write(tmp_path / "_static/a.css", "a {}")
    write(tmp_path / "_static/a.js", "var a;")
    html = (
        '<html><head><link rel="stylesheet" href="_static/a.css" />'
        '<script src="_static/a.js"></script></head><body></body></html>'
    )
    write(tmp_path / "page.html", html)
    assert bundles.bundle_site(tmp_path) == 0
    assert (tmp_path / "page.html").read_text() == html
    assert not (tmp_path / "_static" / "bundles").exists()
