#!/usr/bin/env bash
# Vendor plotly.js's cartesian partial bundle at the version the installed plotly package ships.
#
# The full plotly.min.js (4.8 MB) that plotly.py ships takes most of a page's time to
# first figure; the cartesian bundle (1.5 MB) holds every trace type the book's 2-D
# figures use. Pages whose figures need another trace type get the full bundle.
#
# usage: tools/plotly_bundle/update.sh   (needs npm and the project's .venv)
set -euo pipefail
cd "$(dirname "$0")/../.."

PACKAGE=plotly.js-cartesian-dist-min
VENDOR=src/course_book/vendor
version=$(.venv/bin/python -c "import plotly.offline as o; print(o.get_plotlyjs_version())")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# npm verifies the tarball against the registry's integrity hash.
(cd "$work" && npm pack --silent "$PACKAGE@$version" >/dev/null && tar xzf ./*.tgz)

cp "$work/package/plotly-cartesian.min.js" "$VENDOR/plotly-cartesian.min.js"
cp "$work/package/LICENSE" "$VENDOR/LICENSE.plotly.js"
sha=$(sha256sum "$VENDOR/plotly-cartesian.min.js" | cut -d' ' -f1)
integrity=$(npm view "$PACKAGE@$version" dist.integrity)
cat >"$VENDOR/plotly-bundles.json" <<JSON
{
  "plotly-cartesian.min.js": {
    "npm_package": "$PACKAGE",
    "version": "$version",
    "npm_integrity": "$integrity",
    "sha256": "$sha"
  }
}
JSON
echo "vendored $PACKAGE@$version ($sha)"
echo "its trace types must equal course_utils.viz.style.CARTESIAN_TRACE_TYPES (tests/test_plotly_bundle.py)"
