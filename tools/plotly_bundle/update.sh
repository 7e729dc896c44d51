#!/usr/bin/env bash
# Build the book's plotly.js bundle and vendor it: plotly.js's core with exactly the trace
# types the book's figures may use (course_utils.viz.style.CARTESIAN_TRACE_TYPES), at the
# plotly.js version the installed plotly package ships.
#
# Why not a dist file: plotly.min.js is 4.8 MB, and the 1.5 MB cartesian partial bundle also
# carries the world-calendars component and six trace types the book never draws; in
# Chromium on a 2-core machine it takes ~480 ms to evaluate, this bundle ~150 ms
# (benchmarks/README.md). Pages whose figures need another trace type get the full bundle.
#
# package-lock.json pins plotly.js, esbuild and buffer (plotly.js's image trace needs it)
# with their registry integrity hashes; `npm ci` verifies them.
#
# usage: tools/plotly_bundle/update.sh   (needs npm and the project's .venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
VENDOR=src/course_book/vendor
OUT=plotly-course.min.js
TOOLS=tools/plotly_bundle

version=$(.venv/bin/python -c "import plotly.offline as o; print(o.get_plotlyjs_version())")
traces=$(.venv/bin/python -c \
  "from course_utils.viz.style import CARTESIAN_TRACE_TYPES as t; print(','.join(sorted(t)))")
pinned=$(node -p "require('./$TOOLS/package.json').devDependencies['plotly.js']")
if [ "$pinned" != "$version" ]; then
  echo "plotly ships plotly.js $version but $TOOLS/package.json pins $pinned:" >&2
  echo "  (cd $TOOLS && npm install --save-exact --save-dev plotly.js@$version) and rerun" >&2
  exit 1
fi

(cd "$TOOLS" && npm ci --no-audit --no-fund --silent && node build.mjs "$OUT" "$traces")
mv "$TOOLS/$OUT" "$VENDOR/$OUT"
rm -f "$TOOLS/entry.cjs"
cp "$TOOLS/node_modules/plotly.js/LICENSE" "$VENDOR/LICENSE.plotly.js"
sha=$(sha256sum "$VENDOR/$OUT" | cut -d' ' -f1)
integrity=$(node -p "require('./$TOOLS/package-lock.json').packages['node_modules/plotly.js'].integrity")
cat >"$VENDOR/plotly-bundles.json" <<JSON
{
  "$OUT": {
    "built_from": "plotly.js",
    "version": "$version",
    "npm_integrity": "$integrity",
    "traces": "$traces",
    "built_by": "$TOOLS/update.sh",
    "sha256": "$sha"
  }
}
JSON
echo "vendored $OUT: plotly.js $version, traces $traces ($sha)"
